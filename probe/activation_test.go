package probe

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/unit"
)

// scriptedActivations is an ActivationWatcher whose states the test sends:
// every FollowActivation gets the same channel.
type scriptedActivations struct {
	ch       chan Activation
	followed chan string // receives the name of each FollowActivation
	err      error
}

func newScripted() *scriptedActivations {
	return &scriptedActivations{ch: make(chan Activation, 16), followed: make(chan string, 16)}
}

func (s *scriptedActivations) FollowActivation(ctx context.Context, name string) (<-chan Activation, error) {
	s.followed <- name
	if s.err != nil {
		return nil, s.err
	}
	return s.ch, nil
}

var _ ActivationWatcher = (*scriptedActivations)(nil)

// coldTarget is a cold target of l; the cold timeout of the probers below
// is long, so a probe that ends shows it did not wait for it.
func coldTarget(l listener, kind unit.Kind) unit.Target {
	t := target(l, kind)
	t.Cold = true
	return t
}

// longProber never times out within a test: only the activation or the
// exchange can end its probes.
func longProber(w ActivationWatcher, settle time.Duration) *Prober {
	return &Prober{Timeout: time.Hour, ColdTimeout: time.Hour, Activations: w, Settle: settle}
}

func probeAsync(p *Prober, t unit.Target) <-chan Result {
	out := make(chan Result, 1)
	go func() { out <- p.Probe(context.Background(), t) }()
	return out
}

func TestColdProbeFailsWithTheActivation(t *testing.T) {
	// Servers that take the connection (or the datagram) and never answer,
	// like the socket systemd holds for a service that never starts.
	tests := []struct {
		name string
		l    func(t *testing.T) listener
		kind unit.Kind
	}{
		{"connect tcp4", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", blackHole) }, unit.KindConnect},
		{"echo tcp4", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", blackHole) }, unit.KindEcho},
		{"echo unix", func(t *testing.T) listener { return serveStream(t, "unix", "Stream", blackHole) }, unit.KindEcho},
		{"echo udp4", func(t *testing.T) listener { return servePacket(t, "udp4", func([]byte) []byte { return nil }) }, unit.KindEcho},
		{"echo unixgram", func(t *testing.T) listener { return servePacket(t, "unixgram", func([]byte) []byte { return nil }) }, unit.KindEcho},
		{"connect udp4", func(t *testing.T) listener { return servePacket(t, "udp4", func([]byte) []byte { return nil }) }, unit.KindConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newScripted()
			res := probeAsync(longProber(w, time.Hour), coldTarget(tt.l(t), tt.kind))
			if u := <-w.followed; u != "test.socket" {
				t.Fatalf("followed %q, want test.socket", u)
			}
			w.ch <- Activation{State: ActivationIdle}
			w.ch <- Activation{State: ActivationStarting}
			w.ch <- Activation{State: ActivationFailed, Reason: "service test.service: exit-code"}
			r := <-res
			if r.Outcome != Failed || !strings.Contains(r.Error, "service test.service: exit-code") {
				t.Fatalf("got %s %q, want failed with the reason", r.Outcome, r.Error)
			}
			if !r.Cold {
				t.Error("result not marked cold")
			}
		})
	}
}

func TestColdEchoWaitsForTheStartJob(t *testing.T) {
	// The echo answers while the service is still starting (conmon's
	// READY=1 can reach systemd after the container answered): the probe
	// must wait for the start to settle, so a failure then still counts.
	l := serveStream(t, "tcp4", "Stream", echoStream)
	w := newScripted()
	p := longProber(w, time.Hour)
	exchanged := make(chan error, 1)
	p.exchanged = func(err error) { exchanged <- err }
	res := probeAsync(p, coldTarget(l, unit.KindEcho))
	<-w.followed
	w.ch <- Activation{State: ActivationStarting}
	if err := <-exchanged; err != nil {
		t.Fatalf("exchange: %v", err)
	}
	w.ch <- Activation{State: ActivationFailed, Reason: "service test.service: timeout"}
	if r := <-res; r.Outcome != Failed {
		t.Fatalf("got %s %q, want failed: the probe ended before the start job did", r.Outcome, r.Error)
	}
	p.exchanged = nil

	res = probeAsync(p, coldTarget(l, unit.KindEcho))
	<-w.followed
	w.ch <- Activation{State: ActivationStarting}
	w.ch <- Activation{State: ActivationUp}
	if r := <-res; r.Outcome != OK || r.Error != "" {
		t.Fatalf("got %s %q, want ok", r.Outcome, r.Error)
	}
}

func TestColdConnectHoldsUntilSettled(t *testing.T) {
	l := serveStream(t, "tcp4", "Stream", blackHole)

	// Up, then dead within the settle window: failed, not ok.
	w := newScripted()
	res := probeAsync(longProber(w, time.Hour), coldTarget(l, unit.KindConnect))
	<-w.followed
	w.ch <- Activation{State: ActivationIdle}
	w.ch <- Activation{State: ActivationUp}
	w.ch <- Activation{State: ActivationFailed, Reason: "service test.service: exit-code"}
	if r := <-res; r.Outcome != Failed {
		t.Fatalf("got %s %q, want failed", r.Outcome, r.Error)
	}

	// Up and staying up for the (short) settle window: ok.
	w = newScripted()
	res = probeAsync(longProber(w, time.Millisecond), coldTarget(l, unit.KindConnect))
	<-w.followed
	w.ch <- Activation{State: ActivationIdle}
	w.ch <- Activation{State: ActivationUp}
	if r := <-res; r.Outcome != OK {
		t.Fatalf("got %s %q, want ok", r.Outcome, r.Error)
	}

	// Started and gone without failing (a service that exits when done):
	// it came up.
	w = newScripted()
	res = probeAsync(longProber(w, time.Millisecond), coldTarget(l, unit.KindConnect))
	<-w.followed
	w.ch <- Activation{State: ActivationStarting}
	w.ch <- Activation{State: ActivationIdle}
	if r := <-res; r.Outcome != OK {
		t.Fatalf("got %s %q, want ok", r.Outcome, r.Error)
	}
}

func TestColdProbeWithoutActivationTimesOut(t *testing.T) {
	// The kernel took the connection, but the service never came up.
	l := serveStream(t, "tcp4", "Stream", blackHole)
	w := newScripted()
	p := &Prober{Timeout: 50 * time.Millisecond, ColdTimeout: 50 * time.Millisecond, Activations: w}
	res := probeAsync(p, coldTarget(l, unit.KindConnect))
	<-w.followed
	w.ch <- Activation{State: ActivationIdle}
	r := <-res
	if r.Outcome != Timeout || !strings.Contains(r.Error, "did not come up") {
		t.Fatalf("got %s %q, want a timeout saying the service did not come up", r.Outcome, r.Error)
	}
}

func TestColdProbeJudgedByExchangeWhenUnfollowed(t *testing.T) {
	l := serveStream(t, "tcp4", "Stream", echoStream)

	// The watcher cannot follow the unit: the exchange decides.
	w := newScripted()
	w.err = errors.New("not followed")
	if r := longProber(w, time.Hour).Probe(context.Background(), coldTarget(l, unit.KindEcho)); r.Outcome != OK {
		t.Fatalf("unfollowed: got %s %q, want ok", r.Outcome, r.Error)
	}

	// The watcher loses the unit midway: the exchange decides.
	w = newScripted()
	res := probeAsync(longProber(w, time.Hour), coldTarget(l, unit.KindEcho))
	<-w.followed
	w.ch <- Activation{State: ActivationStarting}
	close(w.ch)
	if r := <-res; r.Outcome != OK {
		t.Fatalf("lost: got %s %q, want ok", r.Outcome, r.Error)
	}

	// A warm target is never followed.
	w = newScripted()
	if r := longProber(w, time.Hour).Probe(context.Background(), target(l, unit.KindEcho)); r.Outcome != OK {
		t.Fatalf("warm: got %s %q, want ok", r.Outcome, r.Error)
	}
	select {
	case u := <-w.followed:
		t.Fatalf("a warm probe followed %q", u)
	default:
	}
}

func TestColdProbeExchangeErrorWaitsForStart(t *testing.T) {
	// The server closes at once, while the service is starting: the
	// activation's failure, which explains it, is the answer.
	l := serveStream(t, "tcp4", "Stream", func(net.Conn) {})
	w := newScripted()
	res := probeAsync(longProber(w, time.Hour), coldTarget(l, unit.KindEcho))
	<-w.followed
	w.ch <- Activation{State: ActivationStarting}
	w.ch <- Activation{State: ActivationFailed, Reason: "socket: service-start-limit-hit"}
	if r := <-res; r.Outcome != Failed || !strings.Contains(r.Error, "service-start-limit-hit") {
		t.Fatalf("got %s %q, want failed", r.Outcome, r.Error)
	}

	// With the service up, the exchange's own error stands.
	w = newScripted()
	res = probeAsync(longProber(w, time.Hour), coldTarget(l, unit.KindEcho))
	<-w.followed
	w.ch <- Activation{State: ActivationUp}
	if r := <-res; r.Outcome != Error || !strings.Contains(r.Error, "without a reply") {
		t.Fatalf("got %s %q, want the exchange's error", r.Outcome, r.Error)
	}
}

func TestColdProbeCancelled(t *testing.T) {
	l := serveStream(t, "tcp4", "Stream", blackHole)
	w := newScripted()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Result, 1)
	go func() { out <- longProber(w, time.Hour).Probe(ctx, coldTarget(l, unit.KindConnect)) }()
	<-w.followed
	w.ch <- Activation{State: ActivationStarting}
	cancel()
	if r := <-out; r.Outcome != Error || r.Error != ErrCancelled {
		t.Fatalf("got %s %q, want cancelled", r.Outcome, r.Error)
	}
}

func TestColdProbeWaitsForTheFirstState(t *testing.T) {
	// The exchange fails before the watcher said anything: the state it
	// then delivers (the socket already failed) is the answer.
	l := refusedTCP(t)
	w := newScripted()
	p := longProber(w, time.Hour)
	exchanged := make(chan error, 1)
	p.exchanged = func(err error) { exchanged <- err }
	res := probeAsync(p, coldTarget(l, unit.KindConnect))
	<-w.followed
	if err := <-exchanged; err == nil {
		t.Fatal("a connection to a closed port went through")
	}
	w.ch <- Activation{State: ActivationFailed, Reason: "socket: service-start-limit-hit"}
	if r := <-res; r.Outcome != Failed || !strings.Contains(r.Error, "service-start-limit-hit") {
		t.Fatalf("got %s %q, want failed with the socket's reason", r.Outcome, r.Error)
	}
}

func TestColdProbeErrorThenFailure(t *testing.T) {
	// The socket gave up on its service and reset the connection a moment
	// before the failure's signal: the failure is the answer.
	l := serveStream(t, "tcp4", "Stream", func(net.Conn) {})
	w := newScripted()
	p := longProber(w, time.Hour)
	exchanged := make(chan error, 1)
	p.exchanged = func(err error) { exchanged <- err }
	res := probeAsync(p, coldTarget(l, unit.KindEcho))
	<-w.followed
	w.ch <- Activation{State: ActivationUp}
	if err := <-exchanged; err == nil {
		t.Fatal("the exchange with a closing server went through")
	}
	w.ch <- Activation{State: ActivationFailed, Reason: "socket: service-start-limit-hit"}
	if r := <-res; r.Outcome != Failed {
		t.Fatalf("got %s %q, want failed", r.Outcome, r.Error)
	}
}
