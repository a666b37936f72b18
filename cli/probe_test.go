package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/cputime"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

func testEnv() (*Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}, &out, &errOut
}

// parseProbeArgs runs `socktui probe ARGS` through the command line's
// parsing and checks, and returns the options runProbe would get.
func parseProbeArgs(env *Env, args []string) (probeOptions, error) {
	var got probeOptions
	g := &globals{env: env}
	line := append([]string{"probe"}, args...)
	root := newBareRoot(g, line)
	root.AddCommand(newProbeCommand(g, func(_ context.Context, opts probeOptions) error { got = opts; return nil }))
	root.SetArgs(line)
	_, err := root.ExecuteC()
	return got, err
}

func TestParseProbeArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    probeOptions
		wantErr bool
	}{
		{nil, probeOptions{kind: unit.KindAuto, timeout: probe.DefaultTimeout, coldTimeout: probe.DefaultColdTimeout, settle: probe.DefaultSettle}, false},
		{[]string{"echo", "web.socket", "--json", "--kind", "http", "--timeout", "5s"},
			probeOptions{units: []string{"echo.socket", "web.socket"}, kind: unit.KindHTTP, timeout: 5 * time.Second, coldTimeout: probe.DefaultColdTimeout, settle: probe.DefaultSettle, json: true}, false},
		{[]string{"--cold-timeout=1m", "echo*"},
			probeOptions{units: []string{"echo*"}, kind: unit.KindAuto, timeout: probe.DefaultTimeout, coldTimeout: time.Minute, settle: probe.DefaultSettle}, false},
		{[]string{"--kind", "ping"}, probeOptions{}, true},
		{[]string{"--timeout", "0s"}, probeOptions{}, true},
		{[]string{"--settle", "0s"}, probeOptions{}, true},
		{[]string{"--settle", "250ms"}, probeOptions{kind: unit.KindAuto, timeout: probe.DefaultTimeout, coldTimeout: probe.DefaultColdTimeout, settle: 250 * time.Millisecond}, false},
		{[]string{"--timeout", "soon"}, probeOptions{}, true},
		{[]string{"--system", "--json"}, probeOptions{kind: unit.KindAuto, timeout: probe.DefaultTimeout, coldTimeout: probe.DefaultColdTimeout, settle: probe.DefaultSettle, json: true, system: true}, false},
		{[]string{"--bogus"}, probeOptions{}, true},
	}
	for _, tt := range tests {
		env, _, _ := testEnv()
		got, err := parseProbeArgs(env, tt.args)
		var ue *UsageError
		if tt.wantErr {
			if !errors.As(err, &ue) {
				t.Errorf("parseProbeArgs(%q) error = %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseProbeArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestProbeTargets(t *testing.T) {
	socks := []unit.Socket{
		{Unit: "a.socket", State: unit.StateIdle, Listen: []unit.Listen{{Type: "Stream", Address: "127.0.0.1:1"}, {Type: "Datagram", Address: "/run/a"}},
			Services: []unit.Service{{Unit: "a.service", ActiveState: "inactive", Exec: []string{"/usr/sbin/lighttpd", "-D"}}}},
		{Unit: "b.socket", State: unit.StateActive, Listen: []unit.Listen{{Type: "Stream", Address: "[::1]:2"}},
			Services: []unit.Service{{Unit: "b.service", ActiveState: "active"}}},
		{Unit: "c.socket", State: unit.StateStopped, Listen: []unit.Listen{{Type: "Stream", Address: "3"}}},
	}
	got := probeTargets(socks, unit.KindAuto, false)
	want := []unit.Target{
		{Unit: "a.socket", Type: "Stream", Address: "127.0.0.1:1", Kind: unit.KindAuto, Cold: true, Service: "a.service", Exec: []string{"/usr/sbin/lighttpd", "-D"}},
		{Unit: "a.socket", Type: "Datagram", Address: "/run/a", Kind: unit.KindAuto, Cold: true, Service: "a.service", Exec: []string{"/usr/sbin/lighttpd", "-D"}},
		{Unit: "b.socket", Type: "Stream", Address: "[::1]:2", Kind: unit.KindAuto, Cold: false, Service: "b.service"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("probeTargets = %+v\nwant %+v", got, want)
	}
	// Named units are probed even when stopped, with the kind asked for.
	got = probeTargets(socks[2:], unit.KindEcho, true)
	want = []unit.Target{{Unit: "c.socket", Type: "Stream", Address: "3", Kind: unit.KindEcho, Cold: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("probeTargets(explicit) = %+v, want %+v", got, want)
	}
}

var sampleResults = []probe.Result{
	{Unit: "echo.socket", Type: "Stream", Address: "127.0.0.1:3000", Network: unit.TCP4, Kind: unit.KindEcho, Outcome: probe.OK,
		RTT: 171400 * time.Microsecond, RTTms: 171.4, Bytes: 41, Cold: true},
	{Unit: "echo.socket", Type: "Datagram", Address: "[::1]:3000", Network: unit.UDP6, Kind: unit.KindEcho, Outcome: probe.Timeout,
		RTT: 2 * time.Second, RTTms: 2000, Error: "reply: no answer within 2s"},
	{Unit: "echo.socket", Type: "Stream", Address: "vsock:4294967295:3000", Network: unit.Vsock, Kind: unit.KindEcho, Outcome: probe.Unsupported,
		RTT: 40 * time.Microsecond, RTTms: 0.04, Error: "vsock unsupported on this host"},
	{Unit: "podman.socket", Type: "Stream", Address: "/run/podman/podman.sock", Network: unit.Unix, Kind: unit.KindHTTP, Outcome: probe.OK,
		RTT: 1250 * time.Microsecond, RTTms: 1.25, Status: "HTTP/1.1 200 OK"},
	{Unit: "evil\x1b[2J.socket", Type: "FIFO", Address: "/run/f\tx", Kind: unit.KindConnect, Outcome: probe.Unsupported,
		Error: "FIFO is not a socket a probe can connect to"},
}

func TestWriteProbeTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeProbeTable(&b, sampleResults); err != nil {
		t.Fatal(err)
	}
	want := `UNIT                ENDPOINT                 NETWORK  KIND     OUTCOME      RTT      START  DETAIL
echo.socket         127.0.0.1:3000           tcp4     echo     ok           171 ms   cold
echo.socket         [::1]:3000               udp6     echo     timeout      2 s      warm   reply: no answer within 2s
echo.socket         vsock:4294967295:3000    vsock    echo     unsupported  -        warm   vsock unsupported on this host
podman.socket       /run/podman/podman.sock  unix     http     ok           1.25 ms  warm   HTTP/1.1 200 OK
evil\x1b[2J.socket  /run/f\tx                -        connect  unsupported  -        warm   FIFO is not a socket a probe can connect to
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteProbeJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeProbeJSON(&b, sampleResults[:2]); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, b.String())
	}
	want := []map[string]any{
		{"unit": "echo.socket", "type": "Stream", "address": "127.0.0.1:3000", "network": "tcp4", "kind": "echo",
			"outcome": "ok", "rttMs": 171.4, "cold": true, "error": ""},
		{"unit": "echo.socket", "type": "Datagram", "address": "[::1]:3000", "network": "udp6", "kind": "echo",
			"outcome": "timeout", "rttMs": 2000.0, "cold": false, "error": "reply: no answer within 2s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON = %v\nwant %v", got, want)
	}
	b.Reset()
	if err := writeProbeJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no results: %q, %v; want []", b.String(), err)
	}
}

// fakeProber is a prober whose ProbeAll is a function.
type fakeProber struct {
	probeAll func(ctx context.Context, ts []unit.Target) <-chan probe.Result
}

func (f *fakeProber) ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result {
	return f.probeAll(ctx, ts)
}

var _ prober = (*fakeProber)(nil)

// TestProbeUnits probes real loopback listeners named by a fake unit list.
func TestProbeUnits(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	dead, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	good := unit.Socket{Unit: "socktui-echo-x.socket", State: unit.StateIdle,
		Listen: []unit.Listen{{Type: "Stream", Address: ln.Addr().String()}, {Type: "Stream", Address: "vsock:4294967295:3000"}}}
	bad := unit.Socket{Unit: "bad.socket", State: unit.StateIdle,
		Listen: []unit.Listen{{Type: "Stream", Address: deadAddr}}}
	list := func(socks ...unit.Socket) listSocketsFunc {
		return func(ctx context.Context, patterns []string) ([]unit.Socket, error) { return socks, nil }
	}
	p := &probe.Prober{Timeout: 10 * time.Second}

	env, out, _ := testEnv()
	err = probeUnits(context.Background(), env, probeOptions{kind: unit.KindAuto, json: true}, list(good), p)
	if err != nil {
		t.Fatalf("probeUnits(all ok) = %v\n%s", err, out)
	}
	var rs []jsonResult
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Outcome != "ok" || rs[0].Kind != "echo" || !rs[0].Cold || rs[1].Outcome != "unsupported" {
		t.Errorf("results: %+v", rs)
	}

	env, out, _ = testEnv()
	err = probeUnits(context.Background(), env, probeOptions{kind: unit.KindConnect}, list(good, bad), p)
	if !errors.Is(err, errSilent) || report(env, "probe", err) != ExitFailure {
		t.Errorf("probeUnits(one refused) = %v, want errSilent (exit 1)", err)
	}
	if !strings.Contains(out.String(), "refused") || !strings.Contains(out.String(), "bad.socket") {
		t.Errorf("table does not show the refusal:\n%s", out)
	}

	env, _, _ = testEnv()
	err = probeUnits(context.Background(), env, probeOptions{units: []string{"nope.socket"}}, list(good), p)
	if err == nil || !strings.Contains(err.Error(), "nope.socket") {
		t.Errorf("probeUnits(unknown unit) = %v, want an error naming it", err)
	}

	env, _, errOut := testEnv()
	fp := &fakeProber{probeAll: func(context.Context, []unit.Target) <-chan probe.Result {
		t.Error("ProbeAll called with nothing to probe")
		return nil
	}}
	if err := probeUnits(context.Background(), env, probeOptions{}, list(), fp); err != nil || !strings.Contains(errOut.String(), "no listening socket unit") {
		t.Errorf("probeUnits(no units) = %v, stderr %q", err, errOut)
	}
}

// TestProbeEchoInSandbox runs the real socktui binary against the bundled
// echo workload in a private systemd user manager, in both modes: the first
// `socktui probe --json` finds the service inactive and reports every
// endpoint cold, the second warm; tcp4, tcp6, udp4, udp6, unix stream and
// unix seqpacket answer ok, vsock is unsupported on hosts without a
// loopback transport, and socat agrees with every outcome.
func TestProbeEchoInSandbox(t *testing.T) {
	sandboxtest.Need(t, "socat", "socat")
	sandboxtest.OnStacks(t, testProbeEchoInSandbox)
}

func testProbeEchoInSandbox(t *testing.T, s *sandbox.Sandbox) {
	socktui := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")

	t.Run("bare", func(t *testing.T) {
		testProbeEcho(t, s, socktui, echo.Spec{Mode: echo.ModeBare, Binary: echoBin})
	})
	t.Run("container", func(t *testing.T) {
		tag := echotest.Image(t, s, echoBin, "probetest")
		testProbeEcho(t, s, socktui, echo.Spec{Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir})
	})
}

func testProbeEcho(t *testing.T, s *sandbox.Sandbox, socktui string, spec echo.Spec) {
	spec.Name = fmt.Sprintf("socktui-echo-probe-%s-%d", spec.Mode, os.Getpid())
	spec.UnixDir = filepath.Join(s.Home, "probe-"+string(spec.Mode))
	if spec.Mode == echo.ModeContainer {
		echotest.RemoveContainerAtCleanup(t, s, spec.Name)
	}
	// A port found free can be taken by a test of another package before
	// systemd binds it: then the socket fails to start, and the test tries
	// again on other ports.
	var u unit.SocketSpec
	for attempt := 1; ; attempt++ {
		spec.Port = sandboxtest.FreePort(t)
		spec.VsockPort = freeVsockPort(t)
		var err error
		if u, err = spec.Units(); err != nil {
			t.Fatal(err)
		}
		sandboxtest.InstallUnits(t, s, map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()})
		out, err := s.Systemctl(context.Background(), "start", u.Name).CombinedOutput()
		if err == nil {
			break
		}
		status, _ := s.Systemctl(context.Background(), "status", "--no-pager", "-n", "20", u.Name).CombinedOutput()
		if attempt == 3 {
			t.Fatalf("starting %s: %v\n%s\n%s", u.Name, err, out, status)
		}
		t.Logf("starting %s on port %d, vsock port %d: %v; trying other ports\n%s", u.Name, spec.Port, spec.VsockPort, err, status)
		_ = s.Systemctl(context.Background(), "reset-failed", u.Name).Run()
	}
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })
	if state := serviceState(t, s, u.ServiceName()); state != "inactive" {
		t.Fatalf("%s is %s before any probe, want inactive", u.ServiceName(), state)
	}

	for run, cold := range []bool{true, false} {
		args := []string{"probe", "--json", "--timeout", "3s", "--cold-timeout", "15s", strings.TrimSuffix(u.Name, ".socket")}
		out, code := runSocktui(t, s, socktui, args...)
		var rs []jsonResult
		if err := json.Unmarshal(out, &rs); err != nil {
			t.Fatalf("run %d: %v in\n%s", run, err, out)
		}
		for _, r := range rs {
			t.Logf("%s run %d (exit %d): %-10s %-11s %8.3fms cold=%v %s", spec.Mode, run, code, r.Network, r.Outcome, r.RTTms, r.Cold, r.Error)
		}
		if len(rs) != len(u.Listen) {
			t.Fatalf("run %d: %d results for %d listeners", run, len(rs), len(u.Listen))
		}
		failed := false
		for i, r := range rs {
			l := u.Listen[i]
			if r.Unit != u.Name || r.Type != l.Type || r.Kind != "echo" || r.Cold != cold {
				t.Errorf("run %d: result %+v for %s %s, want unit %s, kind echo, cold %v", run, r, l.Type, l.Address, u.Name, cold)
			}
			// Even in a container (another network and mount namespace),
			// the unix datagram echo reaches the client: its address is
			// abstract, looked up in the namespace of the socket, which
			// systemd created.
			want := "ok"
			if r.Network == "vsock" {
				want = "unsupported"
			}
			if r.Outcome != want {
				t.Errorf("run %d: %s %s (%s) = %s %q, want %s", run, l.Type, l.Address, r.Network, r.Outcome, r.Error, want)
			}
			failed = failed || (r.Outcome != "ok" && r.Outcome != "unsupported")
		}
		networks := map[string]bool{}
		for _, r := range rs {
			if r.Outcome == "ok" {
				networks[r.Network] = true
			}
		}
		for _, n := range []string{"tcp4", "tcp6", "udp4", "udp6", "unix", "unixpacket"} {
			if !networks[n] {
				t.Errorf("run %d: no ok result on %s", run, n)
			}
		}
		if wantCode := map[bool]int{false: ExitOK, true: ExitFailure}[failed]; code != wantCode {
			t.Errorf("run %d: exit status %d, want %d", run, code, wantCode)
		}
		if cold {
			if state := serviceState(t, s, u.ServiceName()); state != "active" {
				t.Fatalf("%s is %s after the first probe, want active", u.ServiceName(), state)
			}
		}
		// socat, a client independent of ours, agrees with every outcome
		// (vsock aside: socat would send a CID 1 connection to the
		// hypervisor transport on hosts without vsock loopback).
		for _, r := range rs {
			if r.Network == "vsock" {
				continue
			}
			got := socatEchoes(t, r.Network, r.Address)
			if got != (r.Outcome == "ok") {
				t.Errorf("run %d: socat echo over %s %s = %v, probe said %s", run, r.Network, r.Address, got, r.Outcome)
			}
		}
	}
}

// runSocktui runs the socktui binary against the sandbox's manager and
// returns its stdout and exit status.
func runSocktui(t *testing.T, s *sandbox.Sandbox, bin string, args ...string) ([]byte, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("socktui %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("socktui %s stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return out, cmd.ProcessState.ExitCode()
}

func serviceState(t *testing.T, s *sandbox.Sandbox, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Systemctl(ctx, "show", "-p", "ActiveState", "--value", name).Output()
	if err != nil {
		t.Fatalf("systemctl show %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// socatEchoes reports whether a line sent with socat to an endpoint comes
// back unchanged within a few seconds.
func socatEchoes(t *testing.T, network, address string) bool {
	t.Helper()
	var addr string
	switch network {
	case "tcp4", "tcp6", "udp4", "udp6":
		addr = strings.ToUpper(network) + ":" + address
	case "unix":
		addr = "UNIX-CONNECT:" + address
	case "unixpacket":
		addr = "UNIX-CONNECT:" + address + ",type=5"
	case "unixgram":
		// SO_PASSCRED makes the kernel bind the client to an abstract
		// address as it sends, as the probe's own client does: a path would
		// not resolve for a server in a container.
		addr = "UNIX-SENDTO:" + address + ",setsockopt-int=1:16:1"
	default:
		t.Fatalf("no socat address for %s", network)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	line := fmt.Sprintf("socat over %s %d\n", network, time.Now().UnixNano())
	cmd := exec.CommandContext(ctx, "socat", "-T", "4", "STDIO", addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cancel()
		cmd.Wait()
	}()
	if _, err := io.WriteString(stdin, line); err != nil {
		return false
	}
	got := make([]byte, len(line))
	_, err = io.ReadFull(stdout, got)
	return err == nil && string(got) == line
}

// freeVsockPort returns a vsock port free for VMADDR_CID_ANY.
func freeVsockPort(t testing.TB) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("vsock socket: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: unix.VMADDR_PORT_ANY}); err != nil {
		t.Fatalf("vsock bind: %v", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return int(sa.(*unix.SockaddrVM).Port)
}

// BenchmarkProbeEchoWorkload measures probes against the real echo workload
// (bare mode) in a private systemd user manager, warm:
//   - tcp4 and unix: a probe's round trip against a bare dial, write, read
//     and close on the same endpoint, interleaved (probe/floor, goal <= 1.5);
//   - all: probing every endpoint of the unit at once against probing the
//     slowest endpoint alone (all/slowest, goal about 1, not the count),
//     and against the CPU floor: the CPU time the round used in this
//     process and in the echo server, over the machine's cores
//     (all/cpu-floor). Warm loopback probes only work, never wait, so on a
//     machine with fewer cores than endpoints the floor, not the slowest
//     probe, bounds the round (cpu-floor/slowest says by how much).
func BenchmarkProbeEchoWorkload(b *testing.B) {
	s := sandboxtest.Start(b)
	echoBin := testbin.Build(b, "workloads/echo/cmd/socktui-echo")
	spec := echo.Spec{Mode: echo.ModeBare, Binary: echoBin, Name: fmt.Sprintf("socktui-echo-bench-%d", os.Getpid()),
		UnixDir: filepath.Join(s.Home, "bench"), VsockPort: freeVsockPort(b)}
	spec.Port = sandboxtest.FreePort(b)
	u, err := spec.Units()
	if err != nil {
		b.Fatal(err)
	}
	unitDir := filepath.Join(s.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, text := range map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()} {
		if err := os.WriteFile(filepath.Join(unitDir, name), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// The cold rounds start the service many times, each probe of a round
	// triggering the socket: lift the service's start rate limit (five
	// starts in ten seconds) and the socket's trigger limit (twenty in two
	// seconds), either of which would fail the socket.
	for name, text := range map[string]string{
		u.ServiceName(): "[Unit]\nStartLimitIntervalSec=0\n",
		u.Name:          "[Socket]\nTriggerLimitIntervalSec=0\n",
	} {
		dropIn := filepath.Join(unitDir, name+".d")
		if err := os.MkdirAll(dropIn, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dropIn, "bench.conf"), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	sandboxtest.Systemctl(b, s, "daemon-reload")
	sandboxtest.Systemctl(b, s, "start", u.Name)
	b.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })

	ctx := context.Background()
	var ts []unit.Target
	for _, l := range u.Listen {
		ts = append(ts, unit.Target{Unit: u.Name, Type: l.Type, Address: l.Address, Kind: unit.KindEcho})
	}
	p := &probe.Prober{Timeout: 10 * time.Second}
	// Activate the service: every probe after this one is warm.
	for r := range p.ProbeAll(ctx, ts) {
		if r.Outcome != probe.OK && r.Outcome != probe.Unsupported {
			b.Fatalf("activating probe: %+v", r)
		}
	}

	for _, network := range []unit.Network{unit.TCP4, unit.Unix} {
		b.Run(string(network), func(b *testing.B) {
			var tg unit.Target
			var ep probe.Endpoint
			for _, t := range ts {
				if e, err := probe.ParseListen(t.Type, t.Address); err == nil && e.Network == network {
					tg, ep = t, e
				}
			}
			msg := []byte("socktui-probe ABCDEFGHIJKLMNOPQRSTUVWXYZ\n") // a nonce's size
			got := make([]byte, len(msg))
			floor := func() {
				c, err := net.Dial(string(ep.Network), ep.Dial)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					b.Fatal(err)
				}
			}
			var floorT, probeT time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				floor()
				t1 := time.Now()
				r := p.Probe(ctx, tg)
				probeT += time.Since(t1)
				floorT += t1.Sub(t0)
				if r.Outcome != probe.OK {
					b.Fatalf("probe: %+v", r)
				}
			}
			b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/rtt")
			b.ReportMetric(float64(probeT.Nanoseconds())/float64(b.N), "probe-ns/rtt")
			b.ReportMetric(float64(probeT)/float64(floorT), "probe/floor")
		})
	}

	b.Run("all", func(b *testing.B) {
		// The slowest endpoint alone: measured first, then each round
		// probes it alone and all endpoints at once.
		slowest, worst := ts[0], time.Duration(0)
		for _, t := range ts {
			start := time.Now()
			for range 20 {
				p.Probe(ctx, t)
			}
			if d := time.Since(start); d > worst {
				slowest, worst = t, d
			}
		}
		// The CPU that probing everything at once uses, on both sides (this
		// process and the echo server), over the machine's cores, is a
		// floor no schedule can beat: warm loopback round trips do no
		// waiting, only work.
		out, err := s.Systemctl(ctx, "show", "-p", "MainPID", "--value", u.ServiceName()).Output()
		if err != nil {
			b.Fatal(err)
		}
		echoPID, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || echoPID == 0 {
			b.Fatalf("echo service MainPID %q: %v", out, err)
		}
		cpu := func() time.Duration {
			c, err := cputime.Process(echoPID)
			if err != nil {
				b.Fatal(err)
			}
			return c + cputime.Self()
		}
		var allT, slowT, allCPU time.Duration
		b.ResetTimer()
		for range b.N {
			c0 := cpu()
			t0 := time.Now()
			for r := range p.ProbeAll(ctx, ts) {
				if r.Outcome != probe.OK && r.Outcome != probe.Unsupported {
					b.Fatalf("probe: %+v", r)
				}
			}
			t1 := time.Now()
			allCPU += cpu() - c0
			t2 := time.Now()
			p.Probe(ctx, slowest)
			allT += t1.Sub(t0)
			slowT += time.Since(t2)
		}
		b.StopTimer()
		floor := allCPU / time.Duration(runtime.NumCPU())
		var seqT time.Duration
		for range b.N {
			t0 := time.Now()
			for _, t := range ts {
				p.Probe(ctx, t)
			}
			seqT += time.Since(t0)
		}
		b.ReportMetric(float64(len(ts)), "endpoints")
		b.ReportMetric(float64(allT.Nanoseconds())/float64(b.N), "all-ns")
		b.ReportMetric(float64(slowT.Nanoseconds())/float64(b.N), "slowest-ns")
		b.ReportMetric(float64(seqT.Nanoseconds())/float64(b.N), "one-by-one-ns")
		b.ReportMetric(float64(allT)/float64(slowT), "all/slowest")
		b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "cpu-floor-ns")
		b.ReportMetric(float64(allT)/float64(floor), "all/cpu-floor")
		b.ReportMetric(float64(floor)/float64(slowT), "cpu-floor/slowest")
	})

	// Cold: the service is stopped before each probe, so every round trip
	// includes its activation; all endpoints at once should cost one
	// activation, like a single endpoint.
	b.Run("cold", func(b *testing.B) {
		cold := make([]unit.Target, len(ts))
		for i, t := range ts {
			t.Cold = true
			cold[i] = t
		}
		single := cold[0] // tcp4
		stop := func() { sandboxtest.Systemctl(b, s, "stop", u.ServiceName()) }
		var allT, oneT time.Duration
		for range b.N {
			stop()
			t0 := time.Now()
			for r := range p.ProbeAll(ctx, cold) {
				if r.Outcome != probe.OK && r.Outcome != probe.Unsupported {
					b.Fatalf("probe: %+v", r)
				}
			}
			allT += time.Since(t0)
			stop()
			t1 := time.Now()
			if r := p.Probe(ctx, single); r.Outcome != probe.OK {
				out, _ := s.Systemctl(ctx, "status", "-n", "40", u.Name, u.ServiceName()).CombinedOutput()
				b.Fatalf("probe: %+v\n%s", r, out)
			}
			oneT += time.Since(t1)
		}
		b.ReportMetric(float64(allT.Microseconds())/float64(b.N)/1000, "all-ms")
		b.ReportMetric(float64(oneT.Microseconds())/float64(b.N)/1000, "one-ms")
		b.ReportMetric(float64(allT)/float64(oneT), "all/one")
	})
}

func TestRunProbeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"probe", "--kind", "ping"},
		{"probe", "--timeout", "-1s"},
		{"probe", "--json=maybe"},
	} {
		env, _, errOut := testEnv()
		if code := Run(context.Background(), env, args); code != ExitUsage || !strings.Contains(errOut.String(), "socktui probe --help") {
			t.Errorf("Run(%q) = %d, stderr %q; want %d with a hint", args, code, errOut, ExitUsage)
		}
	}
	env, out, _ := testEnv()
	if code := Run(context.Background(), env, []string{"probe", "--help"}); code != ExitOK || !strings.Contains(out.String(), "--cold-timeout") {
		t.Errorf("probe --help = %d:\n%s", code, out)
	}
}

// TestProbePodmanInSandbox probes the Podman API socket (podman.socket, as
// Debian ships it) in a private user manager: the automatic kind is http,
// GET /_ping answers OK, cold first and warm after, and curl agrees.
func TestProbePodmanInSandbox(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	sandboxtest.Need(t, "curl", "curl")
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	// The API service exits after 5 idle seconds by default: keep it up so
	// that the second probe is warm however slow this machine is.
	dropIn := filepath.Join(s.Home, ".config", "systemd", "user", "podman.service.d")
	if err := os.MkdirAll(dropIn, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "[Service]\nExecStart=\nExecStart=/usr/bin/podman system service --time=0\n"
	if err := os.WriteFile(filepath.Join(dropIn, "probe-test.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	sandboxtest.Systemctl(t, s, "daemon-reload")
	sandboxtest.Systemctl(t, s, "start", "podman.socket")
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", "podman.socket", "podman.service").Run() })
	if state := serviceState(t, s, "podman.service"); state != "inactive" {
		t.Fatalf("podman.service is %s before any probe, want inactive", state)
	}
	for run, cold := range []bool{true, false} {
		out, code := runSocktui(t, s, socktui, "probe", "podman", "--json", "--cold-timeout", "60s")
		var rs []jsonResult
		if err := json.Unmarshal(out, &rs); err != nil {
			t.Fatalf("run %d: %v in\n%s", run, err, out)
		}
		if len(rs) != 1 {
			t.Fatalf("run %d: %d results, want the one endpoint of podman.socket:\n%s", run, len(rs), out)
		}
		r := rs[0]
		t.Logf("run %d (exit %d): %+v", run, code, r)
		want := filepath.Join(s.RuntimeDir, "podman", "podman.sock")
		if code != ExitOK || r.Unit != "podman.socket" || r.Address != want || r.Network != "unix" || r.Kind != "http" ||
			r.Outcome != "ok" || r.Cold != cold || !strings.HasPrefix(r.Status, "HTTP/1.1 200") {
			t.Errorf("run %d: exit %d, %+v; want ok over http at %s with status 200, cold %v", run, code, r, want, cold)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		body, err := exec.CommandContext(ctx, "curl", "-sS", "--unix-socket", r.Address, "http://d/_ping").Output()
		cancel()
		if err != nil || string(body) != "OK" {
			t.Errorf("run %d: curl /_ping = %q, %v; the probe said %s", run, body, err, r.Outcome)
		}
	}
}
