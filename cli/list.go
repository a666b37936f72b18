package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// connect builds the systemd client for a subcommand.
func connect(ctx context.Context, env *Env, system bool) (*systemdbus.Client, error) {
	if env.hosts.remote() {
		return connectRemote(ctx, env, system)
	}
	return systemdbus.Connect(ctx, systemdbus.Options{System: system, Getenv: env.Getenv})
}

// listOptions are the arguments of `socktui list`.
type listOptions struct {
	patterns  []string
	all, json bool
}

// newListCommand is `socktui list [PATTERN...]`.
func newListCommand(g *globals) *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "list [PATTERN...]",
		Short: "List socket units with their activation state",
		Long: `List socket units as systemctl list-sockets does, one line per listen
address, with the activation state, the unit file's state (FILE: enabled,
disabled, static, transient, generated... as systemctl list-unit-files
says), the services each one activates and their states, and the container
a service runs. Without --all only active and failed sockets are listed.

A PATTERN is a unit name or a glob, matched as systemd matches them; a name
without a type suffix means a .socket unit (echo: echo.socket).`,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, patterns []string) error {
			o.patterns = patterns
			return runList(cmd.Context(), g, o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "also show inactive sockets and socket unit files that are not loaded")
	cmd.Flags().BoolVar(&o.json, "json", false, "print a JSON array of sockets instead of a table")
	return cmd
}

// runList is `socktui list [PATTERN...] [--all] [--json]`.
func runList(ctx context.Context, g *globals, o listOptions) error {
	for _, p := range o.patterns {
		if err := systemdbus.CheckPattern(p); err != nil {
			return usagef("%v", err)
		}
	}
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return err
	}
	defer c.Close()
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: o.patterns, All: o.all})
	if err != nil {
		if errors.Is(err, systemdbus.ErrBadPattern) {
			return usagef("%v", err)
		}
		return err
	}
	if o.json {
		return writeJSON(g.env.Stdout, socks)
	}
	writeTable(g.env.Stdout, socks, o.all)
	return nil
}

// writeJSON prints socks as a JSON array; empty lists are [] not null.
func writeJSON(w io.Writer, socks []unit.Socket) error {
	if socks == nil {
		socks = []unit.Socket{}
	}
	for i := range socks {
		s := &socks[i]
		if s.Listen == nil {
			s.Listen = []unit.Listen{}
		}
		if s.Triggers == nil {
			s.Triggers = []string{}
		}
		if s.Services == nil {
			s.Services = []unit.Service{}
		}
	}
	return encodeJSON(w, socks)
}

// writeTable prints socks like systemctl list-sockets, one line per listen
// address, with the activation state, the unit file's state (FILE, as
// systemctl list-unit-files' STATE) and the services' states. Every value
// from systemd goes through termtext.Clean: an address, a unit's name or a
// container's name can hold escape sequences, tabs or newlines.
func writeTable(w io.Writer, socks []unit.Socket, all bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LISTEN\tTYPE\tNETWORK\tUNIT\tSTATE\tFILE\tACTIVATES\tSERVICE\tCONTAINER")
	for _, s := range socks {
		state := string(s.State)
		if s.Reason != "" {
			state += " (" + s.Reason + ")"
		}
		var svcs, svcStates, containers []string
		for _, v := range s.Services {
			svcs = append(svcs, v.Unit)
			svcStates = append(svcStates, string(v.ActiveState)+"/"+v.SubState)
			if v.Container != "" {
				containers = append(containers, v.Container)
			}
		}
		activates, svcState, container := dash(strings.Join(svcs, ",")), dash(strings.Join(svcStates, ",")), dash(strings.Join(containers, ","))
		listen := s.Listen
		if len(listen) == 0 {
			listen = []unit.Listen{{Type: "-", Address: "-"}}
		}
		for i, l := range listen {
			network := "-"
			if l.Type != "-" {
				network = string(l.Network())
			}
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Clean(l.Address), termtext.Clean(l.Type),
					termtext.Clean(network), termtext.Clean(s.Unit), termtext.Clean(state), termtext.Clean(dash(s.UnitFileState)),
					termtext.Clean(activates), termtext.Clean(svcState), termtext.Clean(container))
			} else {
				fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t\n", termtext.Clean(l.Address), termtext.Clean(l.Type), termtext.Clean(network))
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d sockets listed.\n", len(socks))
	if !all {
		fmt.Fprintln(w, "Pass --all to see inactive sockets and unit files that are not loaded, too.")
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
