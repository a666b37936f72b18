package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestTrixieStack proves the modern stack end to end: the manager a client
// outside reaches at PrivateSocket is systemd 257, the stack's own
// systemctl and podman run through Command, and Close leaves the host as it
// was (sandboxtest's Stack.Start checks that).
func TestTrixieStack(t *testing.T) {
	st := sandboxtest.Stack{Name: "trixie", Stack: sandbox.StackTrixie}
	s := st.Start(t)
	t.Logf("%s ready in %v", s.StackVersion, s.StartupTime)
	conn := dialManager(t, s)
	v, err := conn.GetManagerProperty("Version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.Trim(v, `"`), "257") {
		t.Errorf("the manager at %s is systemd %s, want 257", s.PrivateSocket(), v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Systemctl(ctx, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "systemd 257") {
		t.Errorf("the stack's systemctl --version = %q, %v; want systemd 257", out, err)
	}
	out, err = s.Command(ctx, "podman", "version", "--format", "{{.Client.Version}}").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "5.4") {
		t.Errorf("the stack's podman version = %q, %v; want 5.4", out, err)
	}
}
