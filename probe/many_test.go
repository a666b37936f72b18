package probe

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socktui/socktui/unit"
	"go.uber.org/goleak"
)

// TestNoLeak (prober_test.go) runs 1,000 probes through ProbeAll with 32 at
// a time. The tests here add what it leaves out: 1,000 Probe calls in a
// row, 200 probes truly at once, and a check that every target gets exactly
// one result with the outcome its endpoint deserves.

// baseline is what a test holds once its servers run, before it probes:
// its goroutines and its open file descriptors. Tests that check for leaks
// do not run in parallel with others, and fds are compared by number and
// what they point at, so a leak cannot hide behind an fd another test
// closed meanwhile.
type baseline struct {
	goroutines goleak.Option
	fds        map[string]bool // "NUMBER TARGET"
}

func takeBaseline(t *testing.T) baseline {
	t.Helper()
	return baseline{goroutines: goleak.IgnoreCurrent(), fds: openFDs(t)}
}

// openFDs is the process's open fds as "NUMBER TARGET", leaving out the one
// reading /proc/self/fd.
func openFDs(t *testing.T) map[string]bool {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]bool{}
	for _, e := range es {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory's own fd, closed by now
		}
		if strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/fd") {
			continue
		}
		fds[e.Name()+" "+target] = true
	}
	return fds
}

// settled waits until every goroutine started since b (goleak) has ended
// and every fd opened since b is closed. Goroutines and fds of probes end
// asynchronously on the server side, so it polls; the deadline only guards
// against a leak that never ends.
func settled(t *testing.T, what string, b baseline) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var fdLeak []string
		for fd := range openFDs(t) {
			if !b.fds[fd] {
				fdLeak = append(fdLeak, fd)
			}
		}
		gErr := goleak.Find(b.goroutines)
		if gErr == nil && len(fdLeak) == 0 {
			return
		}
		if time.Now().After(deadline) {
			slices.Sort(fdLeak)
			t.Fatalf("leak after %s: fds still open %v; goroutines: %v", what, fdLeak, gErr)
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
		kind unit.Kind
		want Outcome
	}{
		{serveStream(t, "tcp4", "Stream", echoStream), unit.KindEcho, OK},
		{serveStream(t, "unix", "Stream", echoStream), unit.KindEcho, OK},
		{serveStream(t, "unixpacket", "SequentialPacket", echoPacket), unit.KindEcho, OK},
		{servePacket(t, "udp4", func(b []byte) []byte { return b }), unit.KindEcho, OK},
		{serveStream(t, "tcp6", "Stream", closeAtOnce), unit.KindEcho, Error},
		{refusedTCP(t), unit.KindConnect, Refused},
		{serveStream(t, "tcp4", "Stream", wrongAnswer), unit.KindEcho, Mismatch},
		{servePacket(t, "unixgram", func([]byte) []byte { return nil }), unit.KindEcho, Timeout},
	}
	base := takeBaseline(t)
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
	settled(t, "1000 probes in a row", base)
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
	ts := make([]unit.Target, n)
	for i := range ts {
		ts[i] = target(l, unit.KindEcho)
	}

	base := takeBaseline(t)
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
	settled(t, "200 probes at once", base)
}
