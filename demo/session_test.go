package demo_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// TestSessionInBareMode starts the demo in a private manager in bare mode,
// sees the echo socket listen with its service idle, and checks that Close
// removes the units and the sandbox.
func TestSessionInBareMode(t *testing.T) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	bin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := demo.Start(ctx, demo.Options{Sandbox: true, Mode: echo.ModeBare, EchoBinary: bin, NoPodmanSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close(context.Background())
		}
	})
	if s.ManagerName != "sandbox" || s.Mode != echo.ModeBare || s.Sandbox == nil {
		t.Fatalf("session = manager %q, mode %q, sandbox %v", s.ManagerName, s.Mode, s.Sandbox)
	}
	socks, err := s.Client.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{s.Units.Name}})
	if err != nil || len(socks) != 1 {
		t.Fatalf("ListSockets(%s) = %v, %v", s.Units.Name, socks, err)
	}
	if got := socks[0]; got.State != unit.StateIdle || len(got.Listen) != len(s.Units.Listen) {
		t.Fatalf("%s: state %s with %d listeners, want idle with %d", got.Unit, got.State, len(got.Listen), len(s.Units.Listen))
	}
	// Installing twice is a no-op, not an "already exists" error.
	if err := s.Install(ctx); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	dir := s.Sandbox.Dir
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
}
