package echo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/stats"
	"github.com/socktui/socktui/workloads/echo"
)

// The benchmarks compare the echo server with a floor measured in the same
// run: a minimal echo loop (read into a 64 KiB buffer, write it back, one
// goroutine per connection, no deadlines, no caps, no counters) on the same
// socket type, both in this process, with the same client. Rounds alternate
// between the two so that noise from other work on the machine hits both
// alike. The figures are reported as metrics; nothing is asserted on speed.
//
//	go test -run '^$' -bench Echo ./workloads/echo/
//
// Goals (issue 3): throughput with 64 KiB writes >= 0.9x the floor's, p50
// round trip <= 1.2x the floor's.

const (
	throughputBytes  = 64 << 20 // per round and side
	throughputRounds = 8
	rttPings         = 2000 // per round and side
	rttRounds        = 4
	pingSize         = 64
	chunk            = 64 << 10
)

// echoTarget is something to benchmark: the address of an echo server.
type echoTarget struct{ network, addr string }

// startFloor serves the minimal echo loop on a new listener.
func startFloor(b *testing.B, network, addr string) echoTarget {
	b.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, chunk)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						if errors.Is(err, io.EOF) {
							c.(interface{ CloseWrite() error }).CloseWrite()
						}
						return
					}
				}
			}()
		}
	}()
	return echoTarget{network, l.Addr().String()}
}

// startServer serves echo.Server with its defaults on a new socket.
func startServer(b *testing.B, network, addr string) echoTarget {
	b.Helper()
	sock, err := echo.ListenOn(network + ":" + addr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	srv := echo.NewServer(echo.Config{}, []*echo.Socket{sock})
	go func() { srv.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return echoTarget{network, sock.Addr}
}

// throughput sends n bytes in 64 KiB writes through one connection while
// reading the echo, and returns how long the whole echo took.
func throughput(b *testing.B, tg echoTarget, n int) time.Duration {
	b.Helper()
	c, err := net.Dial(tg.network, tg.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	begin := time.Now()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, chunk)
		for sent := 0; sent < n; sent += chunk {
			if _, err := c.Write(buf); err != nil {
				errc <- err
				return
			}
		}
		errc <- c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	buf := make([]byte, chunk)
	got := 0
	for {
		m, err := c.Read(buf)
		got += m
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatalf("reading the echo: %v", err)
		}
	}
	elapsed := time.Since(begin)
	if err := <-errc; err != nil {
		b.Fatalf("writing: %v", err)
	}
	if got != n {
		b.Fatalf("echoed %d bytes, want %d", got, n)
	}
	return elapsed
}

// pings measures n round trips of pingSize bytes on one connection.
func pings(b *testing.B, c net.Conn, n int, into []time.Duration) []time.Duration {
	b.Helper()
	msg := make([]byte, pingSize)
	buf := make([]byte, pingSize)
	for range n {
		begin := time.Now()
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		into = append(into, time.Since(begin))
	}
	return into
}

func benchTargets(b *testing.B, network string) (floor, server echoTarget) {
	switch network {
	case "tcp":
		return startFloor(b, "tcp4", "127.0.0.1:0"), startServer(b, "tcp4", "127.0.0.1:0")
	case "unix":
		dir := b.TempDir()
		return startFloor(b, "unix", filepath.Join(dir, "floor.sock")), startServer(b, "unix", filepath.Join(dir, "echo.sock"))
	}
	b.Fatalf("unknown network %s", network)
	return
}

func BenchmarkEchoThroughput(b *testing.B) {
	for _, network := range []string{"tcp", "unix"} {
		b.Run(network, func(b *testing.B) {
			floor, server := benchTargets(b, network)
			var tf, ts time.Duration
			for range b.N {
				for r := range throughputRounds {
					if r%2 == 0 {
						tf += throughput(b, floor, throughputBytes)
						ts += throughput(b, server, throughputBytes)
					} else {
						ts += throughput(b, server, throughputBytes)
						tf += throughput(b, floor, throughputBytes)
					}
				}
			}
			mb := float64(b.N*throughputRounds*throughputBytes) / 1e6
			b.ReportMetric(mb/tf.Seconds(), "floor-MB/s")
			b.ReportMetric(mb/ts.Seconds(), "echo-MB/s")
			b.ReportMetric(tf.Seconds()/ts.Seconds(), "x-floor")
		})
	}
}

func BenchmarkEchoRoundTrip(b *testing.B) {
	for _, network := range []string{"tcp", "unix"} {
		b.Run(network, func(b *testing.B) {
			floor, server := benchTargets(b, network)
			fc, err := net.Dial(floor.network, floor.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer fc.Close()
			sc, err := net.Dial(server.network, server.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer sc.Close()
			var df, ds []time.Duration
			for range b.N {
				for r := range rttRounds {
					if r%2 == 0 {
						df = pings(b, fc, rttPings, df)
						ds = pings(b, sc, rttPings, ds)
					} else {
						ds = pings(b, sc, rttPings, ds)
						df = pings(b, fc, rttPings, df)
					}
				}
			}
			pf, ps := stats.Percentile(df, 0.5), stats.Percentile(ds, 0.5)
			b.ReportMetric(float64(pf.Nanoseconds()), "floor-p50-ns")
			b.ReportMetric(float64(ps.Nanoseconds()), "echo-p50-ns")
			b.ReportMetric(float64(ps)/float64(pf), "x-floor")
		})
	}
}
