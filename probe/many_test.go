package probe

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNoLeak (prober_test.go) runs 1,000 probes through ProbeAll with 32 at
// a time. The tests here add what it leaves out: 1,000 Probe calls in a
// row, 200 probes truly at once, and a check that every target gets exactly
// one result with the outcome its endpoint deserves.

// settled waits until the process has no more fds and goroutines than
// before, failing the test with the counts when it does not within a
// generous deadline.
func settled(t *testing.T, what string, fds, gs int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fdsAfter, gsAfter := countFDs(t), runtime.NumGoroutine()
		if fdsAfter <= fds && gsAfter <= gs {
			t.Logf("%s: fds %d -> %d, goroutines %d -> %d", what, fds, fdsAfter, gs, gsAfter)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leak after %s: fds %d -> %d, goroutines %d -> %d", what, fds, fdsAfter, gs, gsAfter)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closeAtOnce is a server that takes the connection and closes it without
// a byte back.
func closeAtOnce(net.Conn) {}

func TestThousandProbesInARow(t *testing.T) {
	cases := []struct {
		l    listener
		kind Kind
		want Outcome
	}{
		{serveStream(t, "tcp4", "Stream", echoStream), KindEcho, OK},
		{serveStream(t, "unix", "Stream", echoStream), KindEcho, OK},
		{serveStream(t, "unixpacket", "SequentialPacket", echoPacket), KindEcho, OK},
		{servePacket(t, "udp4", func(b []byte) []byte { return b }), KindEcho, OK},
		{serveStream(t, "tcp6", "Stream", closeAtOnce), KindEcho, Error},
		{refusedTCP(t), KindConnect, Refused},
		{serveStream(t, "tcp4", "Stream", wrongAnswer), KindEcho, Mismatch},
		{servePacket(t, "unixgram", func([]byte) []byte { return nil }), KindEcho, Timeout},
	}
	fds, gs := countFDs(t), runtime.NumGoroutine()
	p := &Prober{Timeout: 20 * time.Millisecond}
	got := map[Outcome]int{}
	for i := range 1000 {
		c := cases[i%len(cases)]
		if c.want == Timeout && i >= 100 {
			// Timeouts cost their bound each; ten of them show the path.
			c = cases[0]
		}
		tgt := target(c.l, c.kind)
		if c.want != Timeout {
			// A loaded machine must not turn an answer into a timeout.
			p.Timeout = 10 * time.Second
		} else {
			p.Timeout = 20 * time.Millisecond
		}
		r := p.Probe(context.Background(), tgt)
		if r.Outcome != c.want {
			t.Fatalf("probe %d of %s %s: %s (%s), want %s", i, tgt.Type, tgt.Address, r.Outcome, r.Error, c.want)
		}
		got[r.Outcome]++
	}
	t.Logf("outcomes of 1000 probes in a row: %v", got)
	settled(t, "1000 probes in a row", fds, gs)
}

// TestTwoHundredProbesAtOnce holds every connection until all 200 are open,
// so the probes really run at the same time, then answers them all.
func TestTwoHundredProbesAtOnce(t *testing.T) {
	const n = 200
	var open, peak atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	barrier := func(c net.Conn) {
		now := open.Add(1)
		defer open.Add(-1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		if now == n {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-time.After(30 * time.Second):
		}
		echoStream(c)
	}
	l := serveStream(t, "tcp4", "Stream", barrier)
	ts := make([]Target, n)
	for i := range ts {
		ts[i] = target(l, KindEcho)
	}

	fds, gs := countFDs(t), runtime.NumGoroutine()
	p := &Prober{Parallel: n, Timeout: 60 * time.Second}
	seen := make([]int, n)
	for r := range p.ProbeAll(context.Background(), ts) {
		if r.Index < 0 || r.Index >= n {
			t.Fatalf("result for target %d of %d", r.Index, n)
		}
		seen[r.Index]++
		if r.Outcome != OK {
			t.Errorf("probe %d: %s (%s)", r.Index, r.Outcome, r.Error)
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("target %d: %d results, want 1", i, c)
		}
	}
	if got := peak.Load(); got != n {
		t.Errorf("at most %d connections open at once, want %d", got, n)
	}
	settled(t, "200 probes at once", fds, gs)
}
