package ui

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/systemdbus"
)

// The benchmarks measure the goals with fakes (no systemd): frame
// time after a state change, time to the first full frame, memory with
// 1,000 socket units, and CPU while idle. Run them with
//
//	go test ./ui -run '^$' -bench . -benchtime 2s
var idleWindow = flag.Duration("idle-window", 3*time.Second, "how long BenchmarkIdleCPU watches an idle program")

const benchUnits = 1000

// loadedModel is a 120x40 model holding n idle units.
func loadedModel(b *testing.B, n int) Model {
	b.Helper()
	m := newTestModel(b, Config{Now: time.Now}, 120, 40)
	m, _ = apply(m, snapshot(manySockets(n)...))
	return m
}

// stateChanges alternates each unit between activating and idle, as the
// events of a first connection and a stop would.
func stateChanges(n int) []tea.Msg {
	socks := manySockets(n)
	evs := make([]tea.Msg, 0, 2*n)
	for i := range socks {
		up := socks[i]
		up.SubState, up.State = "running", systemdbus.StateActivating
		up.Services = []systemdbus.Service{{Unit: up.Services[0].Unit, ActiveState: "activating", SubState: "start"}}
		evs = append(evs, event(systemdbus.Event{Kind: systemdbus.UnitChanged, At: time.Now(), Socket: &up}))
		down := socks[i]
		evs = append(evs, event(systemdbus.Event{Kind: systemdbus.UnitChanged, At: time.Now(), Socket: &down}))
	}
	return evs
}

// frameTimes applies events one at a time, renders after each, and returns
// the time each Update+View took.
func frameTimes(m Model, evs []tea.Msg, frames int) []time.Duration {
	out := make([]time.Duration, 0, frames)
	for i := 0; i < frames; i++ {
		start := time.Now()
		m, _ = apply(m, evs[i%len(evs)])
		_ = m.View()
		out = append(out, time.Since(start))
	}
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkStateChangeFrame is the time from a state-change event reaching
// Update to the new frame being rendered, with 1,000 units; the ratio
// compares it with the same work for 10 units measured in the same run.
func BenchmarkStateChangeFrame(b *testing.B) {
	floorModel := loadedModel(b, 10)
	floor := frameTimes(floorModel, stateChanges(10), 500)

	m := loadedModel(b, benchUnits)
	evs := stateChanges(benchUnits)
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		m, _ = apply(m, evs[i%len(evs)])
		_ = m.View()
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(times, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(times, 0.99)), "p99-ms")
	b.ReportMetric(float64(percentile(times, 0.5))/float64(percentile(floor, 0.5)), "x-10-units")
}

// BenchmarkFirstFrame is the time from a fresh model receiving the first
// Snapshot of 1,000 units to its first full frame.
func BenchmarkFirstFrame(b *testing.B) {
	snap := snapshot(manySockets(benchUnits)...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := New(context.Background(), Config{Manager: &fakeManager{}, Prober: &fakeProber{}, ManagerName: "bench", Renderer: asciiRenderer()})
		m, _ = apply(m, tea.WindowSizeMsg{Width: 120, Height: 40})
		m, _ = apply(m, snap)
		if v := m.View(); !strings.Contains(v, "bench-0000.socket") {
			b.Fatal("first frame lacks the first unit")
		}
	}
	b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/first-frame")
}

// BenchmarkMemory is the live heap a model with 1,000 units keeps (after a
// frame and a GC), and the RSS of the whole benchmark process.
func BenchmarkMemory(b *testing.B) {
	var before, after runtime.MemStats
	var heap float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := loadedModel(b, benchUnits)
		m = m.withFrame()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(heap/(1<<20), "heap-MiB")
	if rss, ok := vmRSS(); ok {
		b.ReportMetric(rss/(1<<20), "rss-MiB")
	}
}

func (m Model) withFrame() Model {
	_ = m.View()
	return m
}

// vmRSS is the resident set size of this process from /proc/self/status.
func vmRSS() (float64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleCPU runs the real program with 1,000 units and nothing
// happening, and reports the CPU it uses as a percentage of one core over
// -idle-window (the whole process, Bubble Tea's renderer included).
func BenchmarkIdleCPU(b *testing.B) {
	for _, fps := range []int{60, FrameRate} {
		b.Run(fmt.Sprintf("fps=%d", fps), func(b *testing.B) { benchIdleCPU(b, fps) })
	}
}

func benchIdleCPU(b *testing.B, fps int) {
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		delivered := make(chan struct{})
		mgr := &fakeManager{watch: func(ctx context.Context) <-chan systemdbus.Event {
			ch := make(chan systemdbus.Event)
			go func() {
				defer close(ch)
				select {
				case ch <- systemdbus.Event{Kind: systemdbus.Snapshot, At: time.Now(), Sockets: manySockets(benchUnits)}:
					close(delivered)
				case <-ctx.Done():
				}
				<-ctx.Done()
			}()
			return ch
		}}
		in, inw := io.Pipe()
		var msgs atomic.Int64 // every message Update gets
		count := func(_ tea.Model, msg tea.Msg) tea.Msg { msgs.Add(1); return msg }
		p := tea.NewProgram(New(ctx, Config{Manager: mgr, Prober: &fakeProber{}, ManagerName: "bench", Renderer: asciiRenderer()}),
			tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithoutSignalHandler(), tea.WithContext(ctx), tea.WithFilter(count), tea.WithFPS(fps))
		done := make(chan error, 1)
		go func() { _, err := p.Run(); done <- err }()
		p.Send(tea.WindowSizeMsg{Width: 120, Height: 40}) // blocks until the program runs
		<-delivered
		// Let the first frames settle before the window starts.
		time.Sleep(200 * time.Millisecond)
		runtime.GC()
		startCPU, start, startMsgs := cpuTime(), time.Now(), msgs.Load()
		time.Sleep(*idleWindow)
		used, wall, idleMsgs := cpuTime()-startCPU, time.Since(start), msgs.Load()-startMsgs
		p.Quit()
		<-done
		cancel()
		inw.Close()
		b.ReportMetric(100*float64(used)/float64(wall), "cpu-%")
		b.ReportMetric(float64(idleMsgs), "msgs-while-idle")
	}
}

// screenWriter is a program's output that signals when a write holds want.
type screenWriter struct {
	mu   sync.Mutex
	want string
	seen chan struct{}
}

func (w *screenWriter) expect(want string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want, w.seen = want, make(chan struct{})
	return w.seen
}

func (w *screenWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.want != "" && bytes.Contains(p, []byte(w.want)) {
		close(w.seen)
		w.want = ""
	}
	return len(p), nil
}

// BenchmarkEventToScreen is the whole path in the real program with 1,000
// units: from a state-change event sent by the (fake) manager to the
// terminal write that shows it, Bubble Tea's 60 fps renderer included.
func BenchmarkEventToScreen(b *testing.B) {
	for _, fps := range []int{60, FrameRate} {
		b.Run(fmt.Sprintf("fps=%d", fps), func(b *testing.B) { benchEventToScreen(b, fps) })
	}
}

func benchEventToScreen(b *testing.B, fps int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan systemdbus.Event)
	mgr := &fakeManager{watch: func(context.Context) <-chan systemdbus.Event { return events }}
	out := &screenWriter{}
	in, inw := io.Pipe()
	defer inw.Close()
	p := tea.NewProgram(New(ctx, Config{Manager: mgr, Prober: &fakeProber{}, ManagerName: "bench", Renderer: asciiRenderer()}),
		tea.WithInput(in), tea.WithOutput(out), tea.WithoutSignalHandler(), tea.WithContext(ctx), tea.WithFPS(fps))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	socks := manySockets(benchUnits)
	seen := out.expect("bench-0000.socket")
	events <- systemdbus.Event{Kind: systemdbus.Snapshot, At: time.Now(), Sockets: socks}
	<-seen

	// The selected unit flips between activating and idle; its badge shows
	// the new state in the list and the detail pane.
	up := socks[0]
	up.SubState, up.State = "running", systemdbus.StateActivating
	down := socks[0]
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, want := systemdbus.Event{Kind: systemdbus.UnitChanged, Socket: &up}, "[activating]"
		if i%2 == 1 {
			ev, want = systemdbus.Event{Kind: systemdbus.UnitChanged, Socket: &down}, "[idle]"
		}
		// Events come at any phase of the renderer's frame clock, not just
		// after a frame was written: wait a random part of a frame first.
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second / time.Duration(fps)))))
		seen := out.expect(want)
		start := time.Now()
		ev.At = start
		events <- ev
		<-seen
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	p.Quit()
	<-done
	b.ReportMetric(ms(percentile(times, 0.5)), "p50-ms")
	b.ReportMetric(ms(percentile(times, 0.99)), "p99-ms")
}
