package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
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
	if len(g.env.hosts.targetList()) > 1 {
		return runListHosts(ctx, g, o)
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
	if ts := g.env.hosts.targetList(); len(ts) == 1 {
		setHost(socks, ts[0].String())
	}
	if o.json {
		return writeJSON(g.env.Stdout, socks)
	}
	writeTable(g.env.Stdout, socks, o.all, false)
	return nil
}

// setHost marks socks as read from host.
func setHost(socks []unit.Socket, host string) {
	for i := range socks {
		socks[i].Host = host
	}
}

// runListHosts is list with several --host: every host is asked at once,
// and the sockets are printed in the order the hosts were given, in one
// table with a HOST column (one JSON array, each socket with its "host").
// A host that cannot be reached or listed is reported on stderr with its
// name, the others are still printed, and the exit status is 1.
func runListHosts(ctx context.Context, g *globals, o listOptions) error {
	targets := g.env.hosts.targetList()
	type listed struct {
		socks []unit.Socket
		err   error
	}
	got := make([]listed, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			c, err := g.env.hosts.connect(ctx, g.env, t, g.system)
			if err != nil {
				got[i].err = err
				return
			}
			defer c.Close()
			socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: o.patterns, All: o.all})
			setHost(socks, t.String())
			got[i] = listed{socks, err}
		})
	}
	wg.Wait()
	var all []unit.Socket
	var failed []error
	for i, l := range got {
		if l.err != nil {
			if errors.Is(l.err, systemdbus.ErrBadPattern) {
				return usagef("%v", l.err)
			}
			failed = append(failed, fmt.Errorf("%s: %w", targets[i], l.err))
			continue
		}
		all = append(all, l.socks...)
	}
	if len(failed) == len(targets) {
		return errors.Join(failed...)
	}
	var err error
	if o.json {
		err = writeJSON(g.env.Stdout, all)
	} else {
		writeTable(g.env.Stdout, all, o.all, true)
	}
	for _, f := range failed {
		fmt.Fprintf(g.env.Stderr, "socktui: list: %s\n", termtext.Clean(f.Error()))
	}
	if err == nil && len(failed) > 0 {
		err = errSilent
	}
	return err
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
// With hostCol, a HOST column comes first (several hosts were asked).
func writeTable(w io.Writer, socks []unit.Socket, all, hostCol bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if hostCol {
		fmt.Fprint(tw, "HOST\t")
	}
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
			if hostCol {
				host := ""
				if i == 0 {
					host = termtext.Clean(orLocal(s.Host))
				}
				fmt.Fprint(tw, host+"\t")
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

// orLocal is a host's name in a table: unit.LocalHost for this machine.
func orLocal(host string) string {
	if host == "" {
		return unit.LocalHost
	}
	return host
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
