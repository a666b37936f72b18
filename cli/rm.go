package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// newRmCommand is `socktui rm NAME...`.
func newRmCommand(g *globals) *cobra.Command {
	var user bool
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove a socket-activated container socktui created",
		Long: `Remove what socktui new created: stop and disable the socket NAME.socket
and its service, remove the unit files socktui wrote (a file it did not write
is left where it is, and named), daemon-reload, and remove the container if
one is left. Transient units socktui created are stopped, and so forgotten.

A NAME socktui created nothing for is an error (exit 1); every NAME is tried
in turn.`,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, names []string) error {
			if user && g.system {
				return usagef("--user and --system exclude each other")
			}
			return runRm(cmd.Context(), g, names)
		},
	}
	cmd.Flags().BoolVar(&user, "user", false, "remove user units (the default)")
	return cmd
}

// runRm is `socktui rm NAME...`.
func runRm(ctx context.Context, g *globals, names []string) error {
	if len(names) == 0 {
		return usagef("rm needs at least one NAME")
	}
	for i, n := range names {
		n = strings.TrimSuffix(n, ".socket")
		if err := (authoring.Spec{Name: n}).ValidateName(); err != nil {
			return usagef("%s", strings.TrimPrefix(err.Error(), authoring.ErrInvalid.Error()+": "))
		}
		names[i] = n
	}
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return err
	}
	defer c.Close()
	var containers authoring.Containers
	if pm, err := podman.Find(nil); err == nil {
		containers = pm
	}
	layout := authoring.UserLayout(g.env.Getenv, g.system)
	failed := false
	for _, name := range names {
		if err := rmOne(ctx, g, c, containers, layout, name); err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			fmt.Fprintf(g.env.Stderr, "socktui rm: %s\n", termtext.Clean(err.Error()))
			failed = true
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// rmOne removes one name: its services (running instances too) are read
// from the manager, and transient units count as socktui's when their
// description is the one socktui new gives.
func rmOne(ctx context.Context, g *globals, c *systemdbus.Client, containers authoring.Containers, layout authoring.Layout, name string) error {
	r := authoring.Removal{Name: name, System: g.system}
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{name + ".socket"}, All: true})
	if err != nil {
		return err
	}
	for _, sk := range socks {
		if sk.Unit != name+".socket" {
			continue
		}
		for _, svc := range sk.Services {
			if svc.Up() || svc.ActiveState == unit.Failed {
				r.Services = append(r.Services, svc.Unit)
			}
		}
		r.Transient = authoring.OurTransient(sk)
	}
	done, err := authoring.Remove(ctx, manager{c}, containers, r, layout)
	for _, p := range done.Files {
		fmt.Fprintf(g.env.Stdout, "removed %s\n", termtext.Clean(p))
	}
	for _, p := range done.Skipped {
		fmt.Fprintf(g.env.Stderr, "socktui rm: left %s: socktui did not write it\n", termtext.Clean(p))
	}
	if r.Transient && err == nil {
		fmt.Fprintf(g.env.Stdout, "removed transient %s.socket\n", termtext.Clean(name))
	}
	return err
}
