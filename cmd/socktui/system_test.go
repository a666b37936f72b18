package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/sandbox/testhost"
	"github.com/socktui/socktui/unit"
)

// inSystem runs the real binary as `socktui ARGS` in s's namespaces, with
// its default transport (/run/systemd/private, else the system bus), as
// root or (nobody) as an unprivileged user, and returns stdout, stderr
// and the exit status.
func inSystem(t *testing.T, s *sandbox.System, nobody bool, bin string, args ...string) (string, string, int) {
	t.Helper()
	name, argv := bin, args
	if nobody {
		name, argv = sandbox.AsUser(65534, 65534, bin, args...)
	}
	return runCLI(t, 2*time.Minute, args, func(ctx context.Context) *exec.Cmd { return s.Command(ctx, name, argv...) })
}

// bootProbeSystem boots a system sandbox whose boot starts probe.socket
// (a stream socket on a free loopback port, its service a cat) and returns
// it with the socket's address.
func bootProbeSystem(t *testing.T) (*sandbox.System, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", sandboxtest.FreePort(t))
	s := sandboxtest.StartSystem(t, sandbox.SystemOptions{Units: map[string]string{
		"probe.socket":                         "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + addr + "\n",
		"probe.service":                        "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
		sandbox.SystemTarget + ".d/probe.conf": "[Unit]\nWants=probe.socket\n",
	}})
	return s, addr
}

// TestSystemCLI runs `socktui --system` for real against a system manager
// booted for the test (sandbox.StartSystem): list and list --json agree
// with `systemctl --system list-sockets`; stop and start as root change
// the socket's state; as nobody, list works over the system bus while
// start and stop fail with a permission error in words and leave the
// socket as it was.
func TestSystemCLI(t *testing.T) {
	bin := testbin.Build(t, "cmd/socktui")
	s, addr := bootProbeSystem(t)
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

// TestSystemOverSSH runs `socktui --host HOST --system` against the system
// manager of a sandbox whose sshd runs in the manager's namespaces (so its
// sessions, and the forwards of /run/systemd/private, are inside its PID
// namespace, as on a real host), listening on a loopback port: list agrees
// with the manager, stop and start change the socket.
func TestSystemOverSSH(t *testing.T) {
	sandboxtest.Need(t, "sshd", "openssh-server")
	sandboxtest.Need(t, "ssh", "openssh-client")
	bin := testbin.Build(t, "cmd/socktui")
	s, addr := bootProbeSystem(t)
	sshCmd := systemSSHD(t, s)
	state := func() string { return sandboxtest.SystemProperty(t, s, "probe.socket", "ActiveState") }
	run := func(args ...string) (string, string, int) {
		t.Helper()
		args = append([]string{"--host", "socktui-systemhost", "--system"}, args...)
		return runCLI(t, 2*time.Minute, args, func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(s.Command(ctx, "true").Env, "SOCKTUI_SSH="+sshCmd)
			return cmd
		})
	}
	out, errOut, code := run("list", "--all", "--json", "probe.socket")
	var socks []unit.Socket
	if code != 0 || json.Unmarshal([]byte(out), &socks) != nil || len(socks) != 1 ||
		len(socks[0].Listen) != 1 || socks[0].Listen[0].Address != addr || socks[0].ActiveState != "active" {
		t.Fatalf("socktui --host --system list --json probe.socket: exit %d, %s\n%s; want it active on %s", code, out, errOut, addr)
	}
	if _, errOut, code := run("stop", "probe.socket"); code != 0 {
		t.Fatalf("socktui --host --system stop: exit %d\n%s", code, errOut)
	}
	if st := state(); st != "inactive" {
		t.Errorf("probe.socket after a stop over ssh: %s, want inactive", st)
	}
	if _, errOut, code := run("start", "probe.socket"); code != 0 {
		t.Fatalf("socktui --host --system start: exit %d\n%s", code, errOut)
	}
	if st := state(); st != "active" {
		t.Errorf("probe.socket after a start over ssh: %s, want active", st)
	}
}

// systemSSHD starts an sshd in s's namespaces on a free loopback port, with
// a host key, a client key and known_hosts made for the test, and returns
// the ssh command line (for SOCKTUI_SSH) whose config names the host
// socktui-systemhost. sshd is stopped before s closes: the manager's halt
// would wait for it (it is not PID 1's child).
func systemSSHD(t *testing.T, s *sandbox.System) string {
	t.Helper()
	dir := t.TempDir()
	port := sandboxtest.FreePort(t)
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	files := map[string]string{
		"authorized_keys": read("client.pub") + "\n",
		"known_hosts":     fmt.Sprintf("[127.0.0.1]:%d %s\n", port, read("host.pub")),
		"sshd_config": testhost.SSHDConfig(loopback, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys")) +
			"PidFile /run/socktui-test-sshd.pid\n",
		"ssh_config": (&testhost.Host{Addr: loopback, Port: port,
			Identity: filepath.Join(dir, "client"), KnownHosts: filepath.Join(dir, "known_hosts")}).SSHConfigEntry("socktui-systemhost"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// sshd's privilege separation folder, in the namespace's /run.
	if err := os.MkdirAll(filepath.Join(s.RunDir, "sshd"), 0o755); err != nil {
		t.Fatal(err)
	}
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		t.Fatal(err)
	}
	cmd := s.Command(context.Background(), sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// sshd runs as nsenter's child, inside: kill it there by its PID.
		if out, err := s.Command(ctx, "sh", "-c", `kill "$(cat /run/socktui-test-sshd.pid)"`).CombinedOutput(); err != nil {
			t.Errorf("stopping sshd: %v\n%s", err, out)
		}
		<-done
		if t.Failed() {
			t.Logf("sshd's log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(s.RunDir, "socktui-test-sshd.pid")); err == nil {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("sshd exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen within a minute: %s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "ssh -F " + filepath.Join(dir, "ssh_config")
}
