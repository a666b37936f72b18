package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// newActionCommand is `socktui VERB UNIT...` for the actions start, stop,
// restart and reset-failed; short is its summary.
func newActionCommand(g *globals, verb, short string) *cobra.Command {
	long := short + `.

A UNIT is a unit name; a name without a type suffix means a .socket unit
(echo: echo.socket). Every unit is tried in turn; a failure is reported on
stderr and makes the exit status 1.`
	if verb == "reset-failed" {
		long += `

A failed socket is brought back to listening, its failed services reset:
after a plain reset-failed, systemd leaves it stopped.`
	}
	return &cobra.Command{
		Use:               verb + " UNIT...",
		Short:             short,
		Long:              long,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, units []string) error {
			return runAction(cmd.Context(), g, verb, units)
		},
	}
}

// runAction is `socktui start|stop|restart|reset-failed UNIT...`. A name
// without a type suffix means a .socket unit. Every unit is tried in turn;
// a failure is reported on stderr and makes the exit status 1.
func runAction(ctx context.Context, g *globals, verb string, units []string) error {
	if len(units) == 0 {
		return usagef("%s needs at least one unit name", verb)
	}
	names := make([]string, len(units))
	for i, u := range units {
		if err := systemdbus.CheckPattern(u); err != nil {
			return usagef("%v", err)
		}
		if isGlobName(u) {
			return usagef("%s takes unit names, not patterns: %q", verb, u)
		}
		names[i] = systemdbus.SocketName(u)
	}
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return err
	}
	defer c.Close()
	act := map[string]func(context.Context, string) error{
		"start":        c.StartUnit,
		"stop":         c.StopUnit,
		"restart":      c.RestartUnit,
		"reset-failed": func(ctx context.Context, u string) error { return resetAndRestart(ctx, c, u) },
	}[verb]
	if act == nil {
		return fmt.Errorf("unknown action %q", verb)
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

func isGlobName(s string) bool {
	for _, r := range s {
		if r == '*' || r == '?' || r == '[' {
			return true
		}
	}
	return false
}

// resetAndRestart clears a unit's failed state; a failed socket is brought
// back to listening with its failed services reset (ReviveSocket), since a
// failed socket stays down after a plain reset-failed.
func resetAndRestart(ctx context.Context, c *systemdbus.Client, name string) error {
	if strings.HasSuffix(name, ".socket") {
		socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{name}, All: true})
		if err != nil {
			return err
		}
		for _, sk := range socks {
			if sk.Unit != name || sk.ActiveState != unit.Failed {
				continue
			}
			if err := c.ReviveSocket(ctx, name, sk.FailedServices()); err != nil {
				return fmt.Errorf("bringing %s back to listening: %w", name, err)
			}
			return nil
		}
	}
	return c.ResetFailed(ctx, name)
}
