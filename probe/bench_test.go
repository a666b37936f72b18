package probe

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/socktui/socktui/unit"
)

// BenchmarkWarmEcho compares a warm echo probe with the floor: a bare loop
// of dial, write, read and close on the same listener, interleaved in the
// same run. It reports both round trips and their ratio (goal: <= 1.5).
func BenchmarkWarmEcho(b *testing.B) {
	for _, network := range []string{"tcp4", "unix"} {
		b.Run(network, func(b *testing.B) {
			l := serveStream(b, network, "Stream", echoStream)
			ep, err := ParseListen(l.Type, l.Address)
			if err != nil {
				b.Fatal(err)
			}
			var p Prober
			ctx := context.Background()
			tg := target(l, unit.KindEcho)
			msg := []byte("socktui-probe " + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "\n") // a nonce's size
			got := make([]byte, len(msg))
			floor := func() {
				c, err := net.Dial(string(ep.Network), ep.Dial)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, got); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			// Warm both paths up.
			for range 100 {
				floor()
				p.Probe(ctx, tg)
			}
			var floorT, probeT time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				floor()
				t1 := time.Now()
				r := p.Probe(ctx, tg)
				t2 := time.Now()
				if r.Outcome != OK {
					b.Fatalf("probe: %+v", r)
				}
				floorT += t1.Sub(t0)
				probeT += t2.Sub(t1)
			}
			b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/rtt")
			b.ReportMetric(float64(probeT.Nanoseconds())/float64(b.N), "probe-ns/rtt")
			b.ReportMetric(float64(probeT)/float64(floorT), "probe/floor")
		})
	}
}

// BenchmarkProbeAll probes seven endpoints (one per network) that each
// delay their answer, the slowest by 40ms, and compares probing them all at
// once with probing the slowest alone (goal: a ratio near 1, far from the
// sum of the delays).
func BenchmarkProbeAll(b *testing.B) {
	delayed := func(d time.Duration) func([]byte) []byte {
		return func(p []byte) []byte { time.Sleep(d); return p }
	}
	const ms = time.Millisecond
	ls := []listener{
		serveStream(b, "tcp4", "Stream", delayedEcho(10*ms)),
		serveStream(b, "tcp6", "Stream", delayedEcho(15*ms)),
		servePacket(b, "udp4", delayed(20*ms)),
		servePacket(b, "udp6", delayed(25*ms)),
		serveStream(b, "unix", "Stream", delayedEcho(30*ms)),
		serveStream(b, "unixpacket", "SequentialPacket", delayedEcho(35*ms)),
		servePacket(b, "unixgram", delayed(40*ms)),
	}
	var sum time.Duration
	for d := 10 * ms; d <= 40*ms; d += 5 * ms {
		sum += d
	}
	ts := make([]unit.Target, len(ls))
	for i, l := range ls {
		ts[i] = target(l, unit.KindEcho)
	}
	slowest := ts[len(ts)-1]
	var p Prober
	ctx := context.Background()
	var allT, slowT time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		for r := range p.ProbeAll(ctx, ts) {
			if r.Outcome != OK {
				b.Fatalf("probe: %+v", r)
			}
		}
		t1 := time.Now()
		if r := p.Probe(ctx, slowest); r.Outcome != OK {
			b.Fatalf("probe: %+v", r)
		}
		allT += t1.Sub(t0)
		slowT += time.Since(t1)
	}
	b.ReportMetric(float64(allT.Microseconds())/float64(b.N)/1000, "all-ms")
	b.ReportMetric(float64(slowT.Microseconds())/float64(b.N)/1000, "slowest-ms")
	b.ReportMetric(float64(sum.Milliseconds()), "sum-of-delays-ms")
	b.ReportMetric(float64(allT)/float64(slowT), "all/slowest")
}

// BenchmarkVsockUnsupported measures how fast a vsock probe reports
// unsupported on a host without a loopback transport (goal: well under
// 100ms).
func BenchmarkVsockUnsupported(b *testing.B) {
	var p Prober
	tg := unit.Target{Unit: "v.socket", Type: "Stream", Address: "vsock::3000", Kind: unit.KindEcho}
	r := p.Probe(context.Background(), tg)
	b.Logf("outcome %s: %s", r.Outcome, r.Error)
	for range b.N {
		p.Probe(context.Background(), tg)
	}
}
