// Package sandboxtest gives tests a private systemd user manager
// (sandbox.Start) that is closed when the test ends.
//
// Tests that need systemd never skip in CI (CI=true): there a sandbox that
// cannot start fails the test loudly. Elsewhere such tests skip with the
// reason, so `go test ./...` works on a laptop without root.
package sandboxtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
)

// InCI reports whether the tests run in CI, where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Start starts a sandbox for t and registers its Close with t.Cleanup; Close
// must leave nothing behind, or the test fails.
func Start(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	return start(t, sandbox.Options{})
}

// StartRootless is Start in rootless mode (sandbox.Options.Rootless): the
// manager runs as a user made for the sandbox, and clients act as that user
// through s.Command, s.Systemctl and s.AsUser. When the test ends, after
// Close, it fails t unless the host is as it was before (see HostUntouched)
// and the user is gone with its files.
func StartRootless(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	if err := sandbox.Available(); err != nil {
		Unavailable(t, err.Error())
	}
	HostUntouched(t)
	var s *sandbox.Sandbox
	t.Cleanup(func() { // after Close, registered later
		if s != nil {
			UserGone(t, s.User, s.Home)
		}
	})
	s = start(t, sandbox.Options{Rootless: true})
	return s
}

// Mode is one way of running a sandbox: as root, or rootless.
type Mode struct {
	Name  string
	Start func(testing.TB) *sandbox.Sandbox
}

// Modes are the sandbox modes the core integration tests run in: root
// (Start) and rootless (StartRootless).
var Modes = []Mode{{"root", Start}, {"rootless", StartRootless}}

// InModes runs body once per Mode, each as a subtest with a sandbox of its
// own.
func InModes(t *testing.T, body func(t *testing.T, s *sandbox.Sandbox)) {
	t.Helper()
	for _, m := range Modes {
		t.Run(m.Name, func(t *testing.T) { body(t, m.Start(t)) })
	}
}

func start(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if err := sandbox.Available(); err != nil {
		Unavailable(t, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := sandbox.Start(ctx, opts)
	if err != nil {
		if errors.Is(err, sandbox.ErrUnavailable) {
			Unavailable(t, err.Error())
		}
		t.Fatalf("starting the sandbox: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// What systemd said of the failure (a bind refused, a unit
			// that would not start) is in its own log.
			if l := s.ManagerLog(40); l != "" {
				t.Logf("the sandbox manager's log, last lines:\n%s", l)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("closing the sandbox: %v", err)
		}
	})
	// The manager is connectable before its own start-up jobs (sockets,
	// basic and default targets) end; a test must not see their signals
	// as its own. Its SystemState leaves "initializing"/"starting" once
	// they have ended ("degraded" is as finished as "running").
	// `systemctl --user is-system-running --wait` cannot tell: on a host
	// not booted with systemd it answers "offline" at once (measured), so
	// it never waited.
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	for {
		out, err := s.Systemctl(wctx, "show", "-p", "SystemState", "--value").CombinedOutput()
		if wctx.Err() != nil {
			t.Fatalf("the sandbox's manager did not finish starting: %v %s", err, out)
		}
		if st := strings.TrimSpace(string(out)); err == nil && (st == "running" || st == "degraded") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// Need skips t (fails it in CI) when a command the test needs is missing,
// naming the Debian package that brings it.
func Need(t testing.TB, command, debianPackage string) {
	t.Helper()
	if _, err := exec.LookPath(command); err != nil {
		Unavailable(t, command+" is not installed (apt-get install "+debianPackage+")")
	}
}

// Unavailable skips t with why, or fails it when running in CI.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true and this test's environment is missing: %s", why)
	}
	t.Skip(why)
}

// Systemctl runs `systemctl --user ARGS...` against s within a minute and
// returns its output; a failure fails t with the output.
func Systemctl(t testing.TB, s *sandbox.Sandbox, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Systemctl(ctx, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl --user %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// FreePort returns a port free for TCP and UDP on 127.0.0.1 and [::1]
// (sandbox.FreePort), failing t when there is none.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := sandbox.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// InstallUnits writes unit files (name -> contents) into the sandbox's user
// unit folder ($HOME/.config/systemd/user) and reloads the manager.
func InstallUnits(t testing.TB, s *sandbox.Sandbox, files map[string]string) {
	t.Helper()
	dir := filepath.Join(s.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if s.User != nil {
		// The user's own files, as a user's editor leaves them.
		if err := chownTree(filepath.Join(s.Home, ".config"), s.User); err != nil {
			t.Fatal(err)
		}
	}
	Systemctl(t, s, "daemon-reload")
}
