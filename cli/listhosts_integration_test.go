package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/sandbox/testhost"
	"github.com/socktui/socktui/unit"
)

// TestListSeveralHosts: `socktui --host A --host B list` asks both hosts'
// managers over real ssh and prints one table with a HOST column, in the
// order the hosts were given (one JSON array, each socket with its host);
// a host that cannot be reached is named on stderr, the other is still
// listed, and the exit status is 1.
func TestListSeveralHosts(t *testing.T) {
	a, b := sandboxtest.StartHost(t), sandboxtest.StartHost(t)
	bin := testbin.Build(t, "cmd/socktui")
	installRemoteEcho(t, a, "alpha", sandboxtest.FreePort(t), true)
	installRemoteEcho(t, b, "beta", sandboxtest.FreePort(t), true)

	// One ssh config for both, naming them as a user's ~/.ssh/config would.
	config := sandboxtest.SSHConfig(t, map[string]*testhost.Host{"alpha-host": a, "beta-host": b})
	run := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--host", "alpha-host", "--host", "beta-host"}, args...)...)
		cmd.Env = append(os.Environ(), "SOCKTUI_SSH=ssh -F "+config, "XDG_RUNTIME_DIR="+t.TempDir(), "DBUS_SESSION_BUS_ADDRESS=")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
			t.Fatalf("socktui %s: %v", strings.Join(args, " "), err)
		}
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}

	out, errOut, code := run("list", "--json", "alpha", "beta")
	if code != 0 {
		t.Fatalf("list --json: exit %d\n%s", code, errOut)
	}
	var socks []unit.Socket
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	var got []string
	for _, s := range socks {
		got = append(got, s.Host+" "+s.Unit)
	}
	want := []string{"alpha-host alpha.socket", "beta-host beta.socket"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("list --json of two hosts: %q, want %q", got, want)
	}

	out, _, code = run("list")
	t.Logf("socktui --host A --host B list:\n%s", out)
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.HasPrefix(lines[0], "HOST ") {
		t.Fatalf("list: exit %d, want a HOST column:\n%s", code, out)
	}
	for _, w := range want {
		host, unitName, _ := strings.Cut(w, " ")
		found := false
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) > 4 && f[0] == host && strings.Contains(l, unitName) {
				found = true
			}
		}
		if !found {
			t.Errorf("list: no row of %s on %s in\n%s", unitName, host, out)
		}
	}

	// B goes away: A is still listed, B is named, the exit status says so.
	if err := b.StopSSHD(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run("list", "alpha", "beta")
	t.Logf("with B down:\n%s%s", out, errOut)
	if code != ExitFailure || !strings.HasPrefix(out, "HOST ") || !strings.Contains(out, "alpha.socket") || strings.Contains(out, "beta.socket") ||
		!strings.Contains(errOut, "beta-host") {
		t.Errorf("list with B down: exit %d, want %d; stdout\n%s\nstderr\n%s", code, ExitFailure, out, errOut)
	}
}
