package sandboxtest

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/testhost"
)

// StartHost makes a test host for t (testhost.Start: a network namespace
// with its own sshd and a private user manager inside) and registers its
// Close with t.Cleanup; Close must leave no process in the namespace, or
// the test fails. It waits, as Start does, until the manager finished its
// own start-up jobs. It skips (fails in CI) when the machine cannot make
// one.
func StartHost(t testing.TB) *testhost.Host {
	t.Helper()
	if err := testhost.Available(); err != nil {
		Unavailable(t, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := testhost.Start(ctx, testhost.Options{})
	if err != nil {
		if errors.Is(err, testhost.ErrUnavailable) || errors.Is(err, sandbox.ErrUnavailable) {
			Unavailable(t, err.Error())
		}
		t.Fatalf("starting the test host: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() && h.Sandbox != nil {
			if l := h.Sandbox.ManagerLog(40); l != "" {
				t.Logf("the test host's manager log, last lines:\n%s", l)
			}
		}
		if err := h.Close(); err != nil {
			t.Errorf("closing the test host: %v", err)
		}
		if left := h.Processes(); len(left) > 0 {
			t.Errorf("processes left in the test host's namespace: %v", left)
		}
	})
	if out, err := h.Sandbox.Systemctl(ctx, "is-system-running", "--wait").CombinedOutput(); ctx.Err() != nil {
		t.Fatalf("the test host's manager did not finish starting: %v %s", err, out)
	}
	return h
}

// SSHConfig writes one ssh_config for several test hosts, each under the
// alias given (its own address, port, identity and known_hosts), as a
// user's ~/.ssh/config names their hosts, and returns its path: pass it
// as SOCKTUI_SSH="ssh -F PATH" and name the hosts by their aliases.
func SSHConfig(t testing.TB, hosts map[string]*testhost.Host) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Written by socktui's test for several hosts.\n")
	for _, a := range slices.Sorted(maps.Keys(hosts)) {
		b.WriteString(hosts[a].SSHConfigEntry(a))
	}
	path := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
