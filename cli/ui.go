package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/journal"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// addUI makes root open the interactive UI, with its flag --kind.
func addUI(root *cobra.Command, g *globals) {
	var kind string
	root.Flags().StringVar(&kind, "kind", string(unit.KindAuto), "probe `KIND` of p and P: auto, echo, connect or http (see above)")
	root.RunE = func(cmd *cobra.Command, _ []string) error { return runUI(cmd.Context(), g, kind) }
}

// runUI opens the interactive UI on the user (or system) manager.
func runUI(ctx context.Context, g *globals, kind string) error {
	env := g.env
	k, err := probe.ParseKind(kind)
	if err != nil {
		return usagef("--kind: %v", err)
	}
	if env.hosts.remote() {
		return runUIHosts(ctx, g, k)
	}
	client, err := connect(ctx, env, g.system)
	if err != nil {
		return err
	}
	defer client.Close()

	install, closeDemo := demoInstaller(g, client)
	defer closeDemo()
	prober, closeProber := newUnitProber(client, k)
	defer closeProber()
	return runProgram(ctx, ui.Config{
		Manager:     client,
		Prober:      prober,
		Doctor:      newUIDoctor(client, nil),
		Logs:        journalReader(g),
		ManagerName: client.Manager(),
		InstallDemo: install,
		Authoring:   uiAuthoring{getenv: env.Getenv, system: g.system},
	})
}

// demoInstaller is the d key on this machine's manager client: it installs
// the demo workload (nil with --system); the func returned removes
// whatever it installed.
func demoInstaller(g *globals, client *systemdbus.Client) (install func(context.Context) error, closeDemo func()) {
	env := g.env
	var (
		mu   sync.Mutex
		sess *demo.Session
	)
	install = func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if sess == nil {
			sess = demo.Attach(client, env.Getenv("XDG_RUNTIME_DIR"), demo.Options{Getenv: env.Getenv})
		}
		return sess.Install(ctx)
	}
	if g.system {
		install = nil
	}
	return install, func() {
		mu.Lock()
		defer mu.Unlock()
		if sess != nil {
			cleanup, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := sess.Close(cleanup); err != nil {
				fmt.Fprintf(env.Stderr, "socktui: removing the demo workload: %s\n", termtext.Clean(err.Error()))
			}
		}
	}
}

// demoLogReader reads the demo's logs for the l key: its sandbox's journal
// (and Podman in its environment) when it runs one, else the journal
// `socktui logs` reads.
func demoLogReader(g *globals, sess *demo.Session) *journal.Reader {
	r := journalReader(g)
	if dir := sess.JournalDir(); dir != "" {
		r.Dir = dir
		r.Podman.Env = demoPodmanEnv(sess)
	}
	return r
}

// demoFlags are the flags of `socktui demo`.
type demoFlags struct {
	mode              string
	port              int
	idleExit          time.Duration
	sandbox, noPodman bool
	echoBinary        string
}

// newDemoCommand is `socktui demo`.
func newDemoCommand(g *globals) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the UI on the bundled echo workload, in a private manager if needed",
		Long: `Run the UI on socktui's bundled echo workload: socket units listening on
every socket type systemd can pass, and the echo service they activate, in
a container when Podman works. It uses the user manager, or a private one
when none is reachable or with --sandbox, and removes everything it
installed on exit.`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.system {
				return usagef("--system: the demo runs in a user manager or a private one, not the system manager")
			}
			return runDemo(cmd.Context(), g, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.mode, "mode", "auto", "how to run the echo workload: `MODE` is auto (container when Podman works), container or bare")
	fs.IntVar(&f.port, "port", 0, "TCP/UDP `PORT` of the echo workload on 127.0.0.1 and [::1] (0: a free one)")
	fs.DurationVar(&f.idleExit, "idle-exit", demo.DefaultIdleExit, "the echo service exits after this long without traffic (0: never)")
	fs.BoolVar(&f.sandbox, "sandbox", false, "use a private systemd user manager even when a user manager is reachable")
	fs.BoolVar(&f.noPodman, "no-podman-socket", false, "do not start the manager's podman.socket")
	fs.StringVar(&f.echoBinary, "echo-binary", "", "`PATH` of a stand-alone socktui-echo binary to run instead of socktui's own echo-server")
	cmd.RegisterFlagCompletionFunc("mode", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var names []cobra.Completion
		for _, m := range demoModes() {
			names = append(names, m.name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// demoMode is a value of demo's --mode and the echo.Mode it means.
type demoMode struct {
	name string
	mode echo.Mode
}

// demoModes are the values of demo's --mode; auto is the zero Mode, which
// chooses a container when Podman works.
func demoModes() []demoMode {
	return []demoMode{{"auto", ""}, {"container", echo.ModeContainer}, {"bare", echo.ModeBare}}
}

// runDemo runs the UI on the bundled echo workload, in a private manager
// when no user manager is reachable, and removes everything on exit.
func runDemo(ctx context.Context, g *globals, f demoFlags) error {
	env := g.env
	opts := demo.Options{
		Port: f.port, EchoBinary: f.echoBinary, Sandbox: f.sandbox, NoPodmanSocket: f.noPodman,
		Progress: env.Stderr, Getenv: env.Getenv, IdleExit: f.idleExit,
	}
	if f.idleExit == 0 {
		opts.IdleExit = -1
	}
	i := slices.IndexFunc(demoModes(), func(m demoMode) bool { return m.name == f.mode })
	if i < 0 {
		return usagef("--mode must be auto, container or bare, not %q", f.mode)
	}
	opts.Mode = demoModes()[i].mode
	if f.port < 0 || f.port > 65535 {
		return usagef("--port %d is out of range", f.port)
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
		Doctor:      newUIDoctor(sess.Client, demoPodmanEnv(sess)),
		Logs:        demoLogReader(g, sess),
		ManagerName: sess.ManagerName,
		Select:      sess.Units.Name,
		Hint:        hint,
		InstallDemo: sess.Install,
		Authoring:   uiAuthoring{getenv: managerGetenv(env.Getenv, demoPodmanEnv(sess))},
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
