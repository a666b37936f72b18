package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/remote"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/sandbox/testhost"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// socktuiOn runs the real binary with --host h (its ssh config through
// SOCKTUI_SSH) and a local XDG_RUNTIME_DIR where no manager runs, so only
// the remote one can answer.
func socktuiOn(t *testing.T, h *testhost.Host, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--host", h.Target()}, args...)...)
	cmd.Env = append(os.Environ(), "SOCKTUI_SSH="+h.SSHCommand(), "XDG_RUNTIME_DIR="+t.TempDir(), "DBUS_SESSION_BUS_ADDRESS=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatalf("socktui %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// installRemoteEcho installs the echo workload (bare) on the test host's
// manager and starts its socket; streamOnly keeps only its tcp4, tcp6 and
// unix stream listeners.
func installRemoteEcho(t *testing.T, h *testhost.Host, name string, port int, streamOnly bool) unit.SocketSpec {
	t.Helper()
	return echotest.InstallBare(t, h.Sandbox, testbin.Build(t, "workloads/echo/cmd/socktui-echo"), name, port, streamOnly)
}

func probeJSON(t *testing.T, out string) []jsonResult {
	t.Helper()
	var rs []jsonResult
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	return rs
}

// TestHostCommands: list, probe (cold, then warm), stop/start, logs and
// doctor of a remote user manager over real ssh to a test host, whose
// units listen on its own loopback (unreachable from here but through
// ssh). list agrees with ssh HOST systemctl --user list-sockets; stream
// endpoints are probed through ssh's forwarding, a unit with datagram
// endpoints by the socktui installed on the host, and without it those
// are unsupported, saying why.
func TestHostCommands(t *testing.T) {
	h := sandboxtest.StartHost(t)
	bin := testbin.Build(t, "cmd/socktui")
	streams := installRemoteEcho(t, h, "rstream", 4301, true)
	all := installRemoteEcho(t, h, "rall", 4302, false)

	// list, as the host's own systemctl sees it.
	out, errOut, code := socktuiOn(t, h, bin, "list", "--json")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	var socks []unit.Socket
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		t.Fatal(err, out)
	}
	var ours []string
	for _, s := range socks {
		for _, l := range s.Listen {
			ours = append(ours, l.Address+" "+s.Unit)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sys, err := h.SSH(ctx, "systemctl", "--user", "list-sockets", "--no-legend", "--no-pager").Output()
	if err != nil {
		t.Fatal(err)
	}
	var theirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(sys)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			theirs = append(theirs, f[0]+" "+f[1])
		}
	}
	slices.Sort(ours)
	slices.Sort(theirs)
	if !slices.Equal(ours, theirs) {
		t.Errorf("socktui --host list:\n%s\nssh systemctl --user list-sockets:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	if !slices.Contains(ours, "127.0.0.1:4301 rstream.socket") {
		t.Errorf("rstream.socket's tcp4 listener is not listed: %q", ours)
	}

	// probe: cold, then warm.
	if err := os.Symlink(bin, filepath.Join(h.BinDir, "socktui")); err != nil {
		t.Fatal(err)
	}
	for run, cold := range []bool{true, false} {
		out, errOut, code := socktuiOn(t, h, bin, "probe", "--json", "--cold-timeout", "20s", "rstream", "rall")
		rs := probeJSON(t, out)
		if len(rs) != len(streams.Listen)+len(all.Listen) {
			t.Fatalf("run %d: %d results for %d endpoints (exit %d, %s)", run, len(rs), len(streams.Listen)+len(all.Listen), code, errOut)
		}
		nets := map[string]bool{}
		for _, r := range rs {
			t.Logf("run %d: %-14s %-10s %-11s %8.3fms cold=%v %s", run, r.Unit, r.Network, r.Outcome, r.RTTms, r.Cold, r.Error)
			if r.Outcome != "ok" || r.Cold != cold || r.Kind != "echo" {
				t.Errorf("run %d: %+v, want ok, echo, cold %v", run, r, cold)
			}
			nets[r.Unit+" "+r.Network] = true
		}
		for _, n := range []string{"rstream.socket tcp4", "rstream.socket tcp6", "rstream.socket unix",
			"rall.socket udp4", "rall.socket udp6", "rall.socket unixgram", "rall.socket unixpacket"} {
			if !nets[n] {
				t.Errorf("run %d: no result for %s", run, n)
			}
		}
		if code != 0 {
			t.Errorf("run %d: exit %d: %s", run, code, errOut)
		}
	}

	// Without socktui on the host: streams still through forwarding, the
	// rest unsupported in words.
	os.Remove(filepath.Join(h.BinDir, "socktui"))
	out, _, code = socktuiOn(t, h, bin, "probe", "--json", "rall")
	for _, r := range probeJSON(t, out) {
		switch r.Network {
		case "tcp4", "tcp6", "unix":
			if r.Outcome != "ok" {
				t.Errorf("without a remote socktui: %+v, want ok through forwarding", r)
			}
		default:
			if r.Outcome != "unsupported" || !strings.Contains(r.Error, "socktui is not installed") {
				t.Errorf("without a remote socktui: %+v, want unsupported saying socktui is not installed", r)
			}
		}
	}
	if code != 0 {
		t.Errorf("probe without a remote socktui: exit %d", code)
	}

	// stop and start, as the host's systemctl sees them.
	if _, errOut, code := socktuiOn(t, h, bin, "stop", "rstream"); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, errOut)
	}
	if st := remoteState(t, h, "rstream.socket"); st != "inactive" {
		t.Errorf("rstream.socket is %s after socktui --host stop", st)
	}
	if _, errOut, code := socktuiOn(t, h, bin, "start", "rstream"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, errOut)
	}
	if st := remoteState(t, h, "rstream.socket"); st != "active" {
		t.Errorf("rstream.socket is %s after socktui --host start", st)
	}

	// logs: the host's journal over ssh (journalctl has no -H).
	out, errOut, code = socktuiOn(t, h, bin, "logs", "rall", "--json")
	if code != 0 || !strings.Contains(out, "rall.service") {
		t.Errorf("logs: exit %d, %s\n%s", code, errOut, out)
	}

	// doctor: facts over the same connection.
	out, errOut, code = socktuiOn(t, h, bin, "doctor", "--json", "rall")
	var findings []map[string]string
	if err := json.Unmarshal([]byte(out), &findings); err != nil || code > 1 {
		t.Errorf("doctor: exit %d, %v: %s\n%s", code, err, errOut, out)
	}
	out, _, _ = socktuiOn(t, h, bin, "doctor", "rall")
	if !strings.Contains(out, "SELinux is not read on a remote host") && !strings.Contains(out, "rall.socket") {
		t.Errorf("doctor's text: %s", out)
	}
}

func remoteState(t *testing.T, h *testhost.Host, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := h.SSH(ctx, "systemctl", "--user", "is-active", name).Output()
	return strings.TrimSpace(string(out))
}

// TestHostErrorsInWords: a refused key and a changed host key make every
// command fail at once with the reason in words (exit 1), never a prompt
// or a hang; a bad --host is bad usage.
func TestHostErrorsInWords(t *testing.T) {
	h := sandboxtest.StartHost(t)
	bin := testbin.Build(t, "cmd/socktui")
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	authorized := filepath.Join(h.Dir, "authorized_keys")
	good, _ := os.ReadFile(authorized)
	os.WriteFile(authorized, nil, 0o600) // the host knows no key now
	_, errOut, code := socktuiOn(t, h, bin, "list")
	if code != 1 || !strings.Contains(errOut, "refused every key") || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("auth failure: exit %d, %q", code, errOut)
	}
	t.Logf("auth failure: %s", errOut)
	os.WriteFile(authorized, good, 0o600)

	pub, _ := os.ReadFile(other + ".pub")
	h.WriteKnownHosts(pub)
	_, errOut, code = socktuiOn(t, h, bin, "probe")
	if code != 1 || !strings.Contains(errOut, "does not match the one in known_hosts") {
		t.Errorf("host key mismatch: exit %d, %q", code, errOut)
	}
	t.Logf("host key mismatch: %s", errOut)

	for _, bad := range []string{"-oProxyCommand=sh", "host:99999", "a b"} {
		cmd := exec.Command(bin, "--host", bad, "list")
		var e bytes.Buffer
		cmd.Stderr = &e
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("--host %q: %v %s, want exit 2", bad, err, e.String())
		}
	}
	_ = fmt.Sprint()
}

// TestHostWatch: the watch of a remote manager over ssh sees an
// activation live (a connection through ssh's forwarding starts the
// service), reports the connection dropping when the network to the host
// is cut, and recovers with a full listing once it is back.
func TestHostWatch(t *testing.T) {
	h := sandboxtest.StartHost(t)
	installRemoteEcho(t, h, "rwatch", 4303, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target, err := remoteTarget(h)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Getenv: sshGetenv(h), hosts: &hostSet{targets: target}}
	defer env.hosts.close()
	c, err := connect(ctx, env, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events := c.Watch(ctx)
	next := func(want string, ok func(unit.Event) bool) unit.Event {
		t.Helper()
		for {
			select {
			case e, open := <-events:
				if !open {
					t.Fatalf("the watch ended waiting for %s", want)
				}
				if ok(e) {
					return e
				}
			case <-ctx.Done():
				t.Fatalf("no %s", want)
			}
		}
	}
	next("snapshot", func(e unit.Event) bool { return e.Kind == unit.Snapshot })

	conn, err := env.hosts.only(false).DialContext(ctx, "tcp4", "127.0.0.1:4303")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("wake\n"))
	start := time.Now()
	next("rwatch.service active", func(e unit.Event) bool {
		return e.Kind == unit.UnitChanged && e.Socket != nil && e.Socket.Unit == "rwatch.socket" &&
			slices.ContainsFunc(e.Socket.Services, func(s unit.Service) bool { return s.ActiveState == unit.Active })
	})
	t.Logf("activation seen %v after the connection", time.Since(start))

	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	e := next("disconnected", func(e unit.Event) bool { return e.Kind == unit.Disconnected })
	t.Logf("disconnect seen %v after the cut: %v", time.Since(cut), e.Err)
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	e = next("reconnected", func(e unit.Event) bool { return e.Kind == unit.Reconnected })
	t.Logf("reconnected %v after the link came back", time.Since(up))
	if !slices.ContainsFunc(e.Sockets, func(s unit.Socket) bool { return s.Unit == "rwatch.socket" }) {
		t.Errorf("the listing after reconnecting lacks rwatch.socket: %+v", e.Sockets)
	}
}

// sshGetenv is an environment with one variable: SOCKTUI_SSH (sshEnv),
// h's ssh command, so that ssh reaches h by its test config.
func sshGetenv(h *testhost.Host) func(string) string {
	ssh := h.SSHCommand()
	return func(k string) string {
		if k == sshEnv {
			return ssh
		}
		return ""
	}
}

func remoteTarget(h *testhost.Host) ([]remote.Target, error) {
	t, err := remote.ParseTarget(h.Target())
	return []remote.Target{t}, err
}
