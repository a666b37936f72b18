package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
)

// newEnableCommand is `socktui enable UNIT... [--now]`.
func newEnableCommand(g *globals) *cobra.Command {
	return newUnitFileCommand(g, "enable", "Enable socket units, to start when the manager does",
		`Enable socket units as systemctl enable does: the links their [Install]
section names (WantedBy=sockets.target, say) are made in the manager's
persistent configuration, then the manager is reloaded. With --now the
sockets are started, too.

A unit without an [Install] section (static) cannot be enabled: that is
said on stderr and is no failure, as with systemctl. A transient unit has
no unit file to enable.`)
}

// newDisableCommand is `socktui disable UNIT... [--now]`.
func newDisableCommand(g *globals) *cobra.Command {
	return newUnitFileCommand(g, "disable", "Disable socket units",
		`Disable socket units as systemctl disable does: the links of their
[Install] section are removed from the manager's persistent configuration,
then the manager is reloaded. With --now the sockets are stopped, too (their
services are left as they are, as systemctl does).`)
}

// newUnitFileCommand is `socktui enable|disable`.
func newUnitFileCommand(g *globals, verb, short, long string) *cobra.Command {
	var now bool
	cmd := &cobra.Command{
		Use:   verb + " UNIT...",
		Short: short,
		Long: long + `

A UNIT is a unit name; a name without a type suffix means a .socket unit
(echo: echo.socket). The links made and removed are listed on stderr. Exit
status 1 when the manager refused, or with --now when a unit did not ` + map[string]string{"enable": "start", "disable": "stop"}[verb] + `.`,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, units []string) error {
			return runUnitFile(cmd.Context(), g, verb, units, now)
		},
	}
	what := map[string]string{"enable": "start the sockets too", "disable": "stop the sockets too"}[verb]
	cmd.Flags().BoolVar(&now, "now", false, what)
	return cmd
}

// runUnitFile is `socktui enable|disable UNIT... [--now]`: one call for
// every unit, as systemctl makes, then with now each unit started or
// stopped in turn.
func runUnitFile(ctx context.Context, g *globals, verb string, units []string, now bool) error {
	names, err := unitNames(verb, units)
	if err != nil {
		return err
	}
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return err
	}
	defer c.Close()
	change, act := c.EnableUnitFilesChanges, c.StartUnit
	if verb == "disable" {
		change, act = c.DisableUnitFilesChanges, c.StopUnit
	}
	changes, err := change(ctx, names)
	writeChanges(g.env.Stderr, changes)
	switch {
	case errors.Is(err, systemdbus.ErrNoInstallInfo):
		fmt.Fprintf(g.env.Stderr, "socktui %s: %s\n", verb, termtext.Clean(err.Error()))
	case err != nil:
		if errors.Is(err, context.Canceled) {
			return err
		}
		fmt.Fprintf(g.env.Stderr, "socktui %s: %s\n", verb, termtext.Clean(err.Error()))
		return errSilent
	}
	if !now {
		return nil
	}
	failed := false
	for _, u := range names {
		if err := act(ctx, u); err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Fprintf(g.env.Stderr, "socktui %s: %s\n", verb, termtext.Clean(err.Error()))
			failed = true
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// unitNames checks the unit names of a command that takes names, not
// patterns, and completes bare names to .socket.
func unitNames(verb string, units []string) ([]string, error) {
	if len(units) == 0 {
		return nil, usagef("%s needs at least one unit name", verb)
	}
	names := make([]string, len(units))
	for i, u := range units {
		if err := systemdbus.CheckPattern(u); err != nil {
			return nil, usagef("%v", err)
		}
		if isGlobName(u) {
			return nil, usagef("%s takes unit names, not patterns: %q", verb, u)
		}
		names[i] = systemdbus.SocketName(u)
	}
	return names, nil
}

// writeChanges lists the links made and removed, in systemctl's words.
func writeChanges(w io.Writer, changes []systemdbus.UnitFileChange) {
	for _, ch := range changes {
		switch ch.Type {
		case "symlink":
			fmt.Fprintf(w, "Created symlink %s → %s.\n", termtext.Clean(ch.Filename), termtext.Clean(ch.Destination))
		case "unlink":
			fmt.Fprintf(w, "Removed \"%s\".\n", termtext.Clean(ch.Filename))
		default:
			fmt.Fprintf(w, "%s %s %s\n", termtext.Clean(ch.Type), termtext.Clean(ch.Filename), termtext.Clean(ch.Destination))
		}
	}
}
