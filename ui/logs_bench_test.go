package ui

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/internal/stats"
	"github.com/socktui/socktui/unit"
)

// The log pane under the flood, 100,000 lines a second, with a fake
// LogSource (the real journal cannot write that fast here: see
// BenchmarkLogPaneFlood in cmd/socktui for the whole path).
var logFlood = flag.Duration("log-flood", 10*time.Second, "how long BenchmarkLogPaneFakeFlood floods the log pane")

// floodBatch is one batch of n numbered lines from line from on, as the
// journal reader delivers them (every 50 ms).
func floodBatch(from, n int) unit.LogBatch {
	es := make([]unit.LogEntry, n)
	now := time.Now()
	for i := range es {
		es[i] = unit.LogEntry{Time: now, Unit: "bench-0000.service", Priority: unit.PriorityInfo,
			Message: fmt.Sprintf("flood line %d: the quick brown fox jumps over the lazy dog", from+i)}
	}
	return unit.LogBatch{Entries: es}
}

// BenchmarkLogPaneFakeFlood runs the real program as Run builds it (1,000
// units, FrameRate) with the log pane following a source that delivers
// 100,000 lines a second in 50 ms batches for -log-flood, and measures the
// key -> frame latency of tab (which moves the focus between the pane and
// the timeline) before and during the flood: key-ms-idle and key-ms-flood
// (p50), key-p99-ms-flood, and x-flood/idle, the ratio of the p50s. MiB is
// the process's RSS after the flood (the test binary included), heap-MiB
// the live heap; lines-per-s what the source delivered.
func BenchmarkLogPaneFakeFlood(b *testing.B) {
	const perSecond, interval = 100_000, 50 * time.Millisecond
	for i := 0; i < b.N; i++ {
		src := &fakeLogs{}
		out := &screenWriter{}
		ctx, cancel := context.WithCancel(context.Background())
		ch := make(chan unit.Event, 1)
		mgr := &fakeManager{watch: func(context.Context) <-chan unit.Event { return ch }}
		in, inw := io.Pipe()
		p, scr := newProgram(ctx, Config{Manager: mgr, Prober: &fakeProber{}, Logs: src, ManagerName: "bench", Renderer: asciiRenderer()},
			out, FrameRate, tea.WithInput(in), tea.WithoutSignalHandler())
		done := make(chan error, 1)
		go func() { _, err := p.Run(); scr.Stop(); done <- err }()
		p.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
		loaded := out.expect("bench-0000.socket")
		ch <- unit.Event{Kind: unit.Snapshot, At: time.Now(), Sockets: manySockets(benchUnits)}
		<-loaded

		key := func(k tea.KeyMsg, want string) time.Duration {
			seen := out.expect(want)
			start := time.Now()
			p.Send(k)
			select {
			case <-seen:
			case <-time.After(30 * time.Second):
				b.Fatalf("no %q on the screen within 30s", want)
			}
			return time.Since(start)
		}
		key(keyMsg("l"), "Logs bench-0000.socket · following")
		st := src.stream(b, 0)
		onTimeline := false
		toggle := func() time.Duration {
			want := "▸ [Timeline]"
			if onTimeline {
				want = "▸ [Logs bench-0000.socket"
			}
			onTimeline = !onTimeline
			return key(keyMsg("tab"), want)
		}
		var idle, flood []time.Duration
		for range 40 {
			idle = append(idle, toggle())
			time.Sleep(time.Duration(rand.Int64N(int64(20 * time.Millisecond))))
		}

		// The source: a batch every interval, as the journal reader sends.
		stop := make(chan struct{})
		sent := make(chan int, 1)
		go func() {
			n := 0
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-stop:
					sent <- n
					return
				case <-t.C:
					b := floodBatch(n, perSecond*int(interval)/int(time.Second))
					select {
					case st.in <- b:
						n += len(b.Entries)
					case <-stop:
						sent <- n
						return
					}
				}
			}
		}()
		start := time.Now()
		for time.Since(start) < *logFlood {
			flood = append(flood, toggle())
			time.Sleep(time.Duration(rand.Int64N(int64(20 * time.Millisecond))))
		}
		close(stop)
		lines, wall := <-sent, time.Since(start)

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, _ := vmRSS()
		p.Quit()
		<-done
		cancel()
		inw.Close()

		il, fl := latencySummary(idle), latencySummary(flood)
		b.ReportMetric(msOf(il.p50), "key-ms-idle")
		b.ReportMetric(msOf(fl.p50), "key-ms-flood")
		b.ReportMetric(msOf(fl.p99), "key-p99-ms-flood")
		b.ReportMetric(float64(fl.p50)/float64(il.p50), "x-flood/idle")
		b.ReportMetric(rss/(1<<20), "MiB")
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(lines)/wall.Seconds(), "lines-per-s")
	}
}

// BenchmarkLogBatch is the model's cost of one 5,000-line batch (50 ms of
// the flood) into a following pane holding 10,000 lines, and of
// the frame after it (ms-per-5000); ms-per-10 is the same for a batch of
// 10 lines.
func BenchmarkLogBatch(b *testing.B) {
	run := func(n, rounds int) time.Duration {
		m, src, wait := openedLogs(b, 120, 40)
		st := src.stream(b, 0)
		m, wait = deliver(b, m, st, wait, floodBatch(0, maxLogLines))
		batches := make([]tea.Msg, rounds)
		for i := range batches {
			batches[i] = logsReceivedMsg{stream: m.logs.stream, batch: floodBatch(maxLogLines+i*n, n), batches: st.out}
		}
		_ = wait
		start := time.Now()
		for _, msg := range batches {
			m, _ = apply(m, msg)
			_ = m.View()
		}
		return time.Since(start) / time.Duration(rounds)
	}
	var per, floor time.Duration
	for i := 0; i < b.N; i++ {
		floor = run(10, 200)
		per = run(5000, 100)
	}
	b.ReportMetric(msOf(per), "ms-per-5000")
	b.ReportMetric(msOf(floor), "ms-per-10")
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type latencyStats struct{ p50, p99 time.Duration }

func latencySummary(ds []time.Duration) latencyStats {
	return latencyStats{p50: stats.Percentile(ds, 0.5), p99: stats.Percentile(ds, 0.99)}
}
