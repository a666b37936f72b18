package main_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/cputime"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

var floodFor = flag.Duration("flood", 10*time.Second, "how long BenchmarkLogPaneFlood's service floods its log (the issue says 10s)")

// maxFloodRSS is the bound on socktui's memory while its log pane
// follows a flood.
const maxFloodRSS = 64 << 20

// BenchmarkLogPaneFlood runs the real socktui on a terminal of its own (a
// pty this process reads as fast as a terminal would), opens the log pane
// on a socket whose service writes numbered lines to stdout as fast as it
// can for -flood (seq, into the sandbox's journald), and measures:
//
//   - key-ms-idle, key-ms-flood (p50) and key-p99-ms-flood: from writing a
//     key (tab, which moves the focus between the log pane and the
//     timeline) to the terminal output that shows it, before and during
//     the flood; x-flood/idle is the ratio of the two p50s;
//   - peak-MiB: socktui's peak RSS (VmHWM) over the whole run, which the
//     benchmark fails above 64 MiB (a bound on memory, not on time);
//   - lines-per-s: the lines that reached the pane during the flood (its
//     title counts them, kept and dropped);
//   - cpu-%: socktui's CPU during the flood, in % of one core.
//
// Everything shares the machine's cores with journald and journalctl, which
// the flood keeps busy: the ratio is what a user on this machine would feel.
func BenchmarkLogPaneFlood(b *testing.B) {
	sandboxtest.Need(b, "journalctl", "systemd")
	sandboxtest.Need(b, "seq", "coreutils")
	s := sandboxtest.Start(b)
	if s.JournalDir == "" {
		sandboxtest.Unavailable(b, "the sandbox has no journal: no systemd-journald on this host (apt-get install systemd)")
	}
	bin := testbin.Build(b, "cmd/socktui")
	for i := 0; i < b.N; i++ {
		// A name that sorts first: the list selects it without a filter.
		name := fmt.Sprintf("a-socktui-flood-%d-%d", os.Getpid(), i)
		sandboxtest.InstallUnits(b, s, map[string]string{
			name + ".socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(b)),
			name + ".service": "[Service]\nExecStart=/usr/bin/seq -f \"flood line %%.0f\" 1 100000000000\n",
		})
		sandboxtest.Systemctl(b, s, "start", name+".socket")
		r := runFlood(b, s, bin, name)
		b.ReportMetric(floodMS(r.idle.p50), "key-ms-idle")
		b.ReportMetric(floodMS(r.flood.p50), "key-ms-flood")
		b.ReportMetric(floodMS(r.flood.p99), "key-p99-ms-flood")
		b.ReportMetric(float64(r.flood.p50)/float64(r.idle.p50), "x-flood/idle")
		b.ReportMetric(float64(r.peakRSS)/(1<<20), "peak-MiB")
		b.ReportMetric(float64(r.lines)/r.floodWall.Seconds(), "lines-per-s")
		b.ReportMetric(100*float64(r.cpu)/float64(r.floodWall), "cpu-%")
		b.Logf("%s: %d key samples idle, %d in the flood; %d lines reached the pane in %s",
			name, r.idle.n, r.flood.n, r.lines, r.floodWall.Round(time.Millisecond))
		if r.peakRSS > maxFloodRSS {
			b.Errorf("socktui's peak RSS %.1f MiB is over %d MiB", float64(r.peakRSS)/(1<<20), maxFloodRSS>>20)
		}
	}
}

func floodMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencies summarizes key-to-frame samples.
type latencies struct {
	n        int
	p50, p99 time.Duration
}

func summarize(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return latencies{n: len(s), p50: s[(len(s)-1)/2], p99: s[(len(s)-1)*99/100]}
}

type floodResult struct {
	idle, flood latencies
	peakRSS     int64
	lines       int
	floodWall   time.Duration
	cpu         time.Duration
}

// runFlood runs socktui on a pty against s, opens the log pane on name's
// socket, measures keys idle, starts the flooding service, measures keys
// for -flood, and quits.
func runFlood(b *testing.B, s *sandbox.Sandbox, bin, name string) floodResult {
	b.Helper()
	term := startOnPTY(b, bin, append(s.Env(), "TERM=xterm-256color"), 120, 40)
	term.waitFor(b, "the first frame with the flood unit", 60*time.Second, name+".socket")
	term.key(b, "l", "the log pane open", 30*time.Second, "▸ [Logs "+name+".socket · following")

	// tab moves the focus to the timeline and back: each title is drawn
	// once, when the focus moves.
	toggle := func() time.Duration {
		want := "▸ [Timeline]"
		if term.focusOnTimeline {
			want = "▸ [Logs " + name
		}
		d := term.key(b, "\t", "the focus moved by tab", 30*time.Second, want)
		term.focusOnTimeline = !term.focusOnTimeline
		return d
	}
	var idle []time.Duration
	for range 40 {
		idle = append(idle, toggle())
		time.Sleep(time.Duration(rand.Int64N(int64(20 * time.Millisecond))))
	}
	if term.focusOnTimeline {
		toggle()
	}

	sandboxtest.Systemctl(b, s, "start", name+".service")
	term.waitFor(b, "the flood in the pane", 60*time.Second, "flood line")
	cpu0, _ := cputime.Process(term.cmd.Process.Pid)
	start := time.Now()
	var flood []time.Duration
	for time.Since(start) < *floodFor {
		flood = append(flood, toggle())
		time.Sleep(time.Duration(rand.Int64N(int64(20 * time.Millisecond))))
	}
	wall := time.Since(start)
	cpu1, _ := cputime.Process(term.cmd.Process.Pid)
	lines := term.paneLines()
	sandboxtest.Systemctl(b, s, "stop", name+".service")

	peak := term.peakRSS(b)
	term.quit(b)
	return floodResult{idle: summarize(idle), flood: summarize(flood), peakRSS: peak, lines: lines, floodWall: wall, cpu: cpu1 - cpu0}
}

// ptyTerm is a program on a pty whose output a goroutine reads at once,
// matching the strings a caller waits for. It answers no terminal query
// (an answer that comes late reads as keys).
type ptyTerm struct {
	cmd    *exec.Cmd
	master *os.File
	done   chan struct{} // closed when the output ends

	mu     sync.Mutex
	want   string
	seen   chan struct{}
	tail   []byte // the end of the output, for markers split across reads
	titles []byte // the newest log pane title seen
	recent []byte // the last output, for a failure's message

	focusOnTimeline bool
}

// startOnPTY starts bin on a new pty of w x h cells.
func startOnPTY(b *testing.B, bin string, env []string, w, h int) *ptyTerm {
	b.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		b.Fatal(err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		b.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		b.Fatalf("the pty's number: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(h), Col: uint16(w)}); err != nil {
		b.Fatalf("sizing the pty: %v", err)
	}
	stderr, err := os.Create(filepath.Join(b.TempDir(), "stderr"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	slave.Close()
	t := &ptyTerm{cmd: cmd, master: master, done: make(chan struct{})}
	go t.read()
	b.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		master.Close()
		stderr.Close()
		if out, err := os.ReadFile(stderr.Name()); err == nil && len(out) > 0 {
			b.Logf("socktui stderr:\n%s", out)
		}
	})
	return t
}

// paneTitleRE is the log pane's line count in its title.
var paneTitleRE = regexp.MustCompile(`(\d+) lines?(?: \((\d+) older dropped\))?`)

func (t *ptyTerm) read() {
	defer close(t.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			t.scan(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// scan matches a read against the awaited marker and keeps the log
// pane's newest title.
func (t *ptyTerm) scan(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	chunk := append(t.tail, p...)
	if t.want != "" && bytes.Contains(chunk, []byte(t.want)) {
		close(t.seen)
		t.want = ""
	}
	if i := bytes.LastIndex(chunk, []byte("[Logs ")); i >= 0 {
		end := bytes.IndexByte(chunk[i:], '\x1b')
		if end < 0 {
			end = min(len(chunk)-i, 300)
		}
		t.titles = append(t.titles[:0], chunk[i:i+end]...)
	}
	const keep = 512
	t.tail = append(t.tail[:0], chunk[max(0, len(chunk)-keep):]...)
	t.recent = append(t.recent, p...)
	t.recent = t.recent[max(0, len(t.recent)-4096):]
}

// expect arms a wait for want in the output from now on.
func (t *ptyTerm) expect(want string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want, t.seen = want, make(chan struct{})
	t.tail = t.tail[:0]
	return t.seen
}

func (t *ptyTerm) await(b *testing.B, what string, timeout time.Duration, seen <-chan struct{}) {
	b.Helper()
	select {
	case <-seen:
	case <-t.done:
		b.Fatalf("socktui's output ended while waiting for %s", what)
	case <-time.After(timeout):
		t.mu.Lock()
		recent := string(t.recent)
		t.mu.Unlock()
		b.Fatalf("no %s on socktui's terminal within %s; its last output: %q", what, timeout, recent)
	}
}

// waitFor waits until the output shows want (from now on, or already in the
// last frame's end).
func (t *ptyTerm) waitFor(b *testing.B, what string, timeout time.Duration, want string) {
	b.Helper()
	t.mu.Lock()
	already := bytes.Contains(t.tail, []byte(want))
	t.mu.Unlock()
	if already {
		return
	}
	t.await(b, what, timeout, t.expect(want))
}

// key writes k and returns how long until the output showed want.
func (t *ptyTerm) key(b *testing.B, k, what string, timeout time.Duration, want string) time.Duration {
	b.Helper()
	seen := t.expect(want)
	start := time.Now()
	if _, err := t.master.WriteString(k); err != nil {
		b.Fatalf("typing %q: %v", k, err)
	}
	t.await(b, what, timeout, seen)
	return time.Since(start)
}

// paneLines is every line the pane got, kept or dropped, from the newest
// title on the terminal.
func (t *ptyTerm) paneLines() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := paneTitleRE.FindSubmatch(t.titles)
	if m == nil {
		return 0
	}
	kept, _ := strconv.Atoi(string(m[1]))
	dropped, _ := strconv.Atoi(string(m[2]))
	return kept + dropped
}

// peakRSS is the program's VmHWM.
func (t *ptyTerm) peakRSS(b *testing.B) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", t.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// quit presses q and waits for socktui to exit 0.
func (t *ptyTerm) quit(b *testing.B) {
	b.Helper()
	t.master.WriteString("q")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exited := make(chan error, 1)
	go func() { exited <- t.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			b.Errorf("socktui after q: %v", err)
		}
	case <-ctx.Done():
		b.Fatalf("socktui did not exit within 30s of q")
	}
}
