package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/workloads/echo"
)

// runUI opens the interactive UI on the user (or system) manager.
func runUI(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "", "[--system] [--kind auto|echo|connect|http]")
	system := fs.Bool("system", false, "talk to the system manager instead of the user manager")
	kind := fs.String("kind", string(probe.KindAuto), "probe kind of p and P: auto (chosen per unit), echo, connect or http")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	switch probe.Kind(*kind) {
	case probe.KindAuto, probe.KindEcho, probe.KindConnect, probe.KindHTTP:
	default:
		return usagef("--kind %q: want auto, echo, connect or http", *kind)
	}
	client, err := connect(ctx, env, *system)
	if err != nil {
		return err
	}
	defer client.Close()

	// The d key installs the demo workload into this manager; whatever it
	// installed is removed on exit.
	var (
		mu   sync.Mutex
		sess *demo.Session
	)
	install := func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if sess == nil {
			sess = demo.Attach(client, env.Getenv("XDG_RUNTIME_DIR"), demo.Options{Getenv: env.Getenv})
		}
		return sess.Install(ctx)
	}
	if *system {
		install = nil
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if sess != nil {
			cleanup, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := sess.Close(cleanup); err != nil {
				fmt.Fprintf(env.Stderr, "socktui: removing the demo workload: %v\n", err)
			}
		}
	}()
	return runProgram(ctx, ui.Config{
		Manager:     client,
		Prober:      kindProber{p: &probe.Prober{}, kind: probe.Kind(*kind)},
		ManagerName: client.Manager(),
		InstallDemo: install,
	})
}

// runDemo runs the UI on the bundled echo workload, in a private manager
// when no user manager is reachable, and removes everything on exit.
func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "demo", "[--mode auto|container|bare] [--port N] [--idle-exit D] [--sandbox] [--no-podman-socket]")
	mode := fs.String("mode", "auto", "how to run the echo workload: auto (container when Podman works), container or bare")
	port := fs.Int("port", 0, "TCP/UDP port of the echo workload on 127.0.0.1 and [::1] (0: a free one)")
	idle := fs.Duration("idle-exit", demo.DefaultIdleExit, "the echo service exits after this long without traffic (0: never)")
	forceSandbox := fs.Bool("sandbox", false, "use a private systemd user manager even when a user manager is reachable")
	noPodman := fs.Bool("no-podman-socket", false, "do not start the manager's podman.socket")
	echoBin := fs.String("echo-binary", "", "path of the socktui-echo binary (default: beside socktui, then PATH)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	opts := demo.Options{
		Port: *port, EchoBinary: *echoBin, Sandbox: *forceSandbox, NoPodmanSocket: *noPodman,
		Progress: env.Stderr, Getenv: env.Getenv, IdleExit: *idle,
	}
	if *idle == 0 {
		opts.IdleExit = -1
	}
	switch *mode {
	case "auto":
	case "container":
		opts.Mode = echo.ModeContainer
	case "bare":
		opts.Mode = echo.ModeBare
	default:
		return usagef("--mode must be auto, container or bare, not %q", *mode)
	}
	if *port < 0 || *port > 65535 {
		return usagef("--port %d is out of range", *port)
	}

	sess, err := demo.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		// Cleanup must run even when ctx was cancelled by a signal.
		cleanup, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := sess.Close(cleanup); err != nil {
			fmt.Fprintf(env.Stderr, "socktui demo: cleaning up: %v\n", err)
		}
	}()
	hint := "press P to probe every endpoint"
	if sess.Note != "" {
		hint += " · " + sess.Note
	}
	return runProgram(ctx, ui.Config{
		Manager:     sess.Client,
		Prober:      &probe.Prober{},
		ManagerName: sess.ManagerName,
		Select:      sess.Units.SocketName,
		Hint:        hint,
		InstallDemo: sess.Install,
	})
}

// runProgram runs the UI until the user quits or ctx ends (a signal); a
// signal is not an error of the UI's.
func runProgram(ctx context.Context, cfg ui.Config) error {
	err := ui.Run(ctx, cfg)
	if err != nil && (errors.Is(err, tea.ErrProgramKilled) || ctx.Err() != nil) {
		return ctx.Err()
	}
	return err
}

// kindProber probes every target with one kind, unless that kind is auto:
// a connect probe, what auto picks for an unknown service, cannot tell a
// service that accepts and never answers from a working one, an echo probe
// can.
type kindProber struct {
	p    *probe.Prober
	kind probe.Kind
}

// ProbeAll is p's ProbeAll with every target's Kind set to kind.
func (k kindProber) ProbeAll(ctx context.Context, ts []probe.Target) <-chan probe.Result {
	if k.kind != probe.KindAuto && k.kind != "" {
		ts = slices.Clone(ts)
		for i := range ts {
			ts[i].Kind = k.kind
		}
	}
	return k.p.ProbeAll(ctx, ts)
}
