package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/sandbox/testhost"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// readmeHostsEnv names a file the two-host test writes its final screen to
// (a README section), when set.
const readmeHostsEnv = "SOCKTUI_README_HOSTS"

// quietSockets stops every socket of s but keep (the gpg-agent and
// podman sockets a fresh manager starts), so that the screen shows the
// test's units.
func quietSockets(t *testing.T, s *sandbox.Sandbox, keep ...string) {
	t.Helper()
	out := sandboxtest.Systemctl(t, s, "list-units", "--type=socket", "--state=active", "--plain", "--no-legend", "--no-pager")
	var stop []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasSuffix(f[0], ".socket") && !slices.Contains(keep, f[0]) {
			stop = append(stop, f[0])
		}
	}
	if len(stop) > 0 {
		sandboxtest.Systemctl(t, s, append([]string{"stop"}, stop...)...)
	}
}

// hostsUI starts `socktui ARGS` in tmux with the local sandbox's
// environment and extra variables, on a width x height terminal.
func (f *fixture) hostsUI(width, height int, extra []string, args ...string) *tmux {
	f.t.Helper()
	x, _ := startUI(f.t, width, height, nil, append(f.s.Env(), extra...), append([]string{f.bin}, args...)...)
	return x
}

// until polls the screen until ok holds, or fails the test with the last
// screen.
func (x *tmux) until(what string, timeout time.Duration, ok func(screen string) bool) string {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := x.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) || !x.alive() {
			x.t.Fatalf("waiting for %s; screen:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listRow is the line of the list that shows unit name on host ("local"
// for this machine), "" when none does. A row names its host in the HOST
// column, before the unit.
func listRow(screen, host, name string) string {
	re := regexp.MustCompile(`(?m)^[> ][ ✗!i]?\s*` + regexp.QuoteMeta(host) + `\s+` + regexp.QuoteMeta(name) + `\s.*$`)
	return re.FindString(screen)
}

// statusLine is the screen's status line: each host's name and
// connection state, local first ("local connected · web1 reconnecting
// (REASON) · web2 connected").
func statusLine(screen string) string {
	return regexp.MustCompile(`(?m)^local (connected|connecting|reconnecting|gone|disconnected).*$`).FindString(screen)
}

// TestUITwoHosts runs the real binary in tmux on this machine's manager (a
// sandbox) and two test hosts over real ssh, each a network namespace
// with its own sshd and user manager, named by aliases of one ssh config.
// The HOST column lists local first, then both hosts; P probes every
// host's endpoints on that host's own loopback (ok everywhere); cutting
// web1's network shows it reconnecting while web2 keeps updating (a unit
// stopped and started there by its own systemctl); once the network is
// back web1 shows connected and updates again. Every ssh process has ended
// when the UI exits.
func TestUITwoHosts(t *testing.T) {
	f := newFixture(t)
	web1, web2 := sandboxtest.StartHost(t), sandboxtest.StartHost(t)
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	// web1's datagram endpoints are probed by the socktui installed there.
	if err := os.Symlink(f.bin, filepath.Join(web1.BinDir, "socktui")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*sandbox.Sandbox{f.s, web1.Sandbox, web2.Sandbox} {
		quietSockets(t, s)
	}
	echotest.InstallBare(t, f.s, echoBin, "hello", sandboxtest.FreePort(t), true)
	echotest.InstallBare(t, web1.Sandbox, echoBin, "api", 4401, false)
	echotest.InstallBare(t, web2.Sandbox, echoBin, "blog", 4402, true)
	config := sandboxtest.SSHConfig(t, map[string]*testhost.Host{"web1": web1, "web2": web2})

	x := f.hostsUI(120, 32, []string{"SOCKTUI_SSH=ssh -F " + config}, "--host", "web1", "--host", "web2")
	rows := func(s string) bool {
		return strings.Contains(listRow(s, "local", "hello.socket"), "[idle]") &&
			strings.Contains(listRow(s, "web1", "api.socket"), "[idle]") &&
			strings.Contains(listRow(s, "web2", "blog.socket"), "[idle]")
	}
	x.until("local, web1 and web2 connected", 90*time.Second, func(s string) bool {
		return strings.HasPrefix(statusLine(s), "local connected · web1 connected · web2 connected")
	})
	// Only the listening sockets: the test's three (the others were
	// stopped before the UI started).
	x.keys("a")
	s := x.until("the stopped sockets hidden", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "Sockets 3 of ") && strings.Contains(s, "inactive hidden") && rows(s)
	})
	t.Logf("three managers:\n%s", s)
	// local first, then the hosts in the order given.
	li, ai, bi := strings.Index(s, listRow(s, "local", "hello.socket")), strings.Index(s, listRow(s, "web1", "api.socket")),
		strings.Index(s, listRow(s, "web2", "blog.socket"))
	if !(li < ai && ai < bi) {
		t.Errorf("the rows are not local, web1, web2 in that order:\n%s", s)
	}

	// P: every host's endpoints, each on its own loopback.
	x.keys("P")
	probed := func(s string) bool {
		for _, r := range []string{listRow(s, "local", "hello.socket"), listRow(s, "web1", "api.socket"), listRow(s, "web2", "blog.socket")} {
			m := regexp.MustCompile(`(\d+)/(\d+) ok`).FindStringSubmatch(r)
			if m == nil || m[1] != m[2] {
				return false
			}
		}
		return true
	}
	s = x.until("every host's endpoints probed ok", 120*time.Second, probed)
	t.Logf("after P:\n%s", s)

	// Cut web1 off: it reconnects, web2 keeps updating.
	if err := web1.LinkDown(); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	linkDown := true
	t.Cleanup(func() {
		if linkDown {
			web1.LinkUp()
		}
	})
	s = x.until("web1 reconnecting in the status line", 60*time.Second, func(s string) bool {
		return regexp.MustCompile(`web1 (reconnecting|gone)`).MatchString(statusLine(s))
	})
	t.Logf("web1 cut off, reconnecting on screen %v after the cut:\n%s", time.Since(cut).Round(time.Millisecond), s)
	if !strings.Contains(statusLine(s), "web2 connected") {
		t.Errorf("web2 not connected while only web1 was cut off: %q", statusLine(s))
	}
	serviceChanges(t, x, web2.Sandbox, "web2", "blog", "while web1 is cut off")

	// Back: web1 connected again, and it updates.
	if err := web1.LinkUp(); err != nil {
		t.Fatal(err)
	}
	linkDown = false
	up := time.Now()
	s = x.until("web1 connected again", 90*time.Second, func(s string) bool {
		st := statusLine(s)
		return strings.Contains(st, "web1 connected") && strings.Contains(st, "web2 connected")
	})
	t.Logf("web1 back, connected on screen %v after the link came up:\n%s", time.Since(up).Round(time.Millisecond), s)
	serviceChanges(t, x, web1.Sandbox, "web1", "api", "after the cut")
	// web1's row in the detail pane, then P again: new runs, ok on every
	// host.
	x.keys("j")
	x.until("web1's api.socket selected", 30*time.Second, func(s string) bool {
		return strings.HasPrefix(listRow(s, "web1", "api.socket"), ">") && strings.Contains(s, "host: web1")
	})
	before := lastProbeRuns(x.screen())
	x.keys("P")
	s = x.until("every host's endpoints probed ok again after the cut", 120*time.Second, func(s string) bool {
		runs := lastProbeRuns(s)
		for _, h := range []string{"local", "web1", "web2"} {
			if runs[h].n <= before[h].n || !runs[h].ok {
				return false
			}
		}
		return probed(s)
	})
	t.Logf("the final screen:\n%s", s)
	if path := os.Getenv(readmeHostsEnv); path != "" {
		if err := os.WriteFile(path, []byte(trimScreen(s)), 0o644); err != nil {
			t.Error(err)
		}
	}

	x.quit(60 * time.Second)
	// Each ssh process ends once socktui closed its master connection: wait
	// for that, as a condition.
	if left := testhost.WaitNoProcessesWith(config, 30*time.Second); len(left) > 0 {
		t.Fatalf("ssh processes left after the UI exited:\n%s", strings.Join(left, "\n"))
	}
}

// TestUIHostUnreachable: with no manager on this machine and one of two
// hosts refusing connections, the UI opens at once on the host that
// answers; the hint says why this machine is not shown, the status line
// says the other host's ssh error in words, and nothing is left running
// when it exits.
func TestUIHostUnreachable(t *testing.T) {
	web1 := sandboxtest.StartHost(t)
	bin := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	quietSockets(t, web1.Sandbox)
	echotest.InstallBare(t, web1.Sandbox, echoBin, "api", 4401, true)
	// "down" is web1's address on a port where nothing listens: refused.
	down := &testhost.Host{Addr: web1.Addr, Port: web1.Port + 1, Identity: web1.Identity, KnownHosts: web1.KnownHosts}
	config := sandboxtest.SSHConfig(t, map[string]*testhost.Host{"web1": web1, "down": down})

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir(),
		"SOCKTUI_SSH=ssh -F " + config}
	x, _ := startUI(t, 120, 32, nil, env, bin, "--host", "down", "--host", "web1")
	s := x.until("web1 listed, down refused in words, local not shown", 90*time.Second, func(s string) bool {
		st := regexp.MustCompile(`(?m)^down \w+.*$`).FindString(s)
		return strings.Contains(st, "web1 connected") && regexp.MustCompile(`down (reconnecting|gone)`).MatchString(st) &&
			strings.Contains(s, "this machine is not shown: no user manager answers here") &&
			strings.Contains(listRow(s, "web1", "api.socket"), "[idle]")
	})
	t.Logf("one host refusing:\n%s", s)
	if !regexp.MustCompile(`down: .*ssh: connect to host \S+ port \d+: Connection\s+refused`).MatchString(s) {
		// The status line leaves reasons out when they do not fit; the
		// timeline has it whole, wrapped.
		t.Errorf("the refused host's reason is not on screen:\n%s", s)
	}
	if listRow(s, "local", "") != "" {
		t.Errorf("a local row without a local manager:\n%s", s)
	}
	x.quit(60 * time.Second)
	if left := testhost.WaitNoProcessesWith(config, 30*time.Second); len(left) > 0 {
		t.Fatalf("ssh processes left after the UI exited:\n%s", strings.Join(left, "\n"))
	}
}

// serviceChanges stops and starts the service NAME.service (active since
// a probe) on host's manager s with that manager's own systemctl, and
// waits for the row of NAME.socket to show each change.
func serviceChanges(t *testing.T, x *tmux, s *sandbox.Sandbox, host, name, when string) {
	t.Helper()
	sandboxtest.Systemctl(t, s, "stop", name+".service")
	x.until(host+"'s "+name+".service inactive on screen "+when, 60*time.Second, func(screen string) bool {
		return strings.Contains(listRow(screen, host, name+".socket"), "inactive "+name+".service")
	})
	active := regexp.MustCompile(`\[active\].*\sactive ` + regexp.QuoteMeta(name+".service"))
	sandboxtest.Systemctl(t, s, "start", name+".service")
	x.until(host+"'s "+name+".service active again on screen "+when, 60*time.Second, func(screen string) bool {
		return active.MatchString(listRow(screen, host, name+".socket"))
	})
}

// probeRun is the last probe run of a host the timeline shows finished.
type probeRun struct {
	n  int  // its number
	ok bool // every endpoint ok
}

// lastProbeRuns reads the timeline's "probe run N finished: K/M ok"
// lines, by host ("local" for lines without a host's name).
func lastProbeRuns(screen string) map[string]probeRun {
	runs := map[string]probeRun{}
	re := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} (?:(\S+): )?probe run (\d+) finished: (\d+)/(\d+) ok`)
	for _, m := range re.FindAllStringSubmatch(screen, -1) {
		host := m[1]
		if host == "" {
			host = "local"
		}
		n, _ := strconv.Atoi(m[2])
		if n > runs[host].n {
			runs[host] = probeRun{n: n, ok: m[3] == m[4]}
		}
	}
	return runs
}

// trimScreen is a screen without trailing blanks on its lines or blank
// lines at its end.
func trimScreen(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}
