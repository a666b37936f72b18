// Package demo sets up what `socktui demo` shows: a systemd user manager
// (the real one when reachable, else a private sandbox), the bundled echo
// workload as transient units on free ports — in a Podman container when
// Podman works here, else as a bare process — and the manager's
// podman.socket. Close removes all of it.
//
// The echo server is the running executable itself: its units run
// `socktui echo-server` (echo.Subcommand), and the container image is
// built from the same binary, so that the socktui binary alone (as `go
// install` leaves it) is all the demo needs.
//
// It never imports Bubble Tea: cli wires a Session into the UI.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/socktui/socktui/internal/human"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// Name is the base name of the demo's echo units: Name.socket, Name.service.
const Name = "socktui-echo"

// PodmanSocket is the user manager's socket-activated Podman API service.
const PodmanSocket = "podman.socket"

// Options tune Start. The zero value is the demo as `socktui demo` runs it.
type Options struct {
	// Mode forces echo.ModeContainer or echo.ModeBare; empty chooses
	// container mode when Podman can build and run the image, else bare.
	Mode echo.Mode
	// EchoBinary, when set, is a standalone echo server (socktui-echo) to
	// run instead of the running executable's echo.Subcommand.
	EchoBinary string
	// Port is the TCP/UDP port on 127.0.0.1 and [::1]; 0 picks a free one.
	Port int
	// IdleExit is how long the echo service stays up with no traffic before
	// it exits and its socket goes back to idle; 0 means DefaultIdleExit,
	// negative means never.
	IdleExit time.Duration
	// NoPodmanSocket leaves podman.socket alone.
	NoPodmanSocket bool
	// Sandbox forces a private manager even when a user manager is
	// reachable.
	Sandbox bool
	// Progress receives one line per step before the UI starts; nil
	// discards them.
	Progress io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// DefaultIdleExit is the echo service's idle exit in the demo: long enough
// to look at it running, short enough to watch it go idle again.
const DefaultIdleExit = 20 * time.Second

// Session is a running demo. Close undoes everything Start and Install did.
type Session struct {
	// Client is connected to the demo's manager.
	Client *systemdbus.Client
	// ManagerName is "sandbox" for a private manager, else the client's.
	ManagerName string
	// Sandbox is the private manager, nil when the user manager is used.
	Sandbox *sandbox.Sandbox
	// Units are the echo workload's units, once installed.
	Units unit.SocketSpec
	// Container is the echo workload's container name in container mode,
	// once installed (ContainerName of its port).
	Container string
	// Mode is the echo workload's mode, once installed; Note says why bare
	// mode was chosen when it was not asked for.
	Mode echo.Mode
	Note string
	// Image is the image the echo service runs in container mode: built
	// from the echo server's binary and named by its digest
	// (echo.ImageTag). The demo leaves it in Podman's storage for the next
	// run.
	Image string

	opts              Options
	runtimeDir        string   // the manager's XDG_RUNTIME_DIR
	env               []string // environment for podman: the manager's
	installed         bool
	startedPodmanSock bool
}

// Start connects to the user manager, or starts a sandbox when none is
// reachable (or opts.Sandbox), and installs the echo workload and, where
// Podman is installed, starts podman.socket. On error nothing is left
// behind.
func Start(ctx context.Context, opts Options) (*Session, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	s := &Session{opts: opts}
	if err := s.connect(ctx); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	if err := s.Install(ctx); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	if !opts.NoPodmanSocket {
		if err := s.startPodmanSocket(ctx); err != nil {
			s.progress("podman.socket not started: %v", err)
		}
	}
	return s, nil
}

// Attach returns a Session that installs the demo workload into the manager
// client already talks to (the UI's `d` key). Close removes what Install
// created but leaves client open.
func Attach(client *systemdbus.Client, runtimeDir string, opts Options) *Session {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	return &Session{opts: opts, Client: client, ManagerName: client.Manager(),
		runtimeDir: runtimeDir, env: os.Environ()}
}

// JournalDir is the journal folder of the demo's manager when it is a socktui
// sandbox (its own, or one Attach was given the XDG_RUNTIME_DIR of), for
// journal.Reader.Dir; empty when the manager's journal is the host's (or
// the sandbox has none).
func (s *Session) JournalDir() string {
	if s.Sandbox != nil {
		return s.Sandbox.JournalDir
	}
	return sandbox.JournalDirIn(s.runtimeDir)
}

func (s *Session) progress(format string, args ...any) {
	if s.opts.Progress != nil {
		fmt.Fprintf(s.opts.Progress, "socktui demo: "+format+"\n", args...)
	}
}

func (s *Session) connect(ctx context.Context) error {
	if !s.opts.Sandbox {
		if rt := s.opts.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			if _, err := os.Stat(filepath.Join(rt, "systemd", "private")); err == nil {
				c, err := systemdbus.Connect(ctx, systemdbus.Options{RuntimeDir: rt})
				if err == nil {
					s.Client, s.ManagerName, s.runtimeDir, s.env = c, c.Manager(), rt, os.Environ()
					s.progress("using the user manager at %s", rt)
					return nil
				}
				s.progress("user manager at %s not usable (%v); starting a private one", rt, err)
			}
		}
	}
	if err := sandbox.Available(); err != nil && !s.opts.Sandbox {
		// A normal user without a session: say what is missing, and
		// both ways out, before trying anything.
		why := "XDG_RUNTIME_DIR is not set"
		if rt := s.opts.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			why = "no manager listens on " + filepath.Join(rt, "systemd", "private")
		}
		return fmt.Errorf("no user manager is reachable (%s) and none could be started: %w", why, err)
	}
	s.progress("no user manager reachable: starting a private systemd --user")
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		return fmt.Errorf("no user manager is reachable and none could be started: %w", err)
	}
	s.Sandbox = sb
	s.progress("private manager ready in %s (%s)", human.Duration(sb.StartupTime), sb.Dir)
	c, err := systemdbus.Connect(ctx, systemdbus.Options{RuntimeDir: sb.RuntimeDir})
	if err != nil {
		return fmt.Errorf("connecting to the private manager: %w", err)
	}
	s.Client, s.ManagerName, s.runtimeDir, s.env = c, "sandbox", sb.RuntimeDir, sb.Env()
	return nil
}

// Install creates the echo workload as transient units on a free port in
// the session's manager and starts its socket. Calling it again when
// installed does nothing.
func (s *Session) Install(ctx context.Context) error {
	if s.installed {
		return nil
	}
	spec, err := s.spec(ctx)
	if err != nil {
		return err
	}
	var units unit.SocketSpec
	for attempt := 1; ; attempt++ {
		if units, err = spec.Units(); err != nil {
			return fmt.Errorf("echo units: %w", err)
		}
		// A transient unit left by a demo that was killed (or by the
		// attempt before) would block the name.
		_ = s.Client.RemoveTransient(ctx, units.Name, units.ServiceName())
		err = s.Client.CreateTransientSocket(ctx, units)
		if err == nil {
			break
		}
		// A port found free can be taken by another program before
		// systemd binds it: try other ones, unless the port was asked for.
		if s.opts.Port != 0 || attempt == 3 || ctx.Err() != nil {
			_ = s.Client.RemoveTransient(ctx, units.Name, units.ServiceName())
			return fmt.Errorf("creating %s: %w", units.Name, err)
		}
		port, perr := sandbox.FreePort()
		if perr != nil {
			return fmt.Errorf("creating %s: %w", units.Name, err)
		}
		s.progress("%s did not start on port %d (%v); trying port %d", units.Name, spec.Port, err, port)
		spec = s.onPort(spec, port)
	}
	s.Units, s.Mode, s.installed = units, spec.Mode, true
	if spec.Mode == echo.ModeContainer {
		s.Container = spec.ContainerName
	}
	s.progress("%s listening on port %d (%s mode)", units.Name, spec.Port, spec.Mode)
	return nil
}

func (s *Session) spec(ctx context.Context) (echo.Spec, error) {
	bin, args, err := s.echoServer()
	if err != nil {
		return echo.Spec{}, err
	}
	port := s.opts.Port
	if port == 0 {
		if port, err = sandbox.FreePort(); err != nil {
			return echo.Spec{}, err
		}
	}
	idle := s.opts.IdleExit
	switch {
	case idle == 0:
		idle = DefaultIdleExit
	case idle < 0:
		idle = 0
	}
	spec := s.onPort(echo.Spec{
		Name:       Name,
		Binary:     bin,
		BinaryArgs: args,
		RuntimeDir: s.runtimeDir,
		IdleExit:   idle,
	}, port)
	spec.Mode, s.Note = s.chooseMode(ctx, bin, args)
	if spec.Mode == echo.ModeContainer {
		spec.Podman, _ = exec.LookPath("podman")
		spec.Image = s.Image
	}
	return spec, nil
}

// ContainerName is the name of the echo container of a demo on port.
func ContainerName(port int) string { return Name + "-" + strconv.Itoa(port) }

// onPort puts spec's listeners on port: TCP and UDP, vsock, and a unix
// folder named after it.
func (s *Session) onPort(spec echo.Spec, port int) echo.Spec {
	spec.Port, spec.VsockPort = port, port
	spec.UnixDir = filepath.Join(s.runtimeDir, Name+"-"+strconv.Itoa(port))
	// The port is this demo's alone (FreePort reserves it), so the
	// container named after it is too: Podman's names are machine-wide.
	spec.ContainerName = ContainerName(port)
	return spec
}

// echoServer is the program that runs the echo server, with the arguments
// that come before the server's flags: this executable with
// echo.Subcommand, or Options.EchoBinary alone.
func (s *Session) echoServer() (string, []string, error) {
	if s.opts.EchoBinary != "" {
		abs, err := filepath.Abs(s.opts.EchoBinary)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return "", nil, fmt.Errorf("echo binary: %w", err)
		}
		return abs, nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("finding the running executable, which serves the echo workload: %w", err)
	}
	return exe, []string{echo.Subcommand}, nil
}

// chooseMode returns the mode to run the echo workload in and, when bare
// mode was chosen on its own, why. For container mode it sets s.Image,
// building the image from bin when Podman does not have it yet.
func (s *Session) chooseMode(ctx context.Context, bin string, args []string) (echo.Mode, string) {
	if s.opts.Mode == echo.ModeBare {
		return echo.ModeBare, ""
	}
	if _, err := exec.LookPath("podman"); err != nil {
		return echo.ModeBare, "bare mode: podman is not installed"
	}
	tag, err := echo.ImageTag(bin, args)
	var ok bool
	if err == nil {
		s.Image = tag
		ok, err = echo.ImageExists(ctx, tag, s.env)
	}
	if err == nil && !ok {
		s.progress("building image %s from %s", tag, bin)
		err = echo.BuildImage(ctx, bin, args, tag, s.env)
	}
	if err != nil {
		if s.opts.Mode == echo.ModeContainer {
			return echo.ModeContainer, ""
		}
		return echo.ModeBare, "bare mode: the echo image is unusable (" + firstLine(err.Error()) + ")"
	}
	return echo.ModeContainer, ""
}

func (s *Session) startPodmanSocket(ctx context.Context) error {
	if _, err := exec.LookPath("podman"); err != nil {
		return nil // nothing to show
	}
	socks, err := s.Client.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{PodmanSocket}, All: true})
	if err != nil {
		return err
	}
	if len(socks) == 0 {
		return errors.New("the manager has no podman.socket unit")
	}
	if socks[0].ActiveState == "active" {
		return nil // someone else's: leave it as it is
	}
	if err := s.Client.StartUnit(ctx, PodmanSocket); err != nil {
		return err
	}
	s.startedPodmanSock = true
	return nil
}

// Close removes the echo units, stops podman.socket if Start started it,
// disconnects, and stops the sandbox if one was started. It is safe to call
// on a partly started session and more than once.
func (s *Session) Close(ctx context.Context) error {
	var errs []error
	if s.Client != nil {
		if s.installed {
			if err := s.Client.RemoveTransient(ctx, s.Units.Name, s.Units.ServiceName()); err != nil {
				errs = append(errs, err)
			}
			s.installed = false
		}
		if s.startedPodmanSock {
			if err := s.Client.StopUnit(ctx, PodmanSocket); err != nil {
				errs = append(errs, err)
			}
			_ = s.Client.StopUnit(ctx, "podman.service")
			s.startedPodmanSock = false
		}
		if s.Sandbox != nil { // Attach's client belongs to the caller
			s.Client.Close()
			s.Client = nil
		}
	}
	if s.Sandbox != nil {
		if err := s.Sandbox.Close(); err != nil {
			errs = append(errs, err)
		}
		s.Sandbox = nil
	}
	return errors.Join(errs...)
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
