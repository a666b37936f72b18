package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// runUI opens the interactive UI on the user (or system) manager.
func runUI(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "", "[--system] [--kind auto|echo|connect|http]")
	system := fs.Bool("system", false, "talk to the system manager instead of the user manager")
	kind := fs.String("kind", string(unit.KindAuto), "probe kind of p and P, and what its ok proves:\n"+kindHelp)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	k, err := probe.ParseKind(*kind)
	if err != nil {
		return usagef("--kind: %v", err)
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
				fmt.Fprintf(env.Stderr, "socktui: removing the demo workload: %s\n", termtext.Clean(err.Error()))
			}
		}
	}()
	prober, closeProber := newUnitProber(client, k)
	defer closeProber()
	return runProgram(ctx, ui.Config{
		Manager:     client,
		Prober:      prober,
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
			fmt.Fprintf(env.Stderr, "socktui demo: cleaning up: %s\n", termtext.Clean(err.Error()))
		}
	}()
	hint := "press P to probe every endpoint"
	if sess.Note != "" {
		hint += " · " + sess.Note
	}
	prober, closeProber := newUnitProber(sess.Client, unit.KindAuto)
	defer closeProber()
	return runProgram(ctx, ui.Config{
		Manager:     sess.Client,
		Prober:      prober,
		ManagerName: sess.ManagerName,
		Select:      sess.Units.Name,
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

// newUnitProber is the UI's prober on client: kind for every target
// unless it is auto, cold probes following their activation. The func
// returned stops the activation feed.
func newUnitProber(client *systemdbus.Client, kind unit.Kind) (unitProber, func()) {
	feed := newActivationFeed(client.Watch)
	return unitProber{p: &probe.Prober{Activations: feed}, kind: kind, envs: client.ServiceEnvironments}, feed.Close
}
