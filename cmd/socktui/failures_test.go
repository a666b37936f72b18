package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// The failure modes of issue 7, each against a private systemd user manager
// through the real socktui binary: its CLI, and its UI in tmux.

// fixture is one sandbox with the socktui binary and a client of the
// sandbox's manager for setting up units.
type fixture struct {
	t      *testing.T
	s      *sandbox.Sandbox
	bin    string
	client *systemdbus.Client
}

var sessionSeq atomic.Int64

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	env := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := systemdbus.Connect(ctx, systemdbus.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatalf("connecting to the sandbox: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &fixture{t: t, s: s, bin: bin, client: c}
}

// uniqueName is a unit base name no other test or run uses.
func uniqueName(t *testing.T, what string) string {
	return fmt.Sprintf("socktui-%s-%d-%d", what, os.Getpid(), sessionSeq.Add(1))
}

// run runs the socktui CLI against the sandbox and returns its stdout,
// stderr and exit status.
func (f *fixture) run(timeout time.Duration, args ...string) (string, string, int) {
	f.t.Helper()
	return runCLI(f.t, timeout, args, func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, f.bin, args...)
		cmd.Env = f.s.Env()
		return cmd
	})
}

// runCLI runs the socktui command that build makes for ctx (`socktui ARGS`;
// args name it in failures) within timeout, and returns its stdout, stderr
// and exit status. It fails the test when the command cannot run or does
// not finish in time.
func runCLI(t *testing.T, timeout time.Duration, args []string, build func(ctx context.Context) *exec.Cmd) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := build(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("socktui %s did not finish within %s; stderr:\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("socktui %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

// listUnit is `socktui list --all --json UNIT`, the one socket it reports.
func (f *fixture) listUnit(name string) (unit.Socket, bool) {
	f.t.Helper()
	out, errOut, code := f.run(60*time.Second, "list", "--all", "--json", name)
	if code != 0 {
		f.t.Fatalf("socktui list --json %s: exit %d\n%s", name, code, errOut)
	}
	var socks []unit.Socket
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		f.t.Fatalf("socktui list --json: %v\n%s", err, out)
	}
	for _, s := range socks {
		if s.Unit == name {
			return s, true
		}
	}
	return unit.Socket{}, false
}

// waitList polls `socktui list --json` until ok holds for unit.
func (f *fixture) waitList(name, what string, timeout time.Duration, ok func(unit.Socket) bool) unit.Socket {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s, found := f.listUnit(name)
		if found && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("waiting for %s: socktui list --json never showed it; last: %+v (found %v)", what, s, found)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// create creates a transient socket with its service and removes both when
// the test ends.
func (f *fixture) create(ts unit.SocketSpec) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.client.CreateTransientSocket(ctx, ts); err != nil {
		f.t.Fatalf("creating %s: %v", ts.Name, err)
	}
	svc := ts.ServiceName()
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := time.Now()
		if err := f.client.RemoveTransient(ctx, ts.Name, svc); err != nil {
			f.t.Logf("removing %s after %s: %v", ts.Name, time.Since(start), err)
			jobs, _ := f.s.Systemctl(context.Background(), "list-jobs").CombinedOutput()
			st, _ := f.s.Systemctl(context.Background(), "status", "--no-pager", ts.Name, svc).CombinedOutput()
			f.t.Logf("jobs:\n%s\nstatus:\n%s", jobs, st)
		}
	})
}

// installUnits writes name.socket and name.service into the sandbox's user
// unit folder, reloads the manager and starts the socket; the units are
// stopped and removed when the test ends.
func (f *fixture) installUnits(name, socket, service string) {
	f.t.Helper()
	dir := filepath.Join(f.s.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	svcFile := name + ".service"
	for file, text := range map[string]string{name + ".socket": socket, svcFile: service} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	f.systemctl("daemon-reload")
	f.systemctl("start", name+".socket")
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		f.s.Systemctl(ctx, "stop", name+".socket", name+".service").Run()
		f.s.Systemctl(ctx, "reset-failed", name+".socket", name+".service").Run()
		os.Remove(filepath.Join(dir, name+".socket"))
		os.Remove(filepath.Join(dir, svcFile))
		f.s.Systemctl(ctx, "daemon-reload").Run()
	})
}

// systemctl runs systemctl --user against the sandbox and fails the test
// when it fails.
func (f *fixture) systemctl(args ...string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := f.s.Systemctl(ctx, args...).CombinedOutput(); err != nil {
		f.t.Fatalf("systemctl --user %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ui starts `socktui` (the UI) in a tmux session against the sandbox.
func (f *fixture) ui(args ...string) *tmux {
	f.t.Helper()
	x, _ := startUI(f.t, 150, 45, nil, f.s.Env(), append([]string{f.bin}, args...)...)
	return x
}

// poke connects to a TCP address and drops the connection, to trigger
// activation.
func poke(addr string) {
	c, err := netDial(addr)
	if err == nil {
		c.Close()
	}
}

// TestFailingServiceEndToEnd is failure mode 1: a socket whose service exits
// 1. The probe fails; list and UI show the service failed
// with its Result, then the socket failed with its start-limit reason; R in
// the UI and `socktui reset-failed` bring it back to listening.
func TestFailingServiceEndToEnd(t *testing.T) {
	f := newFixture(t)
	name := uniqueName(t, "false")
	sock := name + ".socket"
	port := sandboxtest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Unit files (transient sockets coming back are systemdbus's
	// TestReviveTransientSocket).
	f.installUnits(name, fmt.Sprintf("[Socket]\nListenStream=%s\n", addr),
		"[Service]\nExecStart=/bin/sh -c 'exit 1'\n")
	f.waitList(sock, "the socket listening", 30*time.Second, func(s unit.Socket) bool { return s.State == unit.StateIdle })

	x := f.ui()
	x.waitFor("the unit idle in the UI", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[idle\]`))
	x.filter(name)

	// One probe: the service fails, so the probe cannot end ok. How long
	// a probe may take is the prober's tests' and benchmarks' business; f.run
	// only guards against a hang.
	const timeout, cold = 1 * time.Second, 3 * time.Second
	start := time.Now()
	out, errOut, code := f.run(60*time.Second, "probe", "--json", "--kind", "echo", "--timeout", timeout.String(), "--cold-timeout", cold.String(), sock)
	took := time.Since(start)
	if code != 1 {
		t.Errorf("socktui probe of a failing service: exit %d, want 1\n%s%s", code, out, errOut)
	}
	var results []probe.Result
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != 1 {
		t.Fatalf("socktui probe --json: %v, %d results\n%s", err, len(results), out)
	}
	// The probe started the service and saw it fail: failed, with the
	// service's Result (or the socket's start limit).
	if r := results[0]; r.Outcome != probe.Failed || !regexp.MustCompile(`exit-code|limit-hit`).MatchString(r.Error) {
		t.Errorf("probe of a failing service: outcome %q (%s), want failed with the reason", r.Outcome, r.Error)
	}
	t.Logf("probe of a failing service: %s %q in %s", results[0].Outcome, results[0].Error, took)

	// The service failed with its Result, or the socket already gave up.
	// A listing reads the state and the Result in one round, and the socket
	// may start the service again in between (Result then reads success):
	// wait for a listing that saw the failure whole.
	failed := f.waitList(sock, "the unit failed, with the service's Result exit-code or the socket's start limit", 60*time.Second,
		func(s unit.Socket) bool {
			if s.State != unit.StateFailed {
				return false
			}
			return s.ActiveState == unit.Failed ||
				len(s.Services) == 1 && s.Services[0].ActiveState == unit.Failed && s.Services[0].Result == "exit-code"
		})
	if failed.Reason == "" {
		t.Errorf("a failed socket with no reason: %+v", failed)
	}
	x.waitFor("the unit and its service failed in the UI", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[failed\]`),
		regexp.MustCompile(`service: `+regexp.QuoteMeta(name+".service")+` failed \(failed\) .*result (exit-code|start-limit-hit)`))

	// A probe from the UI agrees with the unit's state, and no ok stands
	// beside [failed]: the activation it triggers fails or, when the
	// socket's retriggers already hit the service's start limit (the
	// first probe's pending connection starts the service again and again;
	// how fast is the machine's business), the socket no longer listens
	// and the probe is refused beside the socket's start-limit result.
	x.keys("p")
	addrRE := regexp.QuoteMeta(addr)
	x.waitFor("the UI's probe failed beside the failed unit", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[failed\].* 0/1 ok`),
		regexp.MustCompile(`(?m)^ +failed +.*tcp4 `+addrRE+`  .*(exit-code|limit-hit)|`+
			`(?s)result service-start-limit-hit.*\n +refused +.*tcp4 `+addrRE+`  connect: connection refused`))

	// Repeated activation: the socket itself fails with a start-limit result.
	limitRE := regexp.MustCompile(`trigger-limit-hit|service-start-limit-hit`)
	deadline := time.Now().Add(90 * time.Second)
	for {
		poke(addr)
		s, _ := f.listUnit(sock)
		if s.ActiveState == "failed" {
			if !limitRE.MatchString(s.Result) || !limitRE.MatchString(s.Reason) {
				t.Errorf("socket failed with result %q reason %q, want a start limit", s.Result, s.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the socket never failed after repeated activation; last %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	table, _, code := f.run(60*time.Second, "list", "--all", sock)
	if code != 0 || !regexp.MustCompile(regexp.QuoteMeta(sock)+` +failed \(socket: (trigger-limit-hit|service-start-limit-hit)\)`).MatchString(table) {
		t.Errorf("socktui list does not show the start limit (exit %d):\n%s", code, table)
	}
	x.waitFor("the start limit in the UI", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[failed\]`),
		regexp.MustCompile(`reason: socket: (trigger-limit-hit|service-start-limit-hit)`))

	// R in the UI brings it back to listening.
	x.keys("R")
	x.waitFor("the unit idle again after R", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[idle\]`))
	f.waitList(sock, "the socket listening after R", 30*time.Second, func(s unit.Socket) bool {
		return s.ActiveState == "active" && s.SubState == "listening"
	})

	// Fail it again, then `socktui reset-failed`.
	deadline = time.Now().Add(90 * time.Second)
	for {
		poke(addr)
		if s, _ := f.listUnit(sock); s.ActiveState == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the socket never failed again after R")
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.waitFor("the unit failed again in the UI", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[failed\]`))
	if out, errOut, code := f.run(60*time.Second, "reset-failed", sock); code != 0 {
		t.Fatalf("socktui reset-failed: exit %d\n%s%s", code, out, errOut)
	}
	// reset-failed clears the failure and starts the failed socket again.
	f.waitList(sock, "the socket listening after reset-failed", 30*time.Second, func(s unit.Socket) bool {
		return s.ActiveState == "active" && s.SubState == "listening"
	})
	x.waitFor("the unit idle in the UI after reset-failed", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[idle\]`))
	x.quit(30 * time.Second)
}

func netDial(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 2*time.Second) }

// TestSilentAndClosingServices is failure mode 3: a service that accepts
// and never answers, and one that closes every connection at once. Their
// probes end as timeout and error, in the CLI's probe of every unit and in
// the UI. (That a timeout ends a probe on time is probe's TestProbeTimeout;
// what it costs, probe's and cli's benchmarks.)
func TestSilentAndClosingServices(t *testing.T) {
	f := newFixture(t)
	silent := uniqueName(t, "silent")
	closing := uniqueName(t, "closing")
	silentAddr := fmt.Sprintf("127.0.0.1:%d", sandboxtest.FreePort(t))
	closingAddr := fmt.Sprintf("[::1]:%d", sandboxtest.FreePort(t))
	// The silent service holds the listening socket and never accepts: the
	// kernel completes the handshake into the backlog, and nothing answers.
	f.create(unit.SocketSpec{
		Name:    silent + ".socket",
		Listen:  []unit.Listen{{Type: "Stream", Address: silentAddr}},
		Service: unit.ServiceSpec{ExecStart: []string{"/bin/sleep", "infinity"}},
	})
	// The closing one is the echo server with a read timeout so short that
	// it closes every connection before reading a byte.
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	f.create(unit.SocketSpec{
		Name:    closing + ".socket",
		Listen:  []unit.Listen{{Type: "Stream", Address: closingAddr}},
		Service: unit.ServiceSpec{ExecStart: []string{echoBin, "--read-timeout", "1ns"}},
	})
	f.waitList(silent+".socket", "the silent socket listening", 30*time.Second, func(s unit.Socket) bool { return s.State == unit.StateIdle })
	f.waitList(closing+".socket", "the closing socket listening", 30*time.Second, func(s unit.Socket) bool { return s.State == unit.StateIdle })

	const timeout, cold = 2 * time.Second, 5 * time.Second
	// Every unit the sandbox has, twice over: the first run activates the
	// silent service (cold), the second finds it running (warm).
	for _, run := range []string{"cold", "warm"} {
		start := time.Now()
		out, errOut, code := f.run(120*time.Second, "probe", "--json", "--kind", "echo",
			"--timeout", timeout.String(), "--cold-timeout", cold.String())
		took := time.Since(start)
		if code != 1 {
			t.Errorf("%s: socktui probe with failing units: exit %d, want 1\n%s", run, code, errOut)
		}
		var results []probe.Result
		if err := json.Unmarshal([]byte(out), &results); err != nil {
			t.Fatalf("%s: socktui probe --json: %v\n%s\n%s", run, err, out, errOut)
		}
		var gotSilent, gotClosing bool
		for _, r := range results {
			switch r.Unit {
			case silent + ".socket":
				gotSilent = true
				if r.Outcome != probe.Timeout {
					t.Errorf("%s: silent service: %s (%s), want timeout", run, r.Outcome, r.Error)
				}
				// The timeout that ended it is the one for its kind of
				// probe: cold on the first run, warm on the second.
				bound := timeout
				if r.Cold {
					bound = cold
				}
				if !strings.Contains(r.Error, "within "+bound.String()) {
					t.Errorf("%s: silent service (cold %v): error %q, want it ended by its %s timeout", run, r.Cold, r.Error, bound)
				}
				t.Logf("%s: silent service: %s (%s) in %.1f ms", run, r.Outcome, r.Error, r.RTTms)
			case closing + ".socket":
				gotClosing = true
				if r.Outcome != probe.Error {
					t.Errorf("%s: closing service: %s (%s), want error", run, r.Outcome, r.Error)
				}
				t.Logf("%s: closing service: %s (%s) in %.1f ms", run, r.Outcome, r.Error, r.RTTms)
			}
		}
		if !gotSilent || !gotClosing {
			t.Errorf("%s: results miss the units (silent %v, closing %v):\n%s", run, gotSilent, gotClosing, out)
		}
		t.Logf("%s: socktui probe of %d endpoints in %s", run, len(results), took)
	}

	// The UI says the same on screen, with echo probes: a connect probe,
	// what auto picks for these services, cannot notice the silence.
	x := f.ui("--kind", "echo")
	x.waitFor("the units in the UI", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(silent+".socket")),
		regexp.MustCompile(regexp.QuoteMeta(closing+".socket")))
	x.filter(silent)
	x.keys("p")
	x.waitFor("the silent service's timeout on screen", 60*time.Second,
		regexp.MustCompile(`(?m)^ +timeout +.*tcp4 `+regexp.QuoteMeta(silentAddr)))
	x.clearFilter()
	x.filter(closing)
	x.keys("p")
	x.waitFor("the closing service's error on screen", 60*time.Second,
		regexp.MustCompile(`(?m)^ +error +.*tcp6 `+regexp.QuoteMeta(closingAddr)))
	x.quit(30 * time.Second)
}

// TestUnitAddedAndRemovedLive is failure mode 5: a transient socket created
// while the UI watches appears on screen, and disappears once stopped,
// without a key press.
func TestUnitAddedAndRemovedLive(t *testing.T) {
	f := newFixture(t)
	x := f.ui()
	x.waitFor("the UI connected", 60*time.Second, regexp.MustCompile(`connected`), regexp.MustCompile(`\.socket`))

	name := uniqueName(t, "live")
	sock := name + ".socket"
	ts := unit.SocketSpec{
		Name:    sock,
		Listen:  []unit.Listen{{Type: "Stream", Address: fmt.Sprintf("127.0.0.1:%d", sandboxtest.FreePort(t))}},
		Service: unit.ServiceSpec{ExecStart: []string{"/bin/sleep", "infinity"}},
	}
	f.create(ts)
	row := regexp.MustCompile(regexp.QuoteMeta(sock) + ` +\[idle\]`)
	x.waitFor("the new unit on screen", 60*time.Second, row)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := f.client.RemoveTransient(ctx, sock, name+".service"); err != nil {
		t.Fatalf("stopping %s: %v", sock, err)
	}
	x.waitGone("the unit gone from the list", 60*time.Second, regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[`))
	x.waitFor("its removal in the timeline", 30*time.Second, regexp.MustCompile(regexp.QuoteMeta(sock)+` removed`))
	x.quit(30 * time.Second)
}

// managerPID is the PID of the sandbox's systemd --user.
func (f *fixture) managerPID() int {
	f.t.Helper()
	for _, pid := range sandbox.Processes(f.s.Dir) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(b)) == "systemd" {
			return pid
		}
	}
	f.t.Fatalf("no systemd process among the sandbox's %v", sandbox.Processes(f.s.Dir))
	return 0
}

// TestManagerReexecReloadKill is failure mode 4: the manager is re-executed,
// reloaded and finally killed while the UI runs. The UI recovers by itself
// from the first two (units listed, later changes shown) and, after the
// kill, says the manager is gone and still quits on q.
func TestManagerReexecReloadKill(t *testing.T) {
	f := newFixture(t)
	name := uniqueName(t, "mgr")
	sock := name + ".socket"
	f.installUnits(name, fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t)),
		"[Service]\nExecStart=/bin/sleep infinity\n")
	x := f.ui()
	row := func(state string) *regexp.Regexp {
		return regexp.MustCompile(regexp.QuoteMeta(sock) + ` +\[` + state + `\]`)
	}
	x.waitFor("the unit idle", 60*time.Second, row("idle"))

	for i, step := range []struct{ verb, timeline string }{
		{"daemon-reexec", `disconnected from the manager`},
		{"daemon-reload", `reloaded: \d+ socket units`},
	} {
		f.systemctl(step.verb)
		x.waitFor("the UI after "+step.verb, 60*time.Second,
			regexp.MustCompile(step.timeline),
			regexp.MustCompile(`manager: \S+ · connected`),
			row("idle"))
		// A change after the recovery still reaches the screen.
		f.systemctl("stop", sock)
		x.waitFor(fmt.Sprintf("the unit stopped after %s (%d)", step.verb, i), 60*time.Second, row("stopped"))
		f.systemctl("start", sock)
		x.waitFor(fmt.Sprintf("the unit idle again after %s (%d)", step.verb, i), 60*time.Second, row("idle"))
	}
	t.Logf("after re-exec and reload:\n%s", x.screen())

	pid := f.managerPID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the manager (pid %d): %v", pid, err)
	}
	// Reconnecting first, then, when no manager comes back, gone.
	x.waitFor("the status line saying reconnecting", 60*time.Second,
		regexp.MustCompile(`manager: \S+ · (reconnecting|the manager is gone)`))
	screen := x.waitFor("the UI saying the manager is gone", 60*time.Second,
		regexp.MustCompile(`manager: \S+ · the manager is gone \(retrying\) · error: no answer for .*q quits`),
		regexp.MustCompile(`the manager is gone: no answer`),
		regexp.MustCompile(regexp.QuoteMeta(sock)))
	t.Logf("after the kill:\n%s", screen)
	// It keeps running until the user quits.
	if !x.alive() {
		t.Fatal("socktui ended after the manager was killed")
	}
	x.quit(30 * time.Second)
}

// phrase is a regexp matching words as the UI may wrap them: any run of
// white space between them.
func phrase(words string) string {
	parts := strings.Fields(words)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, `\s+`)
}

// TestMissingImageEndToEnd is failure mode 2: the echo workload in
// container mode with an image that is not in local storage (--pull=never).
// The probe fails, and list (table and JSON) and the UI
// say in words that the image is missing, also once the socket has given
// up; reset-failed brings the socket back to listening.
func TestMissingImageEndToEnd(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	f := newFixture(t)
	podman, _ := exec.LookPath("podman")
	const image = "localhost/socktui-no-such-image:latest"
	if out, err := exec.Command(podman, "image", "exists", image).CombinedOutput(); err == nil {
		t.Fatalf("image %s exists; this test needs it missing (%s)", image, out)
	}
	name := uniqueName(t, "noimage")
	sock := name + ".socket"
	port := sandboxtest.FreePort(t)
	u, err := echo.Spec{Name: name, Mode: echo.ModeContainer, Port: port, Image: image, Podman: podman,
		RuntimeDir: f.s.RuntimeDir}.Units()
	if err != nil {
		t.Fatal(err)
	}
	// Unit files rather than transient units, so that the socket outlives
	// reset-failed.
	f.installUnits(name, u.SocketFile(), u.ServiceFile())
	t.Cleanup(func() { exec.Command(podman, "rm", "-f", "--ignore", name).Run() })
	f.waitList(sock, "the socket listening", 30*time.Second, func(s unit.Socket) bool { return s.State == unit.StateIdle })

	x := f.ui()
	x.waitFor("the unit idle in the UI", 60*time.Second, regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[idle\]`))
	x.filter(name)

	const timeout, cold = 1 * time.Second, 5 * time.Second
	start := time.Now()
	out, errOut, code := f.run(120*time.Second, "probe", "--json", "--kind", "echo", "--timeout", timeout.String(), "--cold-timeout", cold.String(), sock)
	took := time.Since(start)
	var results []probe.Result
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) == 0 {
		t.Fatalf("socktui probe --json (exit %d): %v\n%s\n%s", code, err, out, errOut)
	}
	if code != 1 {
		t.Errorf("socktui probe of a container with no image: exit %d, want 1", code)
	}
	for _, r := range results {
		if r.Outcome == probe.OK || r.Outcome == probe.Unsupported {
			t.Errorf("probe %s %s: %s, want a failure", r.Type, r.Address, r.Outcome)
		}
	}
	t.Logf("probe of a container with no image: %s %q in %s", results[0].Outcome, results[0].Error, took)

	missing := regexp.MustCompile(`image ` + regexp.QuoteMeta(image) + ` is not in local storage and the service runs it with --pull=never`)
	s := f.waitList(sock, "the service failed with the reason", 60*time.Second, func(s unit.Socket) bool {
		return s.State == unit.StateFailed && len(s.Services) == 1 && s.Services[0].Reason != ""
	})
	if svc := s.Services[0]; svc.ActiveState != "failed" || svc.Result != "exit-code" || !missing.MatchString(svc.Reason) {
		t.Errorf("service in list --json: %+v, want failed, exit-code, image missing", svc)
	}
	if !missing.MatchString(s.Reason) {
		t.Errorf("socket reason %q does not say the image is missing", s.Reason)
	}
	// Connections still queued on the socket activate the service again
	// (until the trigger limit, below), so the table may catch it
	// activating between two failures: wait for a listing of the failure.
	for deadline := time.Now().Add(60 * time.Second); ; {
		table, _, _ := f.run(60*time.Second, "list", "--all", sock)
		if missing.MatchString(table) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("socktui list does not say the image is missing:\n%s", table)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	x.waitFor("the reason in the UI", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[failed\]`),
		regexp.MustCompile(`(?s)reason: .*`+phrase("image "+image+" is not in local storage and the service runs it with --pull=never")))

	// Repeated activation: the socket gives up, and still says why.
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(120 * time.Second)
	for {
		poke(addr)
		s, _ = f.listUnit(sock)
		if s.ActiveState == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the socket never failed after repeated activation; last %+v", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !regexp.MustCompile(`^socket: (trigger-limit-hit|service-start-limit-hit)`).MatchString(s.Reason) || !missing.MatchString(s.Reason) {
		t.Errorf("failed socket's reason %q, want the start limit and the missing image", s.Reason)
	}
	x.waitFor("the start limit and the image in the UI", 60*time.Second,
		regexp.MustCompile(`(?s)reason: socket: (trigger-limit-hit|service-start-limit-hit); service .*`+phrase("image "+image+" is not in local storage")))

	if out, errOut, code := f.run(60*time.Second, "reset-failed", sock); code != 0 {
		t.Fatalf("socktui reset-failed: exit %d\n%s%s", code, out, errOut)
	}
	f.waitList(sock, "the socket listening after reset-failed", 30*time.Second, func(s unit.Socket) bool {
		return s.ActiveState == "active" && s.SubState == "listening" && s.State == unit.StateIdle
	})
	x.waitFor("the unit idle in the UI after reset-failed", 60*time.Second,
		regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[idle\]`))
	x.quit(30 * time.Second)
	if out, _ := exec.Command(podman, "ps", "-a", "--filter", "name=^"+name+"$", "--format", "{{.Names}}").CombinedOutput(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("container %s left behind: %s", name, out)
	}
}
