package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/socktui/socktui/unit"
)

// fakeLogs is a LogSource that records each FollowLogs call; its streams
// are channels the test writes, closed when the stream's ctx ends (as the
// contract says), so a test can see a closed pane end its stream.
type fakeLogs struct {
	mu      sync.Mutex
	streams []*fakeLogStream
}

var _ LogSource = (*fakeLogs)(nil)

// fakeLogStream is one FollowLogs call.
type fakeLogStream struct {
	ctx  context.Context
	sock unit.Socket
	n    int
	in   chan unit.LogBatch // what the test sends
	out  chan unit.LogBatch // what the UI reads
	done chan struct{}      // closed once out is closed
}

func (f *fakeLogs) FollowLogs(ctx context.Context, s unit.Socket, n int) <-chan unit.LogBatch {
	st := &fakeLogStream{ctx: ctx, sock: s, n: n, in: make(chan unit.LogBatch, 64), out: make(chan unit.LogBatch), done: make(chan struct{})}
	f.mu.Lock()
	f.streams = append(f.streams, st)
	f.mu.Unlock()
	go func() {
		defer close(st.done)
		defer close(st.out)
		for {
			select {
			case <-ctx.Done():
				return
			case b, ok := <-st.in:
				if !ok {
					return
				}
				select {
				case st.out <- b:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return st.out
}

// stream is the i-th FollowLogs call, waiting for it up to flowWait.
func (f *fakeLogs) stream(t testing.TB, i int) *fakeLogStream {
	t.Helper()
	deadline := time.Now().Add(flowWait)
	for {
		f.mu.Lock()
		if len(f.streams) > i {
			st := f.streams[i]
			f.mu.Unlock()
			return st
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("FollowLogs was not called %d times", i+1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ended waits for the stream's context to end and its channel to close.
func (st *fakeLogStream) ended(t testing.TB) {
	t.Helper()
	select {
	case <-st.done:
	case <-time.After(flowWait):
		t.Fatalf("the log stream was not ended (ctx err %v)", st.ctx.Err())
	}
	if st.ctx.Err() == nil {
		t.Errorf("the stream's channel closed but its ctx was not cancelled")
	}
}

// entry is a log entry of unit at t0+sec.
func entry(u string, sec float64, prio int, msg string) unit.LogEntry {
	return unit.LogEntry{Time: t0.Add(time.Duration(sec * float64(time.Second))), Unit: u, Priority: prio, Message: msg}
}

// logLines is n numbered info lines of echo.service.
func logLines(from, n int) []unit.LogEntry {
	out := make([]unit.LogEntry, n)
	for i := range out {
		out[i] = entry("echo.service", float64(from+i)/1000, unit.PriorityInfo, fmt.Sprintf("line %d", from+i))
	}
	return out
}

// openedLogs is a loaded model with the log pane open on echo.socket, its
// stream started; it returns the model, the fake and the wait Cmd.
func openedLogs(t testing.TB, w, h int) (Model, *fakeLogs, tea.Cmd) {
	t.Helper()
	src := &fakeLogs{}
	m := newTestModel(t, Config{Logs: src, Select: "echo.socket"}, w, h)
	m, _ = apply(m, snapshot(append(otherSockets(), echoSocket(unit.StateActive))...))
	m, cmd := apply(m, keyMsg("l"))
	if !m.logs.open || m.focus != paneLogs {
		t.Fatalf("l did not open the log pane (open %v, focus %v)", m.logs.open, m.focus)
	}
	msgs := runCmd(cmd)
	if len(msgs) != 1 {
		t.Fatalf("l gave %v", msgs)
	}
	started, ok := msgs[0].(logsStartedMsg)
	if !ok {
		t.Fatalf("l gave %T, want logsStartedMsg", msgs[0])
	}
	m, wait := apply(m, started)
	if wait == nil {
		t.Fatal("the started stream is not waited on")
	}
	return m, src, wait
}

// deliver sends b on the stream, runs the wait Cmd and applies what it
// gives, returning the next wait Cmd.
func deliver(t testing.TB, m Model, st *fakeLogStream, wait tea.Cmd, b unit.LogBatch) (Model, tea.Cmd) {
	t.Helper()
	st.in <- b
	msg := wait()
	if _, ok := msg.(logsReceivedMsg); !ok {
		t.Fatalf("waiting for a batch gave %T", msg)
	}
	return apply(m, msg)
}

func TestLogsOpenFollowAndClose(t *testing.T) {
	m, src, wait := openedLogs(t, 100, 30)
	st := src.stream(t, 0)
	if st.sock.Unit != "echo.socket" || len(st.sock.Services) != 1 || st.n != logBacklog {
		t.Errorf("FollowLogs(%s, %d services, n=%d), want echo.socket with its service and n=%d", st.sock.Unit, len(st.sock.Services), st.n, logBacklog)
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "Logs echo.socket · following") || !strings.Contains(view, "Waiting for the log of echo.socket") {
		t.Errorf("the empty pane:\n%s", view)
	}

	m, wait = deliver(t, m, st, wait, unit.LogBatch{Entries: []unit.LogEntry{
		entry("echo.socket", 0, unit.PriorityInfo, "Listening on echo.socket."),
		entry("echo.service", 1, unit.PriorityInfo, "socktui-echo: fd 3: serving"),
	}})
	if wait == nil {
		t.Fatal("the stream is not re-armed after a batch")
	}
	view = ansi.Strip(m.View())
	for _, want := range []string{"05:06:07.000 I echo.socket  Listening on echo.socket.", "05:06:08.000 I echo.service socktui-echo: fd 3: serving", "2 lines", "─ Timeline"} {
		if !strings.Contains(view, want) {
			t.Errorf("the pane lacks %q:\n%s", want, view)
		}
	}

	m, cmd := apply(m, keyMsg("esc"))
	if m.logs.open || m.focus != paneList {
		t.Errorf("esc left the pane open (%v) or focus %v", m.logs.open, m.focus)
	}
	if cmd != nil {
		t.Errorf("esc returned a Cmd")
	}
	st.ended(t)
	// The wait still pending sees the closed channel; its message is
	// dropped and nothing waits again.
	m, cmd = apply(m, wait())
	if cmd != nil || m.logs.open {
		t.Errorf("the end of a closed stream re-armed (%v) or reopened the pane", cmd != nil)
	}
	if view := ansi.Strip(m.View()); !strings.Contains(view, "─ Detail") || strings.Contains(view, "Logs echo") {
		t.Errorf("after esc the detail pane is not back:\n%s", view)
	}
}

func TestLogsKeyDisabledWithoutSource(t *testing.T) {
	m := loaded(t, Config{Select: "echo.socket"}, echoSocket(unit.StateIdle))
	m, cmd := apply(m, keyMsg("l"))
	if m.logs.open || cmd != nil {
		t.Errorf("l opened a pane (%v) or ran a Cmd with no LogSource", m.logs.open)
	}
	m, _ = apply(m, keyMsg("?"))
	if strings.Contains(ansi.Strip(m.View()), "log") {
		t.Errorf("the help offers l with no LogSource:\n%s", ansi.Strip(m.View()))
	}
	m2 := loaded(t, Config{Select: "echo.socket", Logs: &fakeLogs{}}, echoSocket(unit.StateIdle))
	m2, _ = apply(m2, keyMsg("?"))
	if !strings.Contains(ansi.Strip(m2.View()), "follow the unit's log") {
		t.Errorf("the help lacks l:\n%s", ansi.Strip(m2.View()))
	}
}

func TestLogsNoUnitSelected(t *testing.T) {
	m := loaded(t, Config{Logs: &fakeLogs{}})
	m, cmd := apply(m, keyMsg("l"))
	if m.logs.open || cmd != nil || !strings.Contains(m.status.lastErr, "logs: no unit selected") {
		t.Errorf("l with no unit: open %v, cmd %v, error %q", m.logs.open, cmd != nil, m.status.lastErr)
	}
}

// Scrolled up, the pane keeps its lines in place as new ones come and
// says how many came; G follows again, and so does scrolling to the end.
func TestLogsScrollStopsFollowing(t *testing.T) {
	m, src, wait := openedLogs(t, 100, 30)
	st := src.stream(t, 0)
	m, wait = deliver(t, m, st, wait, unit.LogBatch{Entries: logLines(0, 100)})
	h := m.logs.height
	if m.logs.top.line != 100-h || !m.logs.follow {
		t.Fatalf("following: top %d (want %d), follow %v", m.logs.top.line, 100-h, m.logs.follow)
	}
	if !strings.Contains(m.View(), "line 99") {
		t.Errorf("the newest line is not in view")
	}
	m, _ = apply(m, keyMsg("k"))
	m, _ = apply(m, tea.KeyMsg{Type: tea.KeyPgUp})
	wantTop := 100 - h - 1 - h // the viewport's page is its height
	if m.logs.top.line != wantTop || m.logs.follow {
		t.Fatalf("after k and pgup: top %d (want %d), follow %v", m.logs.top.line, wantTop, m.logs.follow)
	}
	m, wait = deliver(t, m, st, wait, unit.LogBatch{Entries: logLines(100, 5)})
	if m.logs.top.line != wantTop {
		t.Errorf("new lines moved a scrolled pane: top %d, want %d", m.logs.top.line, wantTop)
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "5 new lines below (G follows)") || !strings.Contains(view, fmt.Sprintf("line %d ", wantTop)) {
		t.Errorf("scrolled pane:\n%s", view)
	}
	m, _ = apply(m, keyMsg("G"))
	if !m.logs.follow || m.logs.top.line != 105-h || m.logs.unseen != 0 {
		t.Errorf("G: follow %v, top %d (want %d), unseen %d", m.logs.follow, m.logs.top.line, 105-h, m.logs.unseen)
	}
	m, _ = apply(m, keyMsg("g"))
	if m.logs.top.line != 0 || m.logs.follow {
		t.Errorf("g: top %d, follow %v", m.logs.top.line, m.logs.follow)
	}
	if !strings.Contains(ansi.Strip(m.View()), "line 0 ") {
		t.Errorf("g does not show the first line")
	}
	for range 200 {
		m, _ = apply(m, tea.KeyMsg{Type: tea.KeyPgDown})
	}
	if !m.logs.follow {
		t.Errorf("paging to the end does not follow again (top %d of %d)", m.logs.top.line, m.logs.ring.len())
	}
	m, _ = deliver(t, m, st, wait, unit.LogBatch{Entries: logLines(105, 1)})
	if !strings.Contains(m.View(), "line 105") {
		t.Errorf("the new line is not shown once following again")
	}
}

// The pane keeps at most maxLogLines, dropping the oldest, whether they
// come in many batches or in one huge one; a scrolled pane keeps showing
// the same lines while older ones go.
func TestLogsBounded(t *testing.T) {
	m, src, wait := openedLogs(t, 100, 30)
	st := src.stream(t, 0)
	for i := 0; i < 25; i++ {
		m, wait = deliver(t, m, st, wait, unit.LogBatch{Entries: logLines(i*1000, 1000)})
	}
	if n := m.logs.ring.len(); n != maxLogLines || m.logs.ring.dropped != 15000 {
		t.Fatalf("ring holds %d lines, dropped %d; want %d and 15000", n, m.logs.ring.dropped, maxLogLines)
	}
	if first := m.logs.ring.at(0).text; first != "line 15000" {
		t.Errorf("oldest kept line %q, want line 15000", first)
	}
	if !strings.Contains(ansi.Strip(m.View()), "10000 lines (15000 older dropped)") {
		t.Errorf("the title does not say what was dropped:\n%s", ansi.Strip(m.View()))
	}

	m, _ = apply(m, keyMsg("k"))
	top := m.logs.top.line
	shown := m.logs.ring.at(top).text
	m, wait = deliver(t, m, st, wait, unit.LogBatch{Entries: logLines(25000, 100)})
	if got := m.logs.ring.at(m.logs.top.line).text; got != shown || m.logs.top.line != top-100 {
		t.Errorf("scrolled pane: top line %q at %d, want %q at %d", got, m.logs.top.line, shown, top-100)
	}

	// One batch of 30,000 lines: only the newest 10,000 are kept.
	m, _ = deliver(t, m, st, wait, unit.LogBatch{Entries: logLines(100000, 30000)})
	if n := m.logs.ring.len(); n != maxLogLines || m.logs.ring.at(0).text != "line 120000" || m.logs.ring.at(n-1).text != "line 129999" {
		t.Errorf("after a huge batch: %d lines, %q .. %q", n, m.logs.ring.at(0).text, m.logs.ring.at(n-1).text)
	}
	if m.logs.top.line != 0 {
		t.Errorf("the scrolled pane's top %d, want 0 once its lines are gone", m.logs.top.line)
	}
}

// A long line is cut and copied, so that the kept line does not hold the
// whole message.
func TestLogsCapLine(t *testing.T) {
	long := strings.Repeat("x", 50000)
	got := capLine(long)
	if len(got) != maxLogLineBytes+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("capLine kept %d bytes", len(got))
	}
	if capLine("crlf\r") != "crlf" {
		t.Errorf("capLine keeps a CR")
	}
}

// A batch's Err, Note and Dropped read in words; a closed stream says it ended;
// batches of a stream closed since (the pane was reopened) are dropped.
func TestLogsErrNoteAndStaleStreams(t *testing.T) {
	m, src, wait := openedLogs(t, 100, 30)
	st := src.stream(t, 0)
	m, wait = deliver(t, m, st, wait, unit.LogBatch{
		Entries: []unit.LogEntry{entry("echo.service", 0, unit.PriorityInfo, "from podman logs")},
		Note:    "no journal is reachable: journalctl: not found; showing podman logs",
	})
	m, wait = deliver(t, m, st, wait, unit.LogBatch{Dropped: 1234, Entries: []unit.LogEntry{entry("echo.service", 1, unit.PriorityInfo, "after the gap")}})
	m, _ = deliver(t, m, st, wait, unit.LogBatch{Err: errors.New("journalctl exited: exit status 1")})
	view := ansi.Strip(m.View())
	for _, want := range []string{"05:06:07.000 » no journal is reachable: journalctl: not found; showing podman logs",
		"05:06:08.000 » 1234 entries dropped here: the pane fell behind the log", "05:06:08.000 I echo.service after the gap",
		"05:06:07.000 ! the log stream stopped: journalctl exited: exit status 1"} {
		if !strings.Contains(view, want) {
			t.Errorf("the pane lacks %q:\n%s", want, view)
		}
	}
	if strings.Index(view, "dropped here") > strings.Index(view, "after the gap") {
		t.Errorf("the gap is not said before the batch's entries:\n%s", view)
	}
	close(st.in)
	m, cmd := apply(m, waitForLogs(1, st.out)())
	if cmd != nil || !m.logs.ended || !strings.Contains(ansi.Strip(m.View()), "» the log stream ended") || !strings.Contains(m.logs.title(), "ended") {
		t.Errorf("a closed stream: cmd %v, ended %v:\n%s", cmd != nil, m.logs.ended, ansi.Strip(m.View()))
	}

	// l on an ended stream starts a new one; the old stream's messages
	// are dropped.
	m, cmd = apply(m, keyMsg("l"))
	started := runCmd(cmd)[0].(logsStartedMsg)
	if started.stream != 2 || m.logs.ring.len() != 0 {
		t.Fatalf("reopen: stream %d, %d lines", started.stream, m.logs.ring.len())
	}
	old := make(chan unit.LogBatch)
	for _, msg := range []tea.Msg{
		logsStartedMsg{stream: 1, batches: old},
		logsReceivedMsg{stream: 1, batch: unit.LogBatch{Entries: logLines(0, 3)}, batches: old},
		logsEndedMsg{stream: 1},
	} {
		var c tea.Cmd
		m, c = apply(m, msg)
		if c != nil || m.logs.ring.len() != 0 || m.logs.ended {
			t.Errorf("%T of the old stream was applied", msg)
		}
	}
	if _, c := apply(m, started); c == nil {
		t.Errorf("the new stream is not waited on")
	}
}

// While the pane is open, tab moves between it and the timeline, the
// unit keys still act on the unit, and q quits.
func TestLogsKeys(t *testing.T) {
	var stopped []string
	src := &fakeLogs{}
	m := newTestModel(t, Config{Logs: src, Select: "echo.socket", Manager: &fakeManager{stopUnit: func(_ context.Context, u string) error {
		stopped = append(stopped, u)
		return nil
	}}}, 100, 30)
	m, _ = apply(m, snapshot(echoSocket(unit.StateActive)))
	m, cmd := apply(m, keyMsg("l"))
	runCmd(cmd)
	m, _ = apply(m, keyMsg("tab"))
	if m.focus != paneTimeline || !strings.Contains(ansi.Strip(m.View()), "▸ [Timeline]") {
		t.Errorf("tab: focus %v", m.focus)
	}
	m, _ = apply(m, keyMsg("tab"))
	if m.focus != paneLogs {
		t.Errorf("tab again: focus %v", m.focus)
	}
	m, cmd = apply(m, keyMsg("x"))
	runCmd(cmd)
	if len(stopped) != 1 || stopped[0] != "echo.service" || !m.logs.open {
		t.Errorf("x in the log pane: stopped %v, open %v", stopped, m.logs.open)
	}
	m, _ = apply(m, keyMsg("tab"))
	m, _ = apply(m, keyMsg("esc"))
	if m.logs.open || m.focus != paneList {
		t.Errorf("esc from the timeline: open %v, focus %v", m.logs.open, m.focus)
	}
	src.stream(t, 0).ended(t)
	m, _ = apply(m, keyMsg("l"))
	if _, cmd := apply(m, keyMsg("q")); cmd == nil || cmd() != tea.Quit() {
		t.Errorf("q in the log pane does not quit")
	}
}

func TestLogLineRows(t *testing.T) {
	st := newLogStyles(asciiRenderer())
	at := t0.Add(123 * time.Millisecond)
	tests := []struct {
		name string
		line logLine
		tagW int
		w    int
		want []string
	}{
		{"info", logLine{at: at, unit: "echo.service", text: "hello", prio: 6}, 12, 80,
			[]string{"05:06:07.123 I echo.service hello"}},
		{"tag padded", logLine{at: at, unit: "a.socket", text: "x", prio: 3}, 12, 80,
			[]string{"05:06:07.123 E a.socket     x"}},
		{"tag cut", logLine{at: at, unit: "a-very-long-name.service", text: "x", prio: 4}, 10, 80,
			[]string{"05:06:07.123 W a-very-lo… x"}},
		{"no priority", logLine{at: at, unit: "a", text: "x", prio: -1}, 1, 80,
			[]string{"05:06:07.123 - a x"}},
		{"continuation", logLine{at: at, unit: "echo.service", text: "second", prio: 6, cont: true}, 12, 80,
			[]string{"                            second"}},
		{"wrapped under its text", logLine{at: at, unit: "u", text: "Error: localhost/socktui-echo:latest: image not known", prio: 3}, 1, 40,
			[]string{"05:06:07.123 E u Error:", "                 localhost/socktui-", "                 echo:latest: image not", "                 known"}},
		{"too narrow to wrap: cut", logLine{at: at, unit: "a-long-unit.service", text: strings.Repeat("y", 100), prio: 6}, 19, 50,
			[]string{"05:06:07.123 I a-long-unit.service yyyyyyyyyyyyyy…"}},
		{"escapes", logLine{at: at, unit: "evil\x1b[2J.service", text: "\x1b]0;pwned\x07red\x1b[31m \u009b2J \x9b", prio: 6}, 19, 120,
			[]string{`05:06:07.123 I evil\x1b[2J.service \x1b]0;pwned\ared\x1b[31m \u009b2J \x9b`}},
		{"not UTF-8", logLine{at: at, unit: "u", text: "caf\xe9 \xff ok", prio: 6}, 1, 80,
			[]string{`05:06:07.123 I u caf\xe9 \xff ok`}},
		{"tabs", logLine{at: at, unit: "u", text: "a\tb\tc", prio: 6}, 1, 80,
			[]string{"05:06:07.123 I u a       b       c"}},
		{"note", logLine{at: at, text: "no journal is reachable: journalctl: not found; showing podman logs", kind: logNote}, 12, 60,
			[]string{"05:06:07.123 » no journal is reachable: journalctl: not", "               found; showing podman logs"}},
		{"error", logLine{at: at, text: "the log stream stopped: \x1b[2Jboom", kind: logError}, 12, 80,
			[]string{`05:06:07.123 ! the log stream stopped: \x1b[2Jboom`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logLineRows(&tt.line, tt.tagW, tt.w, st)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			for _, r := range got {
				if textWidth(r) > tt.w {
					t.Errorf("%q is %d cells, more than %d", r, textWidth(r), tt.w)
				}
			}
		})
	}
}

// A multi-line message is one line per line, the rest continuation lines;
// every line is sanitized in the frame.
func TestLogsMultiLineAndSanitized(t *testing.T) {
	m, src, wait := openedLogs(t, 80, 24)
	m, _ = deliver(t, m, src.stream(t, 0), wait, unit.LogBatch{Entries: []unit.LogEntry{
		entry("echo.service", 0, unit.PriorityErr, "panic: boom\n\tgoroutine 1\n\x1b[2Jcleared?\n"),
	}})
	if n := m.logs.ring.len(); n != 3 {
		t.Fatalf("%d lines, want 3", n)
	}
	view := m.View()
	assertFrame(t, view, 80, 24)
	plain := ansi.Strip(view)
	for _, want := range []string{"05:06:07.000 E echo.service panic: boom ", "\n" + strings.Repeat(" ", 28+8) + "goroutine 1 ", "\n" + strings.Repeat(" ", 28) + `\x1b[2Jcleared? `} {
		if !strings.Contains(plain, want) {
			t.Errorf("the frame lacks %q:\n%s", want, plain)
		}
	}
	if strings.Contains(view, "\x1b[2J") || strings.Contains(view, "\t") {
		t.Errorf("the frame holds a raw escape or tab")
	}
}

// Priorities are coloured on a colour terminal and only marked on a
// monochrome one (NO_COLOR gives lipgloss the ASCII profile).
func TestLogsColourAndMonochrome(t *testing.T) {
	line := logLine{at: t0, unit: "u", text: "failed", prio: unit.PriorityErr}
	colour := lipgloss.NewRenderer(io.Discard)
	colour.SetColorProfile(termenv.ANSI256)
	if got := logLineRows(&line, 1, 80, newLogStyles(colour))[0]; !strings.Contains(got, "\x1b[") || !strings.Contains(ansi.Strip(got), " E u failed") {
		t.Errorf("colour profile: %q", got)
	}
	if got := logLineRows(&line, 1, 80, newLogStyles(asciiRenderer()))[0]; strings.Contains(got, "\x1b") || !strings.Contains(got, " E u failed") {
		t.Errorf("ASCII profile: %q", got)
	}
}

// The log pane's frames at the two sizes people use most.
func TestLogsViewGolden(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"logs_80x24", 80, 24}, {"logs_60x15", 60, 15}} {
		t.Run(size.name, func(t *testing.T) {
			src := &fakeLogs{}
			m := newTestModel(t, Config{Logs: src, Select: "socktui-echo.socket", Hint: "press P to probe every endpoint"}, size.w, size.h)
			m, _ = apply(m, snapshot(demoSockets()...))
			m, cmd := apply(m, keyMsg("l"))
			m, wait := apply(m, runCmd(cmd)[0])
			m, _ = deliver(t, m, src.stream(t, 0), wait, unit.LogBatch{Entries: []unit.LogEntry{
				entry("socktui-echo.socket", 0, unit.PriorityInfo, "Listening on socktui-echo.socket - socktui echo workload."),
				entry("socktui-echo.service", 0.2, unit.PriorityInfo, "Starting socktui-echo.service - socktui echo workload..."),
				entry("socktui-echo.service", 0.4, unit.PriorityNotice, "socktui-echo-39527"),
				entry("socktui-echo.service", 0.5, unit.PriorityInfo, "socktui-echo: fd 3 (tcp4 127.0.0.1:39527): serving\nsocktui-echo: fd 4 (udp4 127.0.0.1:39527): serving"),
				entry("socktui-echo.service", 0.5, unit.PriorityInfo, "Started socktui-echo.service - socktui echo workload."),
				entry("socktui-echo.service", 1.5, unit.PriorityWarning, "socktui-echo: fd 9: accept: too many open files"),
				entry("socktui-echo.service", 2, unit.PriorityErr, "Error: socktui-echo-39527: container exited: \x1b[31mexit status 1\x1b[0m"),
				entry("socktui-echo.service", 2.1, unit.PriorityDebug, "debug line"),
				entry("socktui-echo.service", 2.2, unit.PriorityUnknown, "no priority"),
			}})
			view := m.View()
			assertFrame(t, view, size.w, size.h)
			golden(t, size.name, view)
		})
	}
}

// Wrapped lines scroll a row at a time; following keeps the newest row on
// the pane's last line, also after a resize.
func TestLogsWrappedScroll(t *testing.T) {
	m, src, wait := openedLogs(t, 60, 20)
	long := make([]unit.LogEntry, 30)
	for i := range long {
		long[i] = entry("echo.service", float64(i), unit.PriorityInfo, fmt.Sprintf("message %d %s end%d", i, strings.Repeat("word ", 12), i))
	}
	m, _ = deliver(t, m, src.stream(t, 0), wait, unit.LogBatch{Entries: long})
	rows := len(m.logs.rows(29))
	if rows < 2 {
		t.Fatalf("a long line takes %d rows at 60 cells, want it wrapped", rows)
	}
	lastLogRow := func(m Model) string {
		lines := strings.Split(ansi.Strip(m.View()), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "─ Timeline") {
				return strings.TrimSpace(lines[i-1])
			}
		}
		t.Fatalf("no timeline title in\n%s", ansi.Strip(m.View()))
		return ""
	}
	if got := lastLogRow(m); !strings.HasSuffix(got, "end29") {
		t.Errorf("following: the pane's last row is %q, want the end of the newest line", got)
	}
	before := m.logs.top
	m, _ = apply(m, keyMsg("k"))
	up := m.logs.top
	if !up.before(before) || m.logs.follow || (before.row > 0 && (up.line != before.line || up.row != before.row-1)) || (before.row == 0 && up.row != len(m.logs.rows(up.line))-1) {
		t.Errorf("k moved the top from %+v to %+v, want one row up", before, up)
	}
	m, _ = apply(m, keyMsg("j"))
	if m.logs.top != before || !m.logs.follow {
		t.Errorf("j: top %+v, follow %v; want %+v following", m.logs.top, m.logs.follow, before)
	}
	m, _ = apply(m, tea.WindowSizeMsg{Width: 100, Height: 30})
	if got := lastLogRow(m); !strings.HasSuffix(got, "end29") {
		t.Errorf("after a resize: the pane's last row is %q", got)
	}
	assertFrame(t, m.View(), 100, 30)
}

// The help overlay offers l and still fits the smallest terminal; the log
// pane fits it too, its title cut, never a line too many.
func TestLogsHelpAndPaneFitSmallTerminals(t *testing.T) {
	for _, size := range [][2]int{{60, 15}, {80, 24}} {
		w, h := size[0], size[1]
		m := newTestModel(t, Config{Logs: &fakeLogs{}, Select: "echo.socket", InstallDemo: func(context.Context) error { return nil }}, w, h)
		m, _ = apply(m, snapshot(echoSocket(unit.StateIdle)))
		m, _ = apply(m, keyMsg("?"))
		view := m.View()
		assertFrame(t, view, w, h)
		// The description may be cut to keep every key on screen.
		if !regexp.MustCompile(`(?m)\bl +follow the`).MatchString(ansi.Strip(view)) {
			t.Errorf("%dx%d help lacks l:\n%s", w, h, ansi.Strip(view))
		}
		m, _ = apply(m, keyMsg("esc"))
		m, cmd := apply(m, keyMsg("l"))
		m, _ = apply(m, runCmd(cmd)[0])
		m.logs.add(unit.LogBatch{Entries: logLines(0, 50)}, t0)
		m, _ = apply(m, tea.WindowSizeMsg{Width: w, Height: h})
		view = m.View()
		assertFrame(t, view, w, h)
		if !strings.Contains(view, "line 49") || !strings.Contains(view, "─ Timeline") {
			t.Errorf("%dx%d log pane:\n%s", w, h, ansi.Strip(view))
		}
	}
}
