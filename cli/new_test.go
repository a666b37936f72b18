package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// newName is a name of the test's own: container names are global to a
// Podman storage that other test processes share.
func newName(what string) string { return fmt.Sprintf("socktui-new-%s-%d", what, os.Getpid()) }

// runNewUntilBound runs socktui new with the listeners listen(port, vsock)
// gives on free ports, then "--" and command when one is given; a port
// found free can be taken by another test before systemd binds it, so it
// tries other ports (at most three times) when new refuses a bound port or
// the socket fails to start.
func runNewUntilBound(t *testing.T, s *sandbox.Sandbox, bin string, args []string, listen func(port, vsock int) []string, command ...string) (port int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port = sandboxtest.FreePort(t)
		var full []string
		full = append(full, "new")
		full = append(full, args...)
		for _, l := range listen(port, freeVsockPort(t)) {
			full = append(full, "--listen", l)
		}
		if len(command) > 0 {
			full = append(append(full, "--"), command...)
		}
		out, code := runSocktui(t, s, bin, full...)
		if code == 0 {
			t.Logf("socktui %s:\n%s", strings.Join(full, " "), out)
			return port
		}
		if attempt == 3 {
			t.Fatalf("socktui %s: exit %d\n%s", strings.Join(full, " "), code, out)
		}
	}
}

// TestNewEchoTutorialInSandbox recreates Podman's socket activation
// tutorial (an echo container on tcp4, tcp6, udp4, udp6, a unix stream
// socket and vsock) with one socktui new, probes every endpoint, and
// removes it all with socktui rm.
func TestNewEchoTutorialInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	tag := echotest.Image(t, s, bin, "newtest", echo.Subcommand)
	name := newName("echo")
	echotest.RemoveContainerAtCleanup(t, s, name)
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", name+".socket", name+".service").Run() })

	runNewUntilBound(t, s, bin, []string{name, "--image", tag, "--format", "service"}, func(port, vsock int) []string {
		p := strconv.Itoa(port)
		return []string{"tcp:127.0.0.1:" + p, "tcp:[::1]:" + p, "udp:127.0.0.1:" + p, "udp:[::1]:" + p,
			"unix:%h/" + name + ".sock", "vsock::" + strconv.Itoa(vsock)}
	})
	files := authoring.Paths(name, authoring.Layout{ConfigHome: filepath.Join(s.Home, ".config")}, false)
	for _, p := range files[:2] {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !authoring.Ours(b) {
			t.Errorf("%s does not begin with socktui's marker:\n%s", p, b)
		}
	}
	if state := serviceState(t, s, name+".service"); state != "inactive" {
		t.Fatalf("%s.service is %s before any connection, want inactive", name, state)
	}

	out, code := runSocktui(t, s, bin, "probe", "--json", "--timeout", "3s", "--cold-timeout", "30s", name)
	var rs []jsonResult
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if len(rs) != 6 {
		t.Fatalf("%d results, want 6:\n%s", len(rs), out)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		t.Logf("%-6s %-11s %8.1fms cold=%v %s", r.Network, r.Outcome, r.RTTms, r.Cold, r.Error)
		want := "ok"
		if r.Network == "vsock" {
			want = "unsupported"
		}
		if r.Outcome != want || r.Kind != "echo" || !r.Cold {
			t.Errorf("%s %s: %s (kind %s, cold %v) %q, want %s, echo, cold", r.Network, r.Address, r.Outcome, r.Kind, r.Cold, r.Error, want)
		}
		seen[r.Network] = true
	}
	for _, n := range []string{"tcp4", "tcp6", "udp4", "udp6", "unix", "vsock"} {
		if !seen[n] {
			t.Errorf("no result on %s", n)
		}
	}
	if code != ExitOK {
		t.Errorf("probe exit status %d, want 0", code)
	}
	if state := serviceState(t, s, name+".service"); state != "active" {
		t.Errorf("%s.service is %s after the probe, want active", name, state)
	}

	out, code = runSocktui(t, s, bin, "rm", name)
	if code != ExitOK {
		t.Fatalf("socktui rm: exit %d\n%s", code, out)
	}
	assertGone(t, s, name)
}

// assertGone checks that nothing of name is left: no file, no unit the
// manager knows, no container.
func assertGone(t *testing.T, s *sandbox.Sandbox, name string) {
	t.Helper()
	for _, p := range authoring.Paths(name, authoring.Layout{ConfigHome: filepath.Join(s.Home, ".config")}, false) {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	for _, u := range []string{name + ".socket", name + ".service"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := s.Systemctl(ctx, "show", "-p", "LoadState", "-p", "ActiveState", "--value", u).Output()
		cancel()
		if err != nil {
			t.Fatalf("systemctl show %s: %v", u, err)
		}
		if got := strings.Fields(string(out)); len(got) != 2 || got[0] != "not-found" || got[1] != "inactive" {
			t.Errorf("%s after rm: LoadState, ActiveState %q, want not-found inactive", u, got)
		}
	}
	cmd := exec.Command("podman", "container", "exists", name)
	cmd.Env = s.Env()
	if err := cmd.Run(); err == nil {
		t.Errorf("container %s is left", name)
	}
}

// TestNewRefusesInSandbox: every refusal of socktui new that asks the host
// (a name the manager has, an image not in local storage, a port already
// bound, a file socktui did not write, a container of the name) exits 1
// and writes nothing; those that need no host (not loopback, a bad spec)
// exit 2, as the testscript new.txtar shows too.
func TestNewRefusesInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	tag := echotest.Image(t, s, bin, "newrefuse", echo.Subcommand)
	cfg := filepath.Join(s.Home, ".config")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	bound := ln.Addr().String()
	free := func() string { return "tcp:127.0.0.1:" + strconv.Itoa(sandboxtest.FreePort(t)) }

	// A socket unit that socktui did not write, and a container of a name.
	other := newName("other")
	sandboxtest.InstallUnits(t, s, map[string]string{other + ".socket": "[Socket]\nListenStream=127.0.0.1:1\n"})
	t.Cleanup(func() { os.Remove(filepath.Join(cfg, "systemd", "user", other+".socket")) })
	foreign := newName("foreign")
	foreignPath := filepath.Join(cfg, "systemd", "user", foreign+".service")
	if err := os.WriteFile(foreignPath, []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(foreignPath) })
	ctr := newName("ctr")
	// Out here the sandbox's journal (its containers' log driver) is not
	// reachable: this container, never started, logs nowhere anyway.
	create := exec.Command("podman", "create", "--log-driver=k8s-file", "--name", ctr, "--network=none", tag)
	create.Env = s.Env()
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("podman create: %v\n%s", err, out)
	}
	echotest.RemoveContainerAtCleanup(t, s, ctr)

	for _, tc := range []struct {
		what, name string
		args       []string
		code       int
		says       string
	}{
		{"name exists", other, []string{"--image", tag, "--listen", free()}, 1, "a unit " + other + ".socket exists"},
		{"image not local", newName("noimage"), []string{"--image", "localhost/socktui-no-such-image:1", "--listen", free()}, 1, "not in local storage"},
		{"port bound", newName("bound"), []string{"--image", tag, "--listen", "tcp:" + bound}, 1, "already bound"},
		{"foreign file", foreign, []string{"--image", tag, "--listen", free()}, 1, "was not written by socktui"},
		{"container exists", ctr, []string{"--image", tag, "--listen", free()}, 1, "a container named " + ctr + " exists"},
		{"not loopback", newName("exposed"), []string{"--image", tag, "--listen", "tcp:0.0.0.0:" + strconv.Itoa(sandboxtest.FreePort(t))}, 2, "--expose"},
	} {
		t.Run(strings.ReplaceAll(tc.what, " ", "-"), func(t *testing.T) {
			before := snapshot(t, cfg)
			args := append([]string{"new", tc.name, "--format", "service"}, tc.args...)
			stdout, stderr, code := runSocktuiErr(t, s, bin, args...)
			if code != tc.code || !strings.Contains(stderr, tc.says) {
				t.Errorf("socktui %s: exit %d, stderr %q; want exit %d saying %q", strings.Join(args, " "), code, stderr, tc.code, tc.says)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if after := snapshot(t, cfg); after != before {
				t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
			}
			if tc.what != "name exists" {
				if got := serviceState(t, s, tc.name+".socket"); got != "inactive" {
					t.Errorf("%s.socket is %s, want inactive (never created)", tc.name, got)
				}
			}
		})
	}
}

// snapshot lists the files under dir with their sizes, to compare.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			fmt.Fprintf(&b, "%s:%d ", strings.TrimPrefix(p, dir), fi.Size())
		}
		return nil
	})
	return b.String()
}

// runSocktuiErr is runSocktui that also returns stderr.
func runSocktuiErr(t *testing.T, s *sandbox.Sandbox, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.Env()
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatalf("socktui %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// TestNewTransientBareProgramInSandbox: socktui new --transient -- COMMAND
// ARGS runs a bare program (socktui's own echo server) from transient
// units: the manager reports them transient and the socket triggers the
// program with no container; socktui's echo probe passes cold; socktui rm
// stops them, and systemd forgets them.
func TestNewTransientBareProgramInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	name := newName("bare")
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", name+".socket", name+".service").Run() })
	runNewUntilBound(t, s, bin, []string{name, "--transient"}, func(port, _ int) []string {
		return []string{"tcp:127.0.0.1:" + strconv.Itoa(port), "unix:%t/" + name + ".sock"}
	}, bin, "echo-server")
	for _, u := range []string{name + ".socket", name + ".service"} {
		if got := unitProperty(t, s, u, "Transient"); got != "yes" {
			t.Errorf("%s: Transient=%s, want yes", u, got)
		}
	}
	execStart := unitProperty(t, s, name+".service", "ExecStart")
	if !strings.Contains(execStart, "argv[]="+bin+" echo-server ;") {
		t.Errorf("%s.service ExecStart %q, want %s echo-server run bare", name, execStart, bin)
	}
	out, code := runSocktui(t, s, bin, "probe", "--json", "--timeout", "3s", "--cold-timeout", "30s", name)
	var rs []jsonResult
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 2 {
		t.Fatalf("%v, results in\n%s", err, out)
	}
	for _, r := range rs {
		if r.Kind != "echo" || r.Outcome != "ok" || !r.Cold {
			t.Errorf("%s %s: %+v, want a cold echo ok", r.Network, r.Address, r)
		}
	}
	if code != ExitOK {
		t.Errorf("probe exit %d", code)
	}
	out, code = runSocktui(t, s, bin, "rm", name)
	if code != ExitOK || !strings.Contains(string(out), "removed transient "+name+".socket") {
		t.Fatalf("socktui rm: exit %d\n%s", code, out)
	}
	assertGone(t, s, name)
}

// unitProperty is one property of a unit, as systemctl show --value gives
// it.
func unitProperty(t *testing.T, s *sandbox.Sandbox, unit, property string) string {
	t.Helper()
	return strings.TrimSpace(sandboxtest.Systemctl(t, s, "show", "-p", property, "--value", unit))
}

// TestNewEnableInSandbox: socktui new --enable --no-start enables the
// socket (is-enabled says so) and leaves it stopped; starting
// sockets.target, as login or boot does, then starts it, and it activates
// its service; a socket created without --enable stays stopped. rm
// disables it again: no link is left.
func TestNewEnableInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	enabled, plain := newName("enabled"), newName("plain")
	t.Cleanup(func() {
		s.Systemctl(context.Background(), "stop", enabled+".socket", enabled+".service", plain+".socket", plain+".service").Run()
	})
	listen := func(port, _ int) []string { return []string{"tcp:127.0.0.1:" + strconv.Itoa(port)} }
	runNewUntilBound(t, s, bin, []string{enabled, "--format", "service", "--enable", "--no-start"}, listen, bin, "echo-server")
	runNewUntilBound(t, s, bin, []string{plain, "--format", "service", "--no-start"}, listen, bin, "echo-server")
	isEnabled := func(u string) string {
		out, _ := s.Systemctl(t.Context(), "is-enabled", u).Output() // exit 1 when disabled
		return strings.TrimSpace(string(out))
	}
	for u, want := range map[string]string{enabled + ".socket": "enabled", plain + ".socket": "disabled"} {
		if got := isEnabled(u); got != want {
			t.Errorf("%s is %q, want %s", u, got, want)
		}
		if got := serviceState(t, s, u); got != "inactive" {
			t.Errorf("%s is %s after --no-start, want inactive", u, got)
		}
	}
	link := filepath.Join(s.Home, ".config", "systemd", "user", "sockets.target.wants", enabled+".socket")
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("no link in sockets.target.wants: %v", err)
	}

	sandboxtest.Systemctl(t, s, "start", "sockets.target")
	if got := serviceState(t, s, enabled+".socket"); got != "active" {
		t.Errorf("%s.socket is %s after sockets.target started, want active", enabled, got)
	}
	if got := serviceState(t, s, plain+".socket"); got != "inactive" {
		t.Errorf("%s.socket (not enabled) is %s after sockets.target started, want inactive", plain, got)
	}
	if r := probeOne(t, s, bin, enabled); r.Kind != "echo" || r.Outcome != "ok" || !r.Cold {
		t.Errorf("probe of the enabled socket: %+v, want a cold echo ok", r)
	}

	for _, name := range []string{enabled, plain} {
		if out, code := runSocktui(t, s, bin, "rm", name); code != ExitOK {
			t.Fatalf("socktui rm %s: exit %d\n%s", name, code, out)
		}
		assertGone(t, s, name)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("the sockets.target.wants link is left after rm: %v", err)
	}
}

// TestNewPullInSandbox: --pull with an image in local storage pulls
// nothing (no registry is asked: pull when missing, as --pull=missing
// does) and creates the units; --pull with an image that is not local
// tries to pull it, says so with podman's progress, fails on podman's
// error (a registry address on loopback where nothing listens) and writes
// nothing.
func TestNewPullInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	tag := echotest.Image(t, s, bin, "newpull", echo.Subcommand)
	cfg := filepath.Join(s.Home, ".config")
	free := func() string { return "tcp:127.0.0.1:" + strconv.Itoa(sandboxtest.FreePort(t)) }

	local := newName("pull-local")
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", local+".socket", local+".service").Run() })
	stdout, stderr, code := runSocktuiErr(t, s, bin, "new", local, "--image", tag, "--pull", "--format", "service", "--no-start", "--listen", free())
	if code != ExitOK || strings.Contains(stderr, "pulling") {
		t.Errorf("--pull of a local image: exit %d, stderr %q; want 0 and no pull", code, stderr)
	}
	if !strings.Contains(stdout, "wrote ") {
		t.Errorf("--pull of a local image: stdout %q, want the files written", stdout)
	}
	if out, code := runSocktui(t, s, bin, "rm", local); code != ExitOK {
		t.Errorf("socktui rm: exit %d\n%s", code, out)
	}

	missing := fmt.Sprintf("127.0.0.1:%d/socktui-no-such-image:%d", sandboxtest.FreePort(t), os.Getpid())
	name := newName("pull-missing")
	before := snapshot(t, cfg)
	stdout, stderr, code = runSocktuiErr(t, s, bin, "new", name, "--image", missing, "--pull", "--format", "service", "--listen", free())
	t.Logf("--pull of %s: exit %d\n%s", missing, code, stderr)
	if code != ExitFailure || !strings.Contains(stderr, "pulling "+missing+"\n") || !strings.Contains(stderr, "podman pull "+missing) {
		t.Errorf("--pull of a missing image: exit %d, stderr %q; want 1, a pulling line and podman's error", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	if after := snapshot(t, cfg); after != before {
		t.Errorf("files changed:\nbefore %s\nafter  %s", before, after)
	}
	if got := unitProperty(t, s, name+".socket", "LoadState"); got != "not-found" {
		t.Errorf("%s.socket is %s, want not-found", name, got)
	}
}
