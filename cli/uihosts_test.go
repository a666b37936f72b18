package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
)

// fakeManager is a ui.Manager whose Watch and StartUnit are functions;
// the other actions succeed doing nothing.
type fakeManager struct {
	watch func(ctx context.Context) <-chan unit.Event
	start func(ctx context.Context, name string) error
}

var _ ui.Manager = (*fakeManager)(nil)

func (f *fakeManager) Watch(ctx context.Context) <-chan unit.Event { return f.watch(ctx) }
func (f *fakeManager) StartUnit(ctx context.Context, name string) error {
	return f.start(ctx, name)
}
func (f *fakeManager) StopUnit(context.Context, string) error               { return nil }
func (f *fakeManager) RestartUnit(context.Context, string) error            { return nil }
func (f *fakeManager) ResetFailed(context.Context, string) error            { return nil }
func (f *fakeManager) ReviveSocket(context.Context, string, []string) error { return nil }
func (f *fakeManager) EnableUnitFiles(context.Context, []string) error      { return nil }
func (f *fakeManager) DisableUnitFiles(context.Context, []string) error     { return nil }

// snapshotWatch is a Watch that sends one Snapshot of socks and closes
// its channel when ctx ends.
func snapshotWatch(socks ...unit.Socket) func(ctx context.Context) <-chan unit.Event {
	return func(ctx context.Context) <-chan unit.Event {
		ch := make(chan unit.Event, 1)
		ch <- unit.Event{Kind: unit.Snapshot, Sockets: socks}
		go func() { <-ctx.Done(); close(ch) }()
		return ch
	}
}

// dialResult is one answer of a scripted hostDialer.
type dialResult struct {
	conn *hostConn
	err  error
}

// scriptedDial is a hostDialer that takes each answer from results, and
// waits for ctx when none comes.
func scriptedDial(results <-chan dialResult) hostDialer {
	return func(ctx context.Context) (*hostConn, error) {
		select {
		case r := <-results:
			return r.conn, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// nextEvent is the next event of ch, failing t if it is closed or ctx ends
// first.
func nextEvent(ctx context.Context, t *testing.T, ch <-chan unit.Event, want string) unit.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("the watch ended waiting for %s", want)
		}
		return ev
	case <-ctx.Done():
		t.Fatalf("no %s", want)
	}
	return unit.Event{}
}

// TestLazyHostConnectsAfterFailures: a host whose first dials fail is
// shown as Disconnected with each new reason (a repeated one is not sent
// again), its actions and probes fail in words saying it is not connected
// and why, and once a dial succeeds its manager's events and actions come
// through.
func TestLazyHostConnectsAfterFailures(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results := make(chan dialResult)
	l := startLazyHost(ctx, "web1", scriptedDial(results), time.Millisecond, time.Millisecond)
	defer l.Close()

	err := l.StartUnit(ctx, "echo.socket")
	if !errors.Is(err, errNotConnected) || !strings.Contains(err.Error(), "web1: not connected yet") {
		t.Errorf("an action before the first dial answered: %v", err)
	}

	events := l.Watch(ctx)
	refused := errors.New("ssh web1: connect to host web1 port 22: Connection refused: host unreachable")
	results <- dialResult{err: refused}
	if ev := nextEvent(ctx, t, events, "the first Disconnected"); ev.Kind != unit.Disconnected || !errors.Is(ev.Err, refused) {
		t.Fatalf("first event %+v, want Disconnected with %v", ev, refused)
	}
	err = l.StartUnit(ctx, "echo.socket")
	if !errors.Is(err, errNotConnected) || !errors.Is(err, refused) ||
		err.Error() != "web1: not connected (ssh web1: connect to host web1 port 22: Connection refused: host unreachable)" {
		t.Errorf("an action before connecting: %v", err)
	}
	ts := []unit.Target{{Unit: "echo.socket", Type: "Stream", Address: "127.0.0.1:3000"}, {Unit: "echo.socket", Type: "Datagram", Address: "127.0.0.1:3000"}}
	var got []probe.Result
	for r := range l.ProbeAll(ctx, ts) {
		got = append(got, r)
	}
	if len(got) != len(ts) {
		t.Fatalf("%d probe results for %d targets", len(got), len(ts))
	}
	for i, r := range got {
		if r.Index != i || r.Outcome != probe.Error || !strings.Contains(r.Error, "web1: not connected") || r.Network == "" {
			t.Errorf("probe result %d before connecting: %+v", i, r)
		}
	}
	var batches int
	for b := range l.FollowLogs(ctx, unit.Socket{Unit: "echo.socket"}, 10) {
		batches++
		if !errors.Is(b.Err, errNotConnected) {
			t.Errorf("logs before connecting: %+v", b)
		}
	}
	if batches != 1 {
		t.Errorf("%d log batches before connecting, want 1 saying why", batches)
	}

	// The same reason again is not news; another one is.
	results <- dialResult{err: refused}
	denied := errors.New("ssh web1: the host refused every key ssh tried: ssh authentication failed")
	results <- dialResult{err: denied}
	if ev := nextEvent(ctx, t, events, "the second Disconnected"); ev.Kind != unit.Disconnected || !errors.Is(ev.Err, denied) {
		t.Fatalf("second event %+v, want Disconnected with %v", ev, denied)
	}

	var started atomic.Value
	var closed atomic.Int32
	m := &fakeManager{watch: snapshotWatch(unit.Socket{Unit: "echo.socket"}), start: func(_ context.Context, name string) error {
		started.Store(name)
		return nil
	}}
	results <- dialResult{conn: &hostConn{manager: m, close: func() { closed.Add(1) }}}
	ev := nextEvent(ctx, t, events, "the Snapshot")
	if ev.Kind != unit.Snapshot || len(ev.Sockets) != 1 || ev.Sockets[0].Unit != "echo.socket" {
		t.Fatalf("event after connecting %+v, want the manager's Snapshot", ev)
	}
	if err := l.StartUnit(ctx, "echo.socket"); err != nil || started.Load() != "echo.socket" {
		t.Errorf("an action once connected: %v, reached the manager as %v", err, started.Load())
	}
	l.Close()
	l.Close()
	if n := closed.Load(); n != 1 {
		t.Errorf("the connection was closed %d times by two Closes, want 1", n)
	}
	cancel()
	for range events {
	}
}

// TestLazyHostCancelEndsEverything: ending the context stops a dial in
// flight, closes every Watch channel and leaves no goroutine behind, so
// the UI's exit never waits on an unreachable host.
func TestLazyHostCancelEndsEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	dialing := make(chan struct{})
	l := startLazyHost(ctx, "web2", func(ctx context.Context) (*hostConn, error) {
		close(dialing)
		<-ctx.Done() // a host that never answers
		return nil, ctx.Err()
	}, time.Millisecond, time.Millisecond)
	w1, w2 := l.Watch(ctx), l.Watch(ctx)
	<-dialing
	cancel()
	for _, w := range []<-chan unit.Event{w1, w2} {
		for ev := range w {
			t.Errorf("an event from a host that never answered: %+v", ev)
		}
	}
	l.Close()
	if _, err := l.connected(); !errors.Is(err, errNotConnected) {
		t.Errorf("after Close: %v, want not connected", err)
	}
}

// TestLocalMissingHint: the hint of a UI that shows the hosts only says
// why this machine is not shown, in one line.
func TestLocalMissingHint(t *testing.T) {
	for _, c := range []struct {
		err     error
		manager string
		want    string
	}{
		{fmt.Errorf("%w: the user manager: tried ...", systemdbus.ErrNoManager), "user",
			"this machine is not shown: no user manager answers here (socktui list says why)"},
		{fmt.Errorf("%w: the system manager: tried ...", systemdbus.ErrNoManager), "system",
			"this machine is not shown: no system manager answers here (socktui list says why)"},
		{errors.New("systemdbus: the manager did not answer: \x1b[2Jcontext deadline exceeded"), "user",
			`this machine is not shown: systemdbus: the manager did not answer: \x1b[2Jcontext deadline exceeded`},
	} {
		if got := localMissingHint(c.err, c.manager); got != c.want {
			t.Errorf("localMissingHint(%v, %q) = %q, want %q", c.err, c.manager, got, c.want)
		}
	}
}

// TestReportJoinedErrorLines: an error of several hosts (errors.Join) is
// printed a line per host, each cleaned, not as one line with a literal
// \n between them (seen with --host a --host b list).
func TestReportJoinedErrorLines(t *testing.T) {
	env, _, errOut := testEnv()
	err := errors.Join(errors.New("a: ssh a: unreachable"), errors.New("b: ssh b: \x1b[2Jrefused\nfake line"))
	if code := report(env, "list", err); code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	want := "socktui list: a: ssh a: unreachable\nsocktui list: b: ssh b: \\x1b[2Jrefused\\nfake line\n"
	if got := errOut.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestHostSetKeepsATargetOnce: --host web1 --host web1 is one host.
func TestHostSetKeepsATargetOnce(t *testing.T) {
	var s hostSet
	for _, v := range []string{"web1", "root@web1:22", "web1", "web2", "root@web1:22"} {
		if err := s.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.String(); got != "web1,root@web1:22,web2" {
		t.Errorf("targets %q, want web1,root@web1:22,web2", got)
	}
}

// TestLazyHostCloseDuringDialClosesItsConnection: a dial that completes
// although Close cancelled it (ssh logged in just then) has its
// connection closed by Close, once, and no goroutine is left.
func TestLazyHostCloseDuringDialClosesItsConnection(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var closed atomic.Int32
	dialing := make(chan struct{})
	l := startLazyHost(context.Background(), "web1", func(ctx context.Context) (*hostConn, error) {
		close(dialing)
		<-ctx.Done()
		return &hostConn{manager: &fakeManager{watch: snapshotWatch()}, close: func() { closed.Add(1) }}, nil
	}, time.Millisecond, time.Millisecond)
	<-dialing
	l.Close()
	if n := closed.Load(); n != 1 {
		t.Errorf("the connection made during Close was closed %d times, want 1", n)
	}
	if err := l.StartUnit(context.Background(), "echo.socket"); !errors.Is(err, errNotConnected) {
		t.Errorf("an action after Close: %v, want not connected", err)
	}
}
