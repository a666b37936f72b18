package demo_test

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// TestMain serves the echo workload when the demo's units run this test
// binary as `demo.test echo-server FLAGS`: it stands in for socktui, whose
// hidden subcommand the demo runs (os.Executable).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == echo.Subcommand {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		code := echo.Main(ctx, os.Args[2:], os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestSessionInBareMode starts the demo in a private manager in bare mode,
// sees the echo socket listen with its service idle, echoes through it (the
// service runs this binary's echo-server), and checks that Close removes
// the units and the sandbox.
func TestSessionInBareMode(t *testing.T) {
	testSession(t, echo.ModeBare)
}

// TestSessionInContainerMode does the same in container mode: the image
// is built from this test binary, dynamically linked when built with cgo
// (as `go install` builds socktui where gcc is installed).
func TestSessionInContainerMode(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	testSession(t, echo.ModeContainer)
}

func testSession(t *testing.T, mode echo.Mode) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := demo.Start(ctx, demo.Options{Sandbox: true, Mode: mode, NoPodmanSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	if mode == echo.ModeContainer {
		// The image is named by this binary's digest: no other test
		// process builds the same one, and none is to be left behind.
		t.Cleanup(func() {
			if err := echo.RemoveImage(context.Background(), s.Image, nil); err != nil {
				t.Error(err)
			}
		})
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close(context.Background())
		}
	})
	if s.ManagerName != "sandbox" || s.Mode != mode || s.Sandbox == nil {
		t.Fatalf("session = manager %q, mode %q, sandbox %v", s.ManagerName, s.Mode, s.Sandbox)
	}
	socks, err := s.Client.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{s.Units.Name}})
	if err != nil || len(socks) != 1 {
		t.Fatalf("ListSockets(%s) = %v, %v", s.Units.Name, socks, err)
	}
	if got := socks[0]; got.State != unit.StateIdle || len(got.Listen) != len(s.Units.Listen) {
		t.Fatalf("%s: state %s with %d listeners, want idle with %d", got.Unit, got.State, len(got.Listen), len(s.Units.Listen))
	}
	if mode == echo.ModeContainer && !strings.HasPrefix(s.Image, "localhost/socktui-echo:") {
		t.Errorf("container mode runs image %q, want localhost/socktui-echo:DIGEST", s.Image)
	}
	echotest.Echoes(t, s.Units.Listen[0].Address, "hello through the demo\n")
	// Installing twice is a no-op, not an "already exists" error.
	if err := s.Install(ctx); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	dir, container := s.Sandbox.Dir, s.Container
	closed = true
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("sandbox %s still there after Close (%v)", dir, err)
	}
	if left := sandbox.Processes(dir); len(left) > 0 {
		t.Errorf("processes left after Close: %v", left)
	}
	if mode == echo.ModeContainer {
		if container == "" || !strings.HasPrefix(container, demo.Name+"-") {
			t.Fatalf("the session's container is %q, want %s-PORT", container, demo.Name)
		}
		out, err := exec.Command("podman", "ps", "-a", "--filter", "name=^"+container+"$", "--format", "{{.Names}}").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("podman ps after Close: %q (%v), want no %s container", out, err, container)
		}
	}
}
