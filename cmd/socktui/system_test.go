package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// inSystem runs the real binary as `socktui ARGS` in s's namespaces, with
// its default transport (/run/systemd/private, else the system bus), as
// root or (nobody) as an unprivileged user, and returns stdout, stderr
// and the exit status.
func inSystem(t *testing.T, s *sandbox.System, nobody bool, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, argv := bin, args
	if nobody {
		name, argv = sandbox.AsUser(65534, 65534, bin, args...)
	}
	cmd := s.Command(ctx, name, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("socktui %s did not finish within 2 minutes; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("socktui %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

// TestSystemCLI runs `socktui --system` for real against a system manager
// booted for the test (sandbox.StartSystem): list and list --json agree
// with `systemctl --system list-sockets`; stop and start as root change
// the socket's state; as nobody, list works over the system bus while
// start and stop fail with a permission error in words and leave the
// socket as it was.
func TestSystemCLI(t *testing.T) {
	bin := testbin.Build(t, "cmd/socktui")
	port := sandboxtest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := sandboxtest.StartSystem(t, sandbox.SystemOptions{Units: map[string]string{
		"probe.socket":                         "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + addr + "\n",
		"probe.service":                        "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
		sandbox.SystemTarget + ".d/probe.conf": "[Unit]\nWants=probe.socket\n",
	}})
	state := func() string { return sandboxtest.SystemProperty(t, s, "probe.socket", "ActiveState") }

	// systemctl's own listing, the reference: unit names by listen address.
	ref := map[string]string{}
	for _, line := range strings.Split(sandboxtest.SystemSystemctl(t, s, "list-sockets", "--all", "--no-legend", "--no-pager"), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			ref[f[0]] = f[1]
		}
	}
	if ref[addr] != "probe.socket" {
		t.Fatalf("systemctl --system list-sockets = %v, want probe.socket on %s", ref, addr)
	}

	for _, who := range []struct {
		name   string
		nobody bool
	}{{"root", false}, {"nobody", true}} {
		out, errOut, code := inSystem(t, s, who.nobody, bin, "--system", "list", "--all", "--json")
		if code != 0 {
			t.Fatalf("socktui --system list --json as %s: exit %d\n%s", who.name, code, errOut)
		}
		var socks []unit.Socket
		if err := json.Unmarshal([]byte(out), &socks); err != nil {
			t.Fatalf("socktui --system list --json as %s: %v\n%s", who.name, err, out)
		}
		got := map[string]string{}
		for _, sk := range socks {
			for _, l := range sk.Listen {
				got[l.Address] = sk.Unit
			}
		}
		if !maps.Equal(got, ref) {
			t.Errorf("socktui --system list --json as %s = %v, systemctl list-sockets = %v", who.name, got, ref)
		}
		out, errOut, code = inSystem(t, s, who.nobody, bin, "--system", "list")
		if code != 0 || !regexp.MustCompile(`probe\.socket`).MatchString(out) || !strings.Contains(out, addr) {
			t.Errorf("socktui --system list as %s: exit %d, want probe.socket on %s:\n%s%s", who.name, code, addr, out, errOut)
		}
	}

	if _, errOut, code := inSystem(t, s, false, bin, "--system", "stop", "probe.socket"); code != 0 {
		t.Fatalf("socktui --system stop as root: exit %d\n%s", code, errOut)
	}
	if st := state(); st != "inactive" {
		t.Errorf("probe.socket after socktui --system stop: %s, want inactive", st)
	}
	refused := func(verb, want string) {
		t.Helper()
		_, errOut, code := inSystem(t, s, true, bin, "--system", verb, "probe.socket")
		if code == 0 {
			t.Errorf("socktui --system %s as nobody: exit 0, want a failure", verb)
		}
		for _, w := range []string{"permission denied", "probe.socket", "root"} {
			if !strings.Contains(errOut, w) {
				t.Errorf("socktui --system %s as nobody says %q, which does not say %q", verb, errOut, w)
			}
		}
		t.Logf("socktui --system %s as nobody: exit %d: %s", verb, code, strings.TrimSpace(errOut))
		if st := state(); st != want {
			t.Errorf("probe.socket after a refused %s: %s, want %s", verb, st, want)
		}
	}
	refused("start", "inactive")
	if _, errOut, code := inSystem(t, s, false, bin, "--system", "start", "probe.socket"); code != 0 {
		t.Fatalf("socktui --system start as root: exit %d\n%s", code, errOut)
	}
	if st := state(); st != "active" {
		t.Errorf("probe.socket after socktui --system start: %s, want active", st)
	}
	refused("stop", "active")
}
