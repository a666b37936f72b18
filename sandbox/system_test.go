package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestSystemBoots boots a system sandbox with a socket unit of its own and
// checks that it is a system manager in container mode, in its own cgroup
// and hostname, that its socket listens, that transient units work, and
// (in StartSystem's cleanups) that the host is untouched once it is closed.
func TestSystemBoots(t *testing.T) {
	port := sandboxtest.FreePort(t)
	s := sandboxtest.StartSystem(t, sandbox.SystemOptions{Units: map[string]string{
		"probe.socket":                         "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:" + itoa(port) + "\n",
		"probe.service":                        "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
		sandbox.SystemTarget + ".d/probe.conf": "[Unit]\nWants=probe.socket\n",
	}})
	for prop, want := range map[string]string{
		"Virtualization": "container-other",
		"SystemState":    "running",
	} {
		if got := sandboxtest.SystemProperty(t, s, "", prop); got != want {
			t.Errorf("manager %s = %q, want %q", prop, got, want)
		}
	}
	if got := sandboxtest.SystemProperty(t, s, "probe.socket", "SubState"); got != "listening" {
		t.Errorf("probe.socket SubState = %q, want listening", got)
	}
	cg := sandboxtest.SystemProperty(t, s, "", "ControlGroup")
	if want := "/" + filepath.Base(s.Cgroups[0]); cg != want {
		t.Errorf("manager ControlGroup = %q, want its own %q", cg, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The namespace's hostname is its own (StartSystem checks the host's
	// at the end).
	if out, err := s.Command(ctx, "hostname", "socktui-system-test").CombinedOutput(); err != nil {
		t.Errorf("setting the namespace's hostname: %v\n%s", err, out)
	}
	out, err := s.Command(ctx, "cat", "/proc/1/comm").Output()
	if err != nil || strings.TrimSpace(string(out)) != "systemd" {
		t.Errorf("PID 1 in the namespace = %q (%v), want systemd", out, err)
	}
	// Transient units go to /run/systemd/transient, the sandbox's.
	tport := sandboxtest.FreePort(t)
	if out, err := s.Command(ctx, "systemd-run", "--unit=socktui-transient",
		"--socket-property=ListenStream=127.0.0.1:"+itoa(tport), "/bin/cat").CombinedOutput(); err != nil {
		t.Fatalf("systemd-run a transient socket: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(s.RunDir, "systemd", "transient", "socktui-transient.socket")); err != nil {
		t.Errorf("the transient socket's unit file is not in the sandbox's /run: %v", err)
	}
	if got := sandboxtest.SystemProperty(t, s, "socktui-transient.socket", "SubState"); got != "listening" {
		t.Errorf("transient socket SubState = %q, want listening", got)
	}
}

// TestSystemCloseIdempotent closes a system sandbox twice.
func TestSystemCloseIdempotent(t *testing.T) {
	s := sandboxtest.StartSystem(t, sandbox.SystemOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if left := sandbox.Processes(s.Dir); len(left) > 0 {
		t.Errorf("processes %v left after Close", left)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
