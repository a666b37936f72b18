package probe

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socktui/socktui/unit"
)

func target(l listener, kind unit.Kind) unit.Target {
	return unit.Target{Unit: "test.socket", Type: l.Type, Address: l.Address, Kind: kind}
}

func TestProbeOutcomes(t *testing.T) {
	okHTTP := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	ping := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			w.Write([]byte("OK"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	tests := []struct {
		name    string
		start   func(t *testing.T) listener
		kind    unit.Kind
		socket  string
		want    Outcome
		network unit.Network
		errHas  string // a part of Result.Error
	}{
		{"tcp4 echo", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", echoStream) }, unit.KindEcho, "", OK, unit.TCP4, ""},
		{"tcp6 echo", func(t *testing.T) listener { return serveStream(t, "tcp6", "Stream", echoStream) }, unit.KindEcho, "", OK, unit.TCP6, ""},
		{"unix echo", func(t *testing.T) listener { return serveStream(t, "unix", "Stream", echoStream) }, unit.KindEcho, "", OK, unit.Unix, ""},
		{"seqpacket echo", func(t *testing.T) listener { return serveStream(t, "unixpacket", "SequentialPacket", echoPacket) }, unit.KindEcho, "", OK, unit.Unixpacket, ""},
		{"udp4 echo", func(t *testing.T) listener { return servePacket(t, "udp4", func(b []byte) []byte { return b }) }, unit.KindEcho, "", OK, unit.UDP4, ""},
		{"udp6 echo", func(t *testing.T) listener { return servePacket(t, "udp6", func(b []byte) []byte { return b }) }, unit.KindEcho, "", OK, unit.UDP6, ""},
		{"unixgram echo", func(t *testing.T) listener { return servePacket(t, "unixgram", func(b []byte) []byte { return b }) }, unit.KindEcho, "", OK, unit.Unixgram, ""},
		{"tcp4 connect", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", blackHole) }, unit.KindConnect, "", OK, unit.TCP4, ""},
		{"udp4 connect", func(t *testing.T) listener { return servePacket(t, "udp4", func([]byte) []byte { return nil }) }, unit.KindConnect, "", OK, unit.UDP4, ""},
		{"unixgram connect", func(t *testing.T) listener { return servePacket(t, "unixgram", func([]byte) []byte { return nil }) }, unit.KindConnect, "", OK, unit.Unixgram, ""},
		{"seqpacket connect", func(t *testing.T) listener { return serveStream(t, "unixpacket", "SequentialPacket", blackHole) }, unit.KindConnect, "", OK, unit.Unixpacket, ""},
		{"http", func(t *testing.T) listener { return serveHTTP(t, "tcp4", okHTTP) }, unit.KindHTTP, "", OK, unit.TCP4, ""},
		{"podman ping", func(t *testing.T) listener { return serveHTTP(t, "unix", ping) }, unit.KindAuto, "podman.socket", OK, unit.Unix, ""},
		{"auto echo", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", echoStream) }, unit.KindAuto, "socktui-echo.socket", OK, unit.TCP4, ""},

		{"tcp4 mismatch", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", wrongAnswer) }, unit.KindEcho, "", Mismatch, unit.TCP4, "got"},
		{"udp4 mismatch", func(t *testing.T) listener {
			return servePacket(t, "udp4", func([]byte) []byte { return []byte("nope") })
		}, unit.KindEcho, "", Mismatch, unit.UDP4, "nope"},
		{"seqpacket mismatch", func(t *testing.T) listener { return serveStream(t, "unixpacket", "SequentialPacket", wrongAnswer) }, unit.KindEcho, "", Mismatch, unit.Unixpacket, "got"},
		{"closed at once", func(t *testing.T) listener { return serveStream(t, "unix", "Stream", func(net.Conn) {}) }, unit.KindEcho, "", Error, unit.Unix, "without a reply"},
		{"not http", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", echoStream) }, unit.KindHTTP, "", Mismatch, unit.TCP4, "not an HTTP response"},
		{"http 502", func(t *testing.T) listener { return serveHTTP(t, "tcp4", failing) }, unit.KindHTTP, "", Mismatch, unit.TCP4, "502"},
		{"ping not OK", func(t *testing.T) listener { return serveHTTP(t, "unix", okHTTP) }, unit.KindAuto, "podman.socket", Mismatch, unit.Unix, "_ping"},

		{"tcp4 refused", refused(refusedTCP), unit.KindEcho, "", Refused, unit.TCP4, "connection refused"},
		{"tcp4 refused connect", refused(refusedTCP), unit.KindConnect, "", Refused, unit.TCP4, "connection refused"},
		{"unix refused", refused(deadUnix), unit.KindConnect, "", Refused, unit.Unix, "connection refused"},
		{"unix missing", func(t *testing.T) listener { return listener{"Stream", t.TempDir() + "/none.sock"} }, unit.KindConnect, "", Refused, unit.Unix, "connection refused"},
		{"udp4 refused", func(t *testing.T) listener { l := refusedTCP(t); return listener{"Datagram", l.Address} }, unit.KindEcho, "", Refused, unit.UDP4, "connection refused"},
		{"udp4 refused connect", func(t *testing.T) listener { l := refusedTCP(t); return listener{"Datagram", l.Address} }, unit.KindConnect, "", Refused, unit.UDP4, "connection refused"},

		{"http over udp", func(t *testing.T) listener { return servePacket(t, "udp4", func(b []byte) []byte { return b }) }, unit.KindHTTP, "", Unsupported, unit.UDP4, "stream"},
		{"not loopback", func(t *testing.T) listener { return listener{"Stream", "192.0.2.1:80"} }, unit.KindConnect, "", Unsupported, unit.TCP4, "loopback"},
		{"fifo", func(t *testing.T) listener { return listener{"FIFO", "/run/fifo"} }, unit.KindConnect, "", Unsupported, unit.FIFO, "not a socket"},
		{"bad entry", func(t *testing.T) listener { return listener{"Stream", "localhost:80"} }, unit.KindConnect, "", Error, "", "numeric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := tt.start(t)
			tg := target(l, tt.kind)
			if tt.socket != "" {
				tg.Unit = tt.socket
			}
			p := &Prober{Timeout: 10 * time.Second}
			r := p.Probe(context.Background(), tg)
			if r.Outcome != tt.want || r.Network != tt.network || !strings.Contains(r.Error, tt.errHas) {
				t.Fatalf("Probe(%+v) = %+v; want outcome %q, network %q, error containing %q", tg, r, tt.want, tt.network, tt.errHas)
			}
			if tt.want == OK && r.Error != "" {
				t.Errorf("ok with error %q", r.Error)
			}
			if r.Unit != tg.Unit || r.Type != l.Type || r.Address != l.Address {
				t.Errorf("result names %q %q %q, want the target's", r.Unit, r.Type, r.Address)
			}
			if r.Kind == unit.KindAuto || r.Kind == "" {
				t.Errorf("Kind = %q, want the kind used", r.Kind)
			}
			if r.Outcome == OK && (r.RTT <= 0 || r.RTTms <= 0) {
				t.Errorf("RTT = %v, RTTms = %v; want them set", r.RTT, r.RTTms)
			}
			if r.Kind == unit.KindEcho && r.Outcome == OK && r.Bytes == 0 {
				t.Errorf("echo ok with 0 bytes")
			}
			if r.Kind == unit.KindHTTP && r.Outcome == OK && !strings.HasPrefix(r.Status, "HTTP/1.1 200") {
				t.Errorf("Status = %q, want the status line", r.Status)
			}
		})
	}
}

func refused(f func(testing.TB) listener) func(t *testing.T) listener {
	return func(t *testing.T) listener { return f(t) }
}

func TestProbeTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	silent := func(t *testing.T, network string) listener {
		return servePacket(t, network, func([]byte) []byte { return nil })
	}
	tests := []struct {
		name   string
		start  func(t *testing.T) listener
		kind   unit.Kind
		errHas string
	}{
		{"tcp black hole echo", func(t *testing.T) listener { return serveStream(t, "tcp4", "Stream", blackHole) }, unit.KindEcho, "reply: no answer within 300ms"},
		{"tcp black hole http", func(t *testing.T) listener { return serveStream(t, "tcp6", "Stream", blackHole) }, unit.KindHTTP, "reply: no answer"},
		{"seqpacket black hole", func(t *testing.T) listener { return serveStream(t, "unixpacket", "SequentialPacket", blackHole) }, unit.KindEcho, "reply: no answer"},
		{"udp4 never replies", func(t *testing.T) listener { return silent(t, "udp4") }, unit.KindEcho, "reply: no answer"},
		{"udp6 never replies", func(t *testing.T) listener { return silent(t, "udp6") }, unit.KindEcho, "reply: no answer"},
		{"unixgram never replies", func(t *testing.T) listener { return silent(t, "unixgram") }, unit.KindEcho, "client's abstract address @socktui-probe-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := tt.start(t)
			p := &Prober{Timeout: timeout, ColdTimeout: time.Minute}
			start := time.Now()
			r := p.Probe(context.Background(), target(l, tt.kind))
			took := time.Since(start)
			if r.Outcome != Timeout || !strings.Contains(r.Error, tt.errHas) {
				t.Fatalf("Probe = %+v; want timeout with error containing %q", r, tt.errHas)
			}
			// The warm timeout ended it, not the cold one (a minute): the
			// error names the bound that fired.
			if want := "no answer within " + timeout.String(); !strings.Contains(r.Error, want) {
				t.Errorf("error %q, want it to say %q", r.Error, want)
			}
			// It waited for its timeout. (A lower bound only: timers never
			// fire early, however loaded the machine.)
			if took < timeout {
				t.Errorf("the probe took %v, less than its timeout %v", took, timeout)
			}
		})
	}
}

func TestProbeColdTimeout(t *testing.T) {
	t.Parallel()
	l := serveStream(t, "tcp4", "Stream", blackHole)
	const warm, cold = 50 * time.Millisecond, 600 * time.Millisecond
	p := &Prober{Timeout: warm, ColdTimeout: cold}
	tg := target(l, unit.KindEcho)
	tg.Cold = true
	// Each probe waits at least its own timeout (a lower bound cannot fail
	// on a loaded machine) and its error names that timeout, not the other.
	start := time.Now()
	r := p.Probe(context.Background(), tg)
	if took := time.Since(start); r.Outcome != Timeout || !r.Cold || took < cold || !strings.Contains(r.Error, "within "+cold.String()) {
		t.Fatalf("cold probe of a black hole = %+v after %v; want a cold timeout of %v", r, took, cold)
	}
	tg.Cold = false
	start = time.Now()
	r = p.Probe(context.Background(), tg)
	if took := time.Since(start); r.Outcome != Timeout || r.Cold || took < warm || !strings.Contains(r.Error, "within "+warm.String()) {
		t.Fatalf("warm probe of a black hole = %+v after %v; want a warm timeout of %v", r, took, warm)
	}
}

func TestProberDefaults(t *testing.T) {
	var p Prober
	if p.parallel() != DefaultParallel || p.timeout(false) != DefaultTimeout || p.timeout(true) != DefaultColdTimeout {
		t.Errorf("zero Prober: parallel %d, timeouts %v/%v", p.parallel(), p.timeout(false), p.timeout(true))
	}
	p = Prober{Timeout: time.Minute, ColdTimeout: time.Second}
	if p.timeout(true) != time.Minute {
		t.Errorf("cold timeout %v, want never shorter than the warm one", p.timeout(true))
	}
}

func TestProbeVsockUnsupported(t *testing.T) {
	for _, tg := range []unit.Target{
		{Unit: "v.socket", Type: "Stream", Address: "vsock::3000", Kind: unit.KindEcho},
		{Unit: "v.socket", Type: "SequentialPacket", Address: "vsock:1:3001", Kind: unit.KindConnect},
		{Unit: "v.socket", Type: "Stream", Address: "vsock:2:3000", Kind: unit.KindConnect},
	} {
		p := &Prober{Timeout: time.Minute}
		start := time.Now()
		r := p.Probe(context.Background(), tg)
		took := time.Since(start)
		t.Logf("%s %s: %s %q in %v", tg.Type, tg.Address, r.Outcome, r.Error, took)
		if want := (unit.Listen{Type: tg.Type, Address: tg.Address}).Network(); r.Network != want || !strings.HasPrefix(string(r.Network), "vsock") {
			t.Errorf("Network = %q, want %s", r.Network, want)
		}
		// Hosts with vsock_loopback refuse (nothing listens); this one has
		// none and must say so without waiting for the timeout: a probe
		// that waited for it would end as a timeout.
		if r.Outcome != Unsupported && !(r.Outcome == Refused && tg.Address != "vsock:2:3000") {
			t.Errorf("Probe(%s) = %+v, want unsupported", tg.Address, r)
		}
		if r.Outcome == Unsupported && !strings.Contains(r.Error, "vsock") {
			t.Errorf("unsupported without a reason naming vsock: %q", r.Error)
		}
	}
}

func TestProbeAllCancel(t *testing.T) {
	var accepted atomic.Int32
	l := serveStream(t, "tcp4", "Stream", func(c net.Conn) {
		accepted.Add(1)
		blackHole(c)
	})
	const n, parallel = 20, 4
	ts := make([]unit.Target, n)
	for i := range ts {
		ts[i] = target(l, unit.KindEcho)
	}
	// The probes' timeout is an hour: only the cancel can end them. The
	// guard below fails a hang long before go test's own timeout, and is
	// no bound on how fast the results come.
	p := &Prober{Parallel: parallel, Timeout: time.Hour, ColdTimeout: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := p.ProbeAll(ctx, ts)
	waitFor(t, "the first probes to connect", func() bool { return accepted.Load() == parallel })
	cancel()
	seen := map[int]bool{}
	guard := time.After(2 * time.Minute)
	for done := false; !done; {
		select {
		case r, ok := <-ch:
			if !ok {
				done = true
				break
			}
			if r.Outcome != Error || r.Error != ErrCancelled {
				t.Errorf("result %d = %+v, want cancelled", r.Index, r)
			}
			seen[r.Index] = true
		case <-guard:
			t.Fatalf("results for %d of %d targets two minutes after the cancel: the probes wait for their hour-long timeout", len(seen), n)
		}
	}
	if len(seen) != n {
		t.Errorf("got results for %d targets, want %d", len(seen), n)
	}
	if got := accepted.Load(); got != parallel {
		t.Errorf("%d connections, want %d: probes started after the cancel", got, parallel)
	}
}

func TestProbeAllResults(t *testing.T) {
	echo := serveStream(t, "tcp4", "Stream", echoStream)
	ts := []unit.Target{target(echo, unit.KindEcho), target(refusedTCP(t), unit.KindConnect), {Unit: "f", Type: "FIFO", Address: "/x"}}
	for i := 0; i < 10; i++ {
		ts = append(ts, target(echo, unit.KindConnect))
	}
	var p Prober
	got := map[int]Result{}
	for r := range p.ProbeAll(context.Background(), ts) {
		if _, dup := got[r.Index]; dup {
			t.Errorf("two results for target %d", r.Index)
		}
		got[r.Index] = r
	}
	if len(got) != len(ts) {
		t.Fatalf("%d results, want %d", len(got), len(ts))
	}
	if got[0].Outcome != OK || got[1].Outcome != Refused || got[2].Outcome != Unsupported {
		t.Errorf("results 0-2: %+v %+v %+v", got[0], got[1], got[2])
	}
	if _, open := <-p.ProbeAll(context.Background(), nil); open {
		t.Errorf("ProbeAll(nil) delivered a result")
	}
}

// TestNoLeak probes 1,000 times, every outcome, and checks that every
// goroutine and file descriptor the probes started is gone afterwards.
func TestNoLeak(t *testing.T) {
	ls := []listener{
		serveStream(t, "tcp4", "Stream", echoStream),
		serveStream(t, "unix", "Stream", echoStream),
		serveStream(t, "unixpacket", "SequentialPacket", echoPacket),
		servePacket(t, "udp6", func(b []byte) []byte { return b }),
		servePacket(t, "unixgram", func(b []byte) []byte { return b }),
		serveStream(t, "tcp4", "Stream", wrongAnswer),
		servePacket(t, "udp4", func([]byte) []byte { return nil }), // timeout
		refusedTCP(t),
		{"Stream", "vsock::3000"},
	}
	kinds := []unit.Kind{unit.KindEcho, unit.KindConnect, unit.KindHTTP}
	ts := make([]unit.Target, 1000)
	for i := range ts {
		ts[i] = target(ls[i%len(ls)], kinds[i%len(kinds)])
	}
	base := takeBaseline(t)
	p := &Prober{Parallel: 32, Timeout: 50 * time.Millisecond}
	outcomes := map[Outcome]int{}
	for r := range p.ProbeAll(context.Background(), ts) {
		outcomes[r.Outcome]++
	}
	t.Logf("outcomes of %d probes: %v", len(ts), outcomes)
	for _, o := range []Outcome{OK, Mismatch, Timeout, Refused, Unsupported} {
		if outcomes[o] == 0 {
			t.Errorf("no %s among the outcomes %v", o, outcomes)
		}
	}
	settled(t, "1000 probes through ProbeAll", base)
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
