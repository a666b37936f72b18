package systemdbus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	os.Exit(code)
}

// connect returns a client of the sandbox's manager, closed with the test.
func connect(t testing.TB, s *sandbox.Sandbox) *systemdbus.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := systemdbus.Connect(ctx, systemdbus.Options{RuntimeDir: s.RuntimeDir,
		CounterInterval: 100 * time.Millisecond, Backoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// show reads properties with `systemctl --user show`, the reference every
// listing is compared with. Repeated properties (Listen) are joined by "\n".
func show(t testing.TB, s *sandbox.Sandbox, name string, props ...string) map[string]string {
	t.Helper()
	args := []string{"show", name}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	out, err := s.Systemctl(context.Background(), args...).Output()
	if err != nil {
		t.Fatalf("systemctl show %s: %v", name, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		if old, ok := m[k]; ok && old != "" {
			v = old + "\n" + v
		}
		m[k] = v
	}
	return m
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listOne(t testing.TB, c *systemdbus.Client, name string) unit.Socket {
	t.Helper()
	socks, err := c.ListSockets(testCtx(t), systemdbus.ListOptions{Patterns: []string{name}, All: true})
	if err != nil {
		t.Fatalf("ListSockets(%s): %v", name, err)
	}
	if len(socks) != 1 {
		t.Fatalf("ListSockets(%s) = %d sockets, want 1: %+v", name, len(socks), socks)
	}
	return socks[0]
}

// showListen turns systemctl's "ADDRESS (TYPE)" lines into Listen entries.
func showListen(v string) []unit.Listen {
	out := []unit.Listen{}
	for _, line := range strings.Split(v, "\n") {
		if line == "" {
			continue
		}
		i := strings.LastIndex(line, " (")
		out = append(out, unit.Listen{Type: strings.TrimSuffix(line[i+2:], ")"), Address: line[:i]})
	}
	return out
}

// TestListenTypes creates a socket unit for every Listen type and checks the
// entries ListSockets reports against systemctl's.
func TestListenTypes(t *testing.T) { sandboxtest.OnStacks(t, testListenTypes) }

func testListenTypes(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	dir := t.TempDir()
	vsockPort := 20000 + os.Getpid()%20000
	cases := []struct {
		name   string
		listen unit.Listen
	}{
		{"lt-stream.socket", unit.Listen{Type: "Stream", Address: "127.0.0.1:" + strconv.Itoa(sandboxtest.FreePort(t))}},
		{"lt-unix.socket", unit.Listen{Type: "Stream", Address: filepath.Join(dir, "stream.sock")}},
		{"lt-dgram.socket", unit.Listen{Type: "Datagram", Address: "127.0.0.1:" + strconv.Itoa(sandboxtest.FreePort(t))}},
		{"lt-seqpacket.socket", unit.Listen{Type: "SequentialPacket", Address: filepath.Join(dir, "seq.sock")}},
		{"lt-fifo.socket", unit.Listen{Type: "FIFO", Address: filepath.Join(dir, "fifo")}},
		{"lt-vsock.socket", unit.Listen{Type: "Stream", Address: "vsock::" + strconv.Itoa(vsockPort)}},
	}
	for _, tc := range cases {
		err := c.CreateTransientSocket(ctx, unit.SocketSpec{
			Name: tc.name, Listen: []unit.Listen{tc.listen},
			Service: unit.ServiceSpec{ExecStart: []string{"/bin/sleep", "infinity"}},
		})
		if err != nil {
			t.Fatalf("creating %s: %v", tc.name, err)
		}
	}
	for _, tc := range cases {
		sock := listOne(t, c, tc.name)
		want := showListen(show(t, s, tc.name, "Listen")["Listen"])
		if !slices.Equal(sock.Listen, want) {
			t.Errorf("%s: Listen = %v, systemctl says %v", tc.name, sock.Listen, want)
		}
		if len(sock.Listen) != 1 || sock.Listen[0].Type != tc.listen.Type {
			t.Errorf("%s: Listen = %v, want one %s entry", tc.name, sock.Listen, tc.listen.Type)
		}
		if sock.State != unit.StateIdle || sock.SubState != "listening" {
			t.Errorf("%s: state %s (%s/%s), want idle (active/listening)", tc.name, sock.State, sock.ActiveState, sock.SubState)
		}
		if !slices.Equal(sock.Triggers, []string{strings.TrimSuffix(tc.name, ".socket") + ".service"}) {
			t.Errorf("%s: Triggers = %v", tc.name, sock.Triggers)
		}
		t.Logf("%s: %+v", tc.name, sock.Listen)
	}
	for _, tc := range cases {
		if err := c.RemoveTransient(ctx, tc.name, strings.TrimSuffix(tc.name, ".socket")+".service"); err != nil {
			t.Errorf("RemoveTransient(%s): %v", tc.name, err)
		}
	}
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{"lt-*"}, All: true})
	if err != nil || len(socks) != 0 {
		t.Errorf("after RemoveTransient: ListSockets = %v, %v; want none", socks, err)
	}
}

// TestActions runs every action against unit files and checks the manager's
// state after each, including systemd's refusal to start a socket whose
// service is still active, and a socket that fails.
func TestActions(t *testing.T) { sandboxtest.OnStacks(t, testActions) }

func testActions(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	port, failPort := sandboxtest.FreePort(t), sandboxtest.FreePort(t)
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	sandboxtest.InstallUnits(t, s, map[string]string{
		"act.socket":   fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		"act.service":  "[Service]\nExecStart=/bin/sleep infinity\n",
		"busy.socket":  fmt.Sprintf("[Socket]\nListenStream=%s\n", busy.Addr()),
		"fail.socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", failPort),
		"fail.service": "[Unit]\nStartLimitBurst=1\nStartLimitIntervalSec=60\n[Service]\nExecStart=/bin/false\n",
	})
	state := func(name string) string { return show(t, s, name, "ActiveState")["ActiveState"] }

	if err := c.StartUnit(ctx, "act.socket"); err != nil {
		t.Fatalf("StartUnit: %v", err)
	}
	if got := state("act.socket"); got != "active" {
		t.Fatalf("after StartUnit act.socket is %s", got)
	}
	if err := c.StopUnit(ctx, "act.socket"); err != nil {
		t.Fatalf("StopUnit: %v", err)
	}
	if got := state("act.socket"); got != "inactive" {
		t.Fatalf("after StopUnit act.socket is %s", got)
	}
	if err := c.RestartUnit(ctx, "act.socket"); err != nil {
		t.Fatalf("RestartUnit: %v", err)
	}
	if got := state("act.socket"); got != "active" {
		t.Fatalf("after RestartUnit act.socket is %s", got)
	}

	// Activate the service, stop only the socket: starting it again is
	// refused while the service runs.
	conn, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	waitFor(t, "act.service active", func() bool { return state("act.service") == "active" })
	if got := listOne(t, c, "act").State; got != unit.StateActive {
		t.Errorf("with its service running act.socket is %s, want active", got)
	}
	if err := c.StopUnit(ctx, "act.socket"); err != nil {
		t.Fatalf("StopUnit: %v", err)
	}
	err = c.StartUnit(ctx, "act.socket")
	if !errors.Is(err, systemdbus.ErrRefused) || !strings.Contains(err.Error(), "act.service is still active") {
		t.Fatalf("starting a socket whose service runs: %v, want a refusal naming act.service", err)
	}
	t.Logf("refusal: %v", err)
	if err := c.StopUnit(ctx, "act.service"); err != nil {
		t.Fatalf("StopUnit(service): %v", err)
	}
	if err := c.StartUnit(ctx, "act.socket"); err != nil {
		t.Fatalf("StartUnit after the service stopped: %v", err)
	}
	// A service can be started and stopped directly too.
	if err := c.StartUnit(ctx, "act.service"); err != nil || state("act.service") != "active" {
		t.Fatalf("StartUnit(act.service): %v, state %s", err, state("act.service"))
	}
	if err := c.RestartUnit(ctx, "act.service"); err != nil || state("act.service") != "active" {
		t.Fatalf("RestartUnit(act.service): %v, state %s", err, state("act.service"))
	}
	if err := c.StopUnit(ctx, "act.service"); err != nil || state("act.service") != "inactive" {
		t.Fatalf("StopUnit(act.service): %v, state %s", err, state("act.service"))
	}

	// A socket that cannot bind is refused with the likely reason.
	err = c.StartUnit(ctx, "busy.socket")
	if !errors.Is(err, systemdbus.ErrRefused) || !strings.Contains(err.Error(), "could not open its listeners") {
		t.Fatalf("starting a socket on a busy port: %v, want a refusal about its listeners", err)
	}
	t.Logf("busy port: %v", err)

	// A service that keeps failing fails its socket; reset-failed clears it.
	if err := c.StartUnit(ctx, "fail.socket"); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(failPort)); err == nil {
		defer conn.Close()
	}
	waitFor(t, "fail.socket failed", func() bool { return state("fail.socket") == "failed" })
	sock := listOne(t, c, "fail.socket")
	want := show(t, s, "fail.socket", "Result")["Result"]
	if sock.State != unit.StateFailed || sock.Result != want || sock.Reason != "socket: "+want {
		t.Errorf("fail.socket: state %s, result %s, reason %q; systemctl says result %s", sock.State, sock.Result, sock.Reason, want)
	}
	for _, u := range []string{"fail.socket", "fail.service"} {
		if err := c.ResetFailed(ctx, u); err != nil {
			t.Fatalf("ResetFailed(%s): %v", u, err)
		}
	}
	if got := state("fail.socket"); got != "inactive" {
		t.Errorf("after ResetFailed fail.socket is %s, want inactive", got)
	}

	if err := c.StartUnit(ctx, "nope.socket"); !errors.Is(err, systemdbus.ErrNoSuchUnit) {
		t.Errorf("StartUnit(nope.socket) = %v, want ErrNoSuchUnit", err)
	}
}

// TestTransientLifecycle creates a transient socket with its service in one
// call, activates it and removes both.
func TestTransientLifecycle(t *testing.T) { sandboxtest.OnStacks(t, testTransientLifecycle) }

func testTransientLifecycle(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	port := sandboxtest.FreePort(t)
	err := c.CreateTransientSocket(ctx, unit.SocketSpec{
		Name: "tr.socket", Description: "transient test",
		Listen: []unit.Listen{{Type: "Stream", Address: "127.0.0.1:" + strconv.Itoa(port)}},
		Service: unit.ServiceSpec{
			ExecStart: []string{"/bin/sleep", "infinity"}, Environment: []string{"A=1"},
			KillMode: "mixed", TimeoutStopSec: 2 * time.Second,
		},
	})
	if err != nil {
		t.Fatalf("CreateTransientSocket: %v", err)
	}
	err = c.CreateTransientSocket(ctx, unit.SocketSpec{Name: "tr.socket",
		Listen:  []unit.Listen{{Type: "Stream", Address: "127.0.0.1:1"}},
		Service: unit.ServiceSpec{ExecStart: []string{"/bin/true"}}})
	if !errors.Is(err, systemdbus.ErrRefused) {
		t.Errorf("creating tr.socket twice: %v, want a refusal", err)
	}
	p := show(t, s, "tr.service", "KillMode", "TimeoutStopUSec", "Environment")
	if p["KillMode"] != "mixed" || p["TimeoutStopUSec"] != "2s" || p["Environment"] != "A=1" {
		t.Errorf("tr.service properties: %v", p)
	}
	conn, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var sock unit.Socket
	waitFor(t, "tr.socket active", func() bool {
		sock = listOne(t, c, "tr")
		return sock.State == unit.StateActive
	})
	svc := sock.Services[0]
	if want := show(t, s, "tr.service", "MainPID")["MainPID"]; strconv.Itoa(int(svc.MainPID)) != want || svc.Since.IsZero() || svc.Container != "" {
		t.Errorf("active service: %+v, want MainPID %s, a Since and no container", svc, want)
	}
	if err := c.RemoveTransient(ctx, "tr.socket", "tr.service"); err != nil {
		t.Fatalf("RemoveTransient: %v", err)
	}
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{"tr"}, All: true})
	if err != nil || len(socks) != 0 {
		t.Errorf("after RemoveTransient: %v, %v", socks, err)
	}
	if err := c.RemoveTransient(ctx, "tr.socket", "tr.service"); err != nil {
		t.Errorf("removing what is already gone: %v", err)
	}
}

// nextEvent reads events until match accepts one.
func nextEvent(t testing.TB, ch <-chan unit.Event, what string, match func(unit.Event) bool) unit.Event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed while waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			if os.Getenv("DEBUG_EVENTS") != "" {
				pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			}
			t.Fatalf("no event for %s", what)
		}
	}
}

func socketEvent(name string, state unit.State) func(unit.Event) bool {
	return func(ev unit.Event) bool {
		return ev.Kind == unit.UnitChanged && ev.Unit == name && ev.Socket.State == state
	}
}

// usec parses systemctl's timestamps given with --timestamp=us+utc.
func usecProp(t *testing.T, s *sandbox.Sandbox, name, prop string) time.Time {
	t.Helper()
	out, err := s.Systemctl(context.Background(), "show", name, "-p", prop, "--value", "--timestamp=us+utc").Output()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse("Mon 2006-01-02 15:04:05.999999 MST", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("%s %s: %v (%v)", name, prop, err, show(t, s, name, "ActiveState", "LoadState", prop))
	}
	return ts
}

// TestWatchActivateIdleStop follows a FIFO socket whose service reads one
// line and exits: activation, back to idle, then stop, in systemd's order,
// each event stamped after the moment systemd recorded its change. How soon
// after is a figure, BenchmarkWatchEventLag's, not a test's bound. A running
// unit that wants the socket keeps it (and its timestamps) loaded once
// stopped.
func TestWatchActivateIdleStop(t *testing.T) { sandboxtest.OnStacks(t, testWatchActivateIdleStop) }

func testWatchActivateIdleStop(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	sandboxtest.InstallUnits(t, s, map[string]string{
		"w.socket":     "[Socket]\nListenFIFO=" + fifo + "\n",
		"w.service":    "[Service]\nExecStart=/bin/sh -c 'read line <&3; sleep 0.3'\n",
		"hold.service": "[Unit]\nWants=w.socket\n[Service]\nExecStart=/bin/sleep infinity\n",
	})
	sandboxtest.Systemctl(t, s, "start", "hold.service")
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := c.Watch(wctx)
	first := <-ch
	if first.Kind != unit.Snapshot {
		t.Fatalf("first event %+v, want Snapshot", first)
	}
	i := slices.IndexFunc(first.Sockets, func(s unit.Socket) bool { return s.Unit == "w.socket" })
	if i < 0 || first.Sockets[i].State != unit.StateIdle {
		t.Fatalf("snapshot lacks an idle w.socket: %+v", first.Sockets)
	}

	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	active := nextEvent(t, ch, "w.socket active", socketEvent("w.socket", unit.StateActive))
	idle := nextEvent(t, ch, "w.socket idle again", socketEvent("w.socket", unit.StateIdle))
	if err := c.StopUnit(ctx, "w.socket"); err != nil {
		t.Fatal(err)
	}
	stopped := nextEvent(t, ch, "w.socket stopped", socketEvent("w.socket", unit.StateStopped))

	// The service's StateChangeTimestamp, as systemd sent it with the
	// change; the socket stays loaded once stopped, so systemctl has its
	// InactiveEnterTimestamp.
	changes := []struct {
		what string
		ev   unit.Event
		at   time.Time
	}{
		{"activation", active, active.Socket.Services[0].Since},
		{"idle", idle, idle.Socket.Services[0].Since},
		{"stop", stopped, usecProp(t, s, "w.socket", "InactiveEnterTimestamp")},
	}
	for i, c := range changes {
		t.Logf("%s: event %v after systemd recorded the change", c.what, c.ev.At.Sub(c.at))
		// systemd's timestamps have microseconds; the event's clock reading
		// is taken after the change reached the client.
		if c.at.IsZero() || c.ev.At.Before(c.at) {
			t.Errorf("%s: event at %v, systemd's change at %v: want the change's time, and the event after it", c.what, c.ev.At, c.at)
		}
		if i > 0 && !changes[i-1].at.Before(c.at) {
			t.Errorf("%s: systemd's change at %v, not after the %s at %v", c.what, c.at, changes[i-1].what, changes[i-1].at)
		}
	}
	if svc := active.Socket.Services[0]; svc.Unit != "w.service" || svc.ActiveState != "active" {
		t.Errorf("activation: service %s %s, want w.service active", svc.Unit, svc.ActiveState)
	}
	if svc := idle.Socket.Services[0]; svc.Unit != "w.service" || svc.ActiveState != "inactive" {
		t.Errorf("idle: service %s %s, want w.service inactive", svc.Unit, svc.ActiveState)
	}
}

// countingDial connects to the sandbox's private socket and counts the
// method calls the client sends.
func countingDial(s *sandbox.Sandbox, calls *atomic.Int64) func(context.Context) (*dbus.Conn, error) {
	return func(ctx context.Context) (*dbus.Conn, error) {
		opts := append(systemdbus.ConnOptions(), dbus.WithOutgoingInterceptor(func(m *dbus.Message) {
			if m.Type == dbus.TypeMethodCall {
				calls.Add(1)
				if os.Getenv("DEBUG_CALLS") != "" {
					fmt.Println("CALL", m.Headers[dbus.FieldMember], m.Body)
				}
			}
		}))
		conn, err := dbus.Dial(s.BusAddress(), opts...)
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Geteuid()))}); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// TestWatchMakesNoCallsWhenIdle counts the client's calls: none while
// nothing changes, and counter reads only once an Accept=yes socket exists.
func TestWatchMakesNoCallsWhenIdle(t *testing.T) {
	s := sandboxtest.Start(t)
	ctx := testCtx(t)
	var calls atomic.Int64
	interval := 50 * time.Millisecond
	c, err := systemdbus.Connect(ctx, systemdbus.Options{Dial: countingDial(s, &calls), CounterInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := sandboxtest.FreePort(t)
	sandboxtest.InstallUnits(t, s, map[string]string{
		"idle.socket":     fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		"idle.service":    "[Service]\nExecStart=/bin/sleep infinity\n",
		"accept.socket":   fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\n", sandboxtest.FreePort(t)),
		"accept@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
	})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := c.Watch(wctx)
	if ev := <-ch; ev.Kind != unit.Snapshot {
		t.Fatalf("first event %+v", ev)
	}
	// Start the socket while watching and see its job end, so that no
	// signal of the start can still be on its way once the quiet window
	// opens.
	sandboxtest.Systemctl(t, s, "start", "idle.socket")
	nextEvent(t, ch, "idle.socket's start job", func(ev unit.Event) bool {
		return ev.Kind == unit.JobFinished && ev.Unit == "idle.socket"
	})
	before := calls.Load()
	window := time.After(20 * interval)
	for quiet := true; quiet; {
		select {
		case ev := <-ch:
			t.Errorf("event while nothing changes: %+v", ev)
		case <-window:
			quiet = false
		}
	}
	if got := calls.Load() - before; got != 0 {
		t.Errorf("the client made %d calls in %v while nothing changed, want 0", got, 20*interval)
	}

	// An active Accept=yes socket needs its counters: now the timer reads
	// them, three properties per tick.
	sandboxtest.Systemctl(t, s, "start", "accept.socket")
	nextEvent(t, ch, "accept.socket added or changed", func(ev unit.Event) bool {
		return (ev.Kind == unit.UnitAdded || ev.Kind == unit.UnitChanged) && ev.Unit == "accept.socket" &&
			ev.Socket.ActiveState == "active"
	})
	before = calls.Load()
	waitFor(t, "counter reads", func() bool { return calls.Load()-before >= 6 })
	if got := calls.Load() - before; got%3 != 0 && got < 6 {
		t.Errorf("calls after the Accept=yes socket started: %d", got)
	}
}

// TestWatchRecovers checks daemon-reload (a new Snapshot) and daemon-reexec
// (Disconnected, then Reconnected), and that events flow afterwards.
func TestWatchRecovers(t *testing.T) { sandboxtest.OnStacks(t, testWatchRecovers) }

func testWatchRecovers(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	port := sandboxtest.FreePort(t)
	sandboxtest.InstallUnits(t, s, map[string]string{
		"rec.socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		"rec.service": "[Service]\nExecStart=/bin/sleep infinity\n",
	})
	sandboxtest.Systemctl(t, s, "start", "rec.socket")
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := c.Watch(wctx)
	if ev := <-ch; ev.Kind != unit.Snapshot {
		t.Fatalf("first event %+v", ev)
	}
	hasRec := func(socks []unit.Socket) bool {
		return slices.ContainsFunc(socks, func(s unit.Socket) bool { return s.Unit == "rec.socket" && s.State == unit.StateIdle })
	}

	sandboxtest.Systemctl(t, s, "daemon-reload")
	ev := nextEvent(t, ch, "snapshot after daemon-reload", func(ev unit.Event) bool { return ev.Kind == unit.Snapshot })
	if !hasRec(ev.Sockets) {
		t.Errorf("snapshot after reload lacks rec.socket: %+v", ev.Sockets)
	}

	sandboxtest.Systemctl(t, s, "daemon-reexec")
	ev = nextEvent(t, ch, "disconnected", func(ev unit.Event) bool { return ev.Kind == unit.Disconnected })
	t.Logf("after daemon-reexec: %v", ev.Err)
	ev = nextEvent(t, ch, "reconnected", func(ev unit.Event) bool { return ev.Kind == unit.Reconnected })
	if !hasRec(ev.Sockets) {
		t.Errorf("Reconnected lacks rec.socket: %+v", ev.Sockets)
	}

	conn, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	nextEvent(t, ch, "rec.socket active after reexec", socketEvent("rec.socket", unit.StateActive))
	if err := c.StopUnit(ctx, "rec.service"); err != nil {
		t.Errorf("an action after reexec: %v", err)
	}
}

// TestManagerGoneForGood closes the sandbox under a watch and a listing:
// errors, never a hang, and the watch channel closes with its context.
func TestManagerGoneForGood(t *testing.T) {
	s := sandboxtest.Start(t)
	c := connect(t, s)
	ctx := testCtx(t)
	wctx, cancel := context.WithCancel(ctx)
	ch := c.Watch(wctx)
	if ev := <-ch; ev.Kind != unit.Snapshot {
		t.Fatalf("first event %+v", ev)
	}
	listed := make(chan error, 1)
	go func() {
		for {
			if _, err := c.ListSockets(ctx, systemdbus.ListOptions{All: true}); err != nil {
				listed <- err
				return
			}
		}
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, ch, "disconnected", func(ev unit.Event) bool { return ev.Kind == unit.Disconnected })
	if ev.Err == nil {
		t.Error("Disconnected without an error")
	}
	select {
	case err := <-listed:
		t.Logf("listing while the manager exits: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("ListSockets hangs after the manager exited")
	}
	done := make(chan error, 1)
	go func() { done <- c.StartUnit(ctx, "x.socket") }()
	select {
	case err := <-done:
		if !errors.Is(err, systemdbus.ErrNoManager) {
			t.Errorf("StartUnit with the manager gone: %v, want ErrNoManager", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("StartUnit hangs after the manager exited")
	}
	cancel()
	for range ch {
	}
}

func TestConnectNothingAnswers(t *testing.T) {
	dir := t.TempDir()
	_, err := systemdbus.Connect(context.Background(), systemdbus.Options{RuntimeDir: dir,
		Getenv: func(string) string { return "" }})
	if !errors.Is(err, systemdbus.ErrNoManager) || !strings.Contains(err.Error(), filepath.Join(dir, "systemd", "private")) ||
		!strings.Contains(err.Error(), "socktui demo") {
		t.Fatalf("Connect with nothing listening = %v, want ErrNoManager naming the socket and suggesting socktui demo", err)
	}
	// A socket file that nobody serves.
	if err := os.MkdirAll(filepath.Join(dir, "systemd"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "systemd", "private"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	_, err = systemdbus.Connect(context.Background(), systemdbus.Options{RuntimeDir: dir, Getenv: func(string) string { return "" }})
	if !errors.Is(err, systemdbus.ErrNoManager) || !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Connect to a dead socket = %v", err)
	}
}

// TestBusTransport reaches the manager through the session bus (dbus-daemon
// started by the sandbox's dbus.socket) instead of the private socket: Hello,
// a match rule and Subscribe, then a listing, an action and watch events.
func TestBusTransport(t *testing.T) {
	s := sandboxtest.Start(t)
	sandboxtest.Need(t, "dbus-daemon", "dbus-user-session")
	ctx := testCtx(t)
	busAddr := "unix:path=" + filepath.Join(s.RuntimeDir, "bus")
	dial := func(ctx context.Context) (*dbus.Conn, error) {
		conn, err := dbus.Dial(busAddr, systemdbus.ConnOptions()...)
		if err != nil {
			return nil, err
		}
		if err := conn.Auth(nil); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	// The manager's dbus.socket listens once the sandbox is up, but the
	// socket's file exists from its bind, before its listen: wait until a
	// client gets in (refused until then), not for the file.
	var probe *dbus.Conn
	waitFor(t, "the session bus taking a client", func() bool {
		var err error
		probe, err = dial(ctx)
		return err == nil
	})
	// The bus was just socket-activated: wait until the manager has joined
	// it and owns its name, as it long has in a real session.
	if err := probe.Hello(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "systemd on the session bus", func() bool {
		var has bool
		err := probe.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.systemd1").Store(&has)
		return err == nil && has
	})
	probe.Close()
	c, err := systemdbus.Connect(ctx, systemdbus.Options{DialBus: true, Dial: dial})
	if err != nil {
		t.Fatalf("Connect over the bus: %v", err)
	}
	defer c.Close()
	port := sandboxtest.FreePort(t)
	sandboxtest.InstallUnits(t, s, map[string]string{
		"bus.socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		"bus.service": "[Service]\nExecStart=/bin/sleep infinity\n",
	})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := c.Watch(wctx)
	if ev := <-ch; ev.Kind != unit.Snapshot {
		t.Fatalf("first event %+v", ev)
	}
	if err := c.StartUnit(ctx, "bus.socket"); err != nil {
		t.Fatalf("StartUnit over the bus: %v", err)
	}
	nextEvent(t, ch, "bus.socket idle", func(ev unit.Event) bool {
		if os.Getenv("DEBUG_EVENTS") != "" {
			t.Logf("event %+v %+v", ev, ev.Socket)
		}
		if ev.Kind == unit.Snapshot { // the daemon-reload's, delivered late by the bus
			return slices.ContainsFunc(ev.Sockets, func(s unit.Socket) bool {
				return s.Unit == "bus.socket" && s.State == unit.StateIdle
			})
		}
		return (ev.Kind == unit.UnitChanged || ev.Kind == unit.UnitAdded) && ev.Unit == "bus.socket" &&
			ev.Socket.State == unit.StateIdle
	})
	if sock := listOne(t, c, "bus"); sock.State != unit.StateIdle || len(sock.Listen) != 1 {
		t.Errorf("bus.socket over the bus: %+v", sock)
	}
}

// TestReviveTransientSocket: a failed transient socket (the demo's kind)
// comes back to listening with ReviveSocket, where a reset of the socket
// itself would have made systemd forget it.
func TestReviveTransientSocket(t *testing.T) {
	s := sandboxtest.Start(t)
	c := connect(t, s)
	ctx := testCtx(t)
	port := sandboxtest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	err := c.CreateTransientSocket(ctx, unit.SocketSpec{
		Name: "rv.socket", Listen: []unit.Listen{{Type: "Stream", Address: addr}},
		Service: unit.ServiceSpec{ExecStart: []string{"/bin/false"}},
	})
	if err != nil {
		t.Fatalf("CreateTransientSocket: %v", err)
	}
	failed := func() bool {
		if conn, err := net.DialTimeout("tcp4", addr, time.Second); err == nil {
			conn.Close()
		}
		return show(t, s, "rv.socket", "ActiveState")["ActiveState"] == "failed"
	}
	waitFor(t, "rv.socket failed", failed)
	sock := listOne(t, c, "rv.socket")
	var svcs []string
	for _, svc := range sock.Services {
		if svc.ActiveState == "failed" {
			svcs = append(svcs, svc.Unit)
		}
	}
	t.Logf("failed: socket %s (%s), services %v", sock.ActiveState, sock.Result, svcs)

	if err := c.ReviveSocket(ctx, "rv.socket", svcs); err != nil {
		t.Fatalf("ReviveSocket: %v", err)
	}
	sock = listOne(t, c, "rv.socket")
	if sock.ActiveState != "active" || sock.SubState != "listening" || sock.Result != "success" {
		t.Errorf("after ReviveSocket: %s/%s result %s, want active/listening, success", sock.ActiveState, sock.SubState, sock.Result)
	}
	if len(sock.Services) != 1 || sock.Services[0].ActiveState == "failed" {
		t.Errorf("after ReviveSocket the service is %+v, want not failed", sock.Services)
	}
	// It listens: a connection activates the service again.
	if conn, err := net.DialTimeout("tcp4", addr, time.Second); err != nil {
		t.Errorf("dialling the revived socket: %v", err)
	} else {
		conn.Close()
	}
	if err := c.RemoveTransient(ctx, "rv.socket", "rv.service"); err != nil {
		t.Errorf("RemoveTransient: %v", err)
	}
}
