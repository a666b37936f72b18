package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// LogSource is what the UI needs to follow a unit's log (journal.Reader
// satisfies it).
type LogSource interface {
	// FollowLogs streams the log of socket s, its services and their
	// containers: first the last n lines, then new ones as they are
	// written, in batches. The channel is closed when ctx ends or the
	// stream stops on its own (its last batch then says why in Err); a
	// send never blocks past the end of ctx, so a reader may stop reading
	// once it cancelled ctx.
	FollowLogs(ctx context.Context, s unit.Socket, n int) <-chan unit.LogBatch
}

// Bounds of the log pane.
const (
	// maxLogLines is how many lines the log pane keeps; older ones are
	// dropped as new ones come.
	maxLogLines = 10000
	// logBacklog is how many past lines the pane asks for when it opens.
	logBacklog = 1000
	// maxLogLineBytes is how much of one line of a message the pane keeps
	// (a journal line can hold 48 KiB); the rest is cut with "…".
	maxLogLineBytes = 1024
)

// paneLogs is the log pane's focus. It is not one of the panes tab cycles
// through: while it is open, tab moves between it and the timeline.
const paneLogs = numPanes

// Messages of a log stream. stream numbers the streams the pane opened, so
// that a batch of a stream closed since is dropped.

// logsStartedMsg carries the batches of stream number stream.
type logsStartedMsg struct {
	stream  int
	batches <-chan unit.LogBatch
}

// logsReceivedMsg is one batch of stream number stream.
type logsReceivedMsg struct {
	stream  int
	batch   unit.LogBatch
	batches <-chan unit.LogBatch // to wait for the next one
}

// logsEndedMsg says the batches of stream number stream were closed.
type logsEndedMsg struct{ stream int }

// followLogs starts following s's log as stream number stream; ctx is the
// stream's own, which the model cancels when the pane closes.
func followLogs(ctx context.Context, src LogSource, s unit.Socket, n, stream int) tea.Cmd {
	return func() tea.Msg {
		return logsStartedMsg{stream: stream, batches: src.FollowLogs(ctx, s, n)}
	}
}

// waitForLogs waits for the next batch of a stream; re-armed after each.
func waitForLogs(stream int, batches <-chan unit.LogBatch) tea.Cmd {
	return func() tea.Msg {
		b, ok := <-batches
		if !ok {
			return logsEndedMsg{stream: stream}
		}
		return logsReceivedMsg{stream: stream, batch: b, batches: batches}
	}
}

// logKind is what a line of the log pane is.
type logKind uint8

const (
	logEntry logKind = iota // a line of a log entry
	logNote                 // what the stream said about itself (LogBatch.Note, its end)
	logError                // why the stream stopped (LogBatch.Err)
)

// logLine is one line of the log pane, kept as it came: it is sanitized
// and styled only when it is in view, so that a flood costs a copy per
// line and no rendering.
type logLine struct {
	at   time.Time
	unit string // the entry's unit, raw
	text string // one line of the message, raw, at most maxLogLineBytes
	prio int8
	kind logKind
	cont bool // a continuation line of a multi-line message
}

// logRing is the pane's lines, the newest last: at most max of them, the
// oldest overwritten first.
type logRing struct {
	buf     []logLine
	head    int // index in buf of the oldest line once buf is full
	max     int
	dropped int // lines overwritten since the pane opened
}

func (r *logRing) len() int { return len(r.buf) }

// at is line i, 0 the oldest.
func (r *logRing) at(i int) *logLine { return &r.buf[(r.head+i)%len(r.buf)] }

// push appends l, dropping the oldest line when the ring is full.
func (r *logRing) push(l logLine) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, l)
		return
	}
	r.buf[r.head] = l
	r.head = (r.head + 1) % len(r.buf)
	r.dropped++
}

// logStyles are the log pane's styles: one per syslog priority, for the
// mark and the message (the mark alone tells the priority).
type logStyles struct {
	prio  [unit.PriorityDebug + 1]lipgloss.Style
	plain lipgloss.Style
	stamp lipgloss.Style
	note  lipgloss.Style
	err   lipgloss.Style
}

// newLogStyles builds the log pane's styles for a renderer as NewStyles
// does; nil means lipgloss's default renderer, which honours NO_COLOR.
func newLogStyles(r *lipgloss.Renderer) logStyles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	st := func() lipgloss.Style { return r.NewStyle() }
	red := st().Bold(true).Foreground(lipgloss.Color("9"))
	return logStyles{
		prio: [...]lipgloss.Style{
			unit.PriorityEmerg: red, unit.PriorityAlert: red, unit.PriorityCrit: red, unit.PriorityErr: red,
			unit.PriorityWarning: st().Foreground(lipgloss.Color("11")),
			unit.PriorityNotice:  st().Bold(true),
			unit.PriorityInfo:    st(),
			unit.PriorityDebug:   st().Faint(true),
		},
		plain: st(),
		stamp: st().Faint(true),
		note:  st().Italic(true).Foreground(lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#7571F9"}),
		err:   red,
	}
}

// style is the style of priority p.
func (s logStyles) style(p int) lipgloss.Style {
	if p < 0 || p >= len(s.prio) {
		return s.plain
	}
	return s.prio[p]
}

// logsModel is the log pane: the log of one socket unit, its services and
// containers, followed live from a LogSource. Its lines are kept, raw, in
// a ring of at most maxLogLines; a line is sanitized, styled and wrapped
// into rows only when it comes near the view, and its rows are cached
// while it stays there. The viewport holds the rows from a page above the
// view to a page below it, so that neither a flood nor 10,000 kept lines
// costs more than a few screenfuls per change. It follows the newest line
// until the user scrolls up, and again once they scroll back to the
// bottom (as less +F and k9s do).
type logsModel struct {
	open   bool
	socket unit.Socket // the socket whose log is shown
	key    rowKey      // its row
	// hostLabel is its host's label when the UI shows several, else "".
	hostLabel string
	stream    int // the number of the open stream; 0 before the first
	cancel    context.CancelFunc
	ended     bool // the stream's channel was closed

	ring   logRing
	top    logPos // the first row in view
	follow bool   // stay at the newest line
	unseen int    // lines that came below the view while not following
	tags   map[string]int
	tagW   int // the widest unit tag seen

	width, height int
	vp            viewport.Model
	winRows       []logPos // the line and row of each of the viewport's rows
	dirty         bool     // the viewport's rows need building again
	styles        logStyles

	// cache is the rows of lines near the view, by sequence number
	// (ring.dropped + index), at cacheW cells with tags of cacheTag.
	cache            map[int][]string
	cacheW, cacheTag int
}

// logPos is a row of the log: row of line (a wrapped line has several).
type logPos struct{ line, row int }

func (p logPos) before(q logPos) bool {
	return p.line < q.line || p.line == q.line && p.row < q.row
}

func newLogs(k keyMap, r *lipgloss.Renderer) logsModel {
	vp := viewport.New(0, 0)
	vp.KeyMap = k.viewportKeys()
	return logsModel{vp: vp, styles: newLogStyles(r), ring: logRing{max: maxLogLines}}
}

// openLogs opens the log pane on the selected unit and starts following
// its log; the pane already following that unit stays as it is.
func (m Model) openLogs() (Model, tea.Cmd) {
	r := m.list.current(&m.units)
	if r == nil {
		m.fail(fmt.Errorf("logs: no unit selected"))
		return m, nil
	}
	src := m.host(r.host).Logs
	if src == nil {
		m.fail(fmt.Errorf("logs: %s has no log source", m.host(r.host).label()))
		return m, nil
	}
	if m.logs.open && m.logs.key == r.key() && !m.logs.ended {
		m.focus = paneLogs
		return m, nil
	}
	m.logs.close()
	ctx, cancel := context.WithCancel(m.ctx)
	m.logs.start(r, cancel)
	m.focus = paneLogs
	return m, followLogs(ctx, src, r.sock, logBacklog, m.logs.stream)
}

// closeLogs closes the log pane and ends its stream.
func (m Model) closeLogs() Model {
	m.logs.close()
	m.focus = paneList
	return m
}

// start resets the pane for a new stream of row r's log, ended by cancel.
func (l *logsModel) start(r *unitRow, cancel context.CancelFunc) {
	l.stream++
	l.open, l.socket, l.key, l.hostLabel, l.cancel, l.ended = true, r.sock, r.key(), r.hostLabel, cancel, false
	l.ring = logRing{max: l.ring.max}
	l.top, l.follow, l.unseen = logPos{}, true, 0
	l.tags, l.tagW = map[string]int{}, 0
	l.cache = map[int][]string{}
	l.dirty = true
}

// close ends the stream and forgets its lines.
func (l *logsModel) close() {
	if l.cancel != nil {
		l.cancel()
	}
	l.open, l.cancel = false, nil
	l.ring = logRing{max: l.ring.max}
	l.tags, l.cache, l.winRows = nil, nil, nil
	l.vp.SetContent("")
}

// updateLogs applies the messages of the log stream; those of a stream
// closed since are dropped, and their channel is not waited on again.
func (m Model) updateLogs(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case logsStartedMsg:
		if msg.stream == m.logs.stream && m.logs.open {
			return m, waitForLogs(msg.stream, msg.batches)
		}
	case logsReceivedMsg:
		if msg.stream == m.logs.stream && m.logs.open {
			m.logs.add(msg.batch, m.now())
			return m, waitForLogs(msg.stream, msg.batches)
		}
	case logsEndedMsg:
		if msg.stream == m.logs.stream && m.logs.open && !m.logs.ended {
			m.logs.ended = true
			m.logs.addNote(m.now(), logNote, "the log stream ended")
		}
	}
	return m, nil
}

// logsKey handles a key while the log pane is open: esc closes it, tab
// moves between it and the timeline, and the focused one scrolls.
func (m Model) logsKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := m.keys
	var cmd tea.Cmd
	switch {
	case key.Matches(msg, k.Back):
		m = m.closeLogs()
	case key.Matches(msg, k.NextPane, k.PrevPane):
		if m.focus == paneLogs {
			m.focus = paneTimeline
		} else {
			m.focus = paneLogs
		}
	case m.focus == paneTimeline:
		m.timeline, cmd = m.timeline.update(msg, k)
	default:
		m.logs.scroll(msg, k)
	}
	return m, cmd
}

// add appends a batch's entries, one line per line of each message, then
// its note and its error. Entries that the ring would drop at once are
// skipped whole.
func (l *logsModel) add(b unit.LogBatch, now time.Time) {
	before := l.ring.len() + l.ring.dropped
	first, skipped := 0, 0
	for i, lines := len(b.Entries)-1, 0; i >= 0; i-- {
		lines += strings.Count(b.Entries[i].Message, "\n") + 1
		if lines > l.ring.max {
			first = i + 1
			break
		}
	}
	if first == len(b.Entries) && first > 0 {
		first-- // one message longer than the ring: keep its end
	}
	for _, e := range b.Entries[:first] {
		skipped += strings.Count(e.Message, "\n") + 1
	}
	l.ring.dropped += skipped
	if skipped > 0 && !l.follow {
		l.top = logPos{}
	}
	if b.Dropped > 0 {
		// Lost before they reached the pane, older than the batch's
		// entries: said where they were.
		at := now
		if len(b.Entries) > 0 {
			at = b.Entries[0].Time
		}
		what := fmt.Sprintf("%d entries", b.Dropped)
		if b.Dropped == 1 {
			what = "1 entry"
		}
		l.push(logLine{at: at, text: what + " dropped here: the pane fell behind the log", kind: logNote})
	}
	for _, e := range b.Entries[first:] {
		l.addEntry(e)
	}
	if b.Note != "" {
		l.push(logLine{at: now, text: b.Note, kind: logNote})
	}
	if b.Err != nil {
		l.push(logLine{at: now, text: "the log stream stopped: " + b.Err.Error(), kind: logError})
	}
	l.moved(l.ring.len() + l.ring.dropped - before)
}

// addNote appends a line the pane says about its stream.
func (l *logsModel) addNote(at time.Time, kind logKind, text string) {
	before := l.ring.len() + l.ring.dropped
	l.push(logLine{at: at, text: text, kind: kind})
	l.moved(l.ring.len() + l.ring.dropped - before)
}

// addEntry appends the lines of one entry.
func (l *logsModel) addEntry(e unit.LogEntry) {
	if _, ok := l.tags[e.Unit]; !ok {
		w := textWidth(termtext.Clean(e.Unit))
		l.tags[e.Unit] = w
		l.tagW = max(l.tagW, w)
	}
	prio := int8(unit.PriorityUnknown)
	if e.Priority >= unit.PriorityEmerg && e.Priority <= unit.PriorityDebug {
		prio = int8(e.Priority)
	}
	msg := strings.TrimSuffix(e.Message, "\n")
	for i := 0; ; i++ {
		line, rest, more := strings.Cut(msg, "\n")
		l.push(logLine{at: e.Time, unit: e.Unit, text: capLine(line), prio: prio, cont: i > 0})
		if !more {
			return
		}
		msg = rest
	}
}

// capLine is line cut to maxLogLineBytes, copied when it was cut, so that
// a kept line does not hold a long message in memory.
func capLine(line string) string {
	line = strings.TrimSuffix(line, "\r")
	if len(line) <= maxLogLineBytes {
		return line
	}
	return strings.Clone(line[:maxLogLineBytes]) + "…"
}

// push appends a line; a pane scrolled up keeps its rows in view while
// older lines go, until its own go too.
func (l *logsModel) push(line logLine) {
	dropped := l.ring.dropped
	l.ring.push(line)
	if d := l.ring.dropped - dropped; d > 0 && !l.follow {
		l.top.line -= d
		if l.top.line < 0 {
			l.top = logPos{}
		}
	}
}

// moved updates the view after n lines were added: a following pane shows
// the newest, one scrolled up keeps its rows in place.
func (l *logsModel) moved(n int) {
	if n == 0 {
		return
	}
	l.dirty = true
	if l.follow {
		l.top = l.bottom()
		return
	}
	l.unseen += n
}

// rows is line i's rows at the pane's width, cached.
func (l *logsModel) rows(i int) []string {
	if tw := l.tagWidth(); l.cacheW != l.width || l.cacheTag != tw || l.cache == nil {
		l.cache, l.cacheW, l.cacheTag = map[int][]string{}, l.width, tw
	}
	seq := l.ring.dropped + i
	if r, ok := l.cache[seq]; ok {
		return r
	}
	r := logLineRows(l.ring.at(i), l.cacheTag, l.width, l.styles)
	l.cache[seq] = r
	return r
}

// bottom is the first row in view when the newest row is at the bottom.
func (l *logsModel) bottom() logPos {
	need := l.height
	for i := l.ring.len() - 1; i >= 0; i-- {
		k := len(l.rows(i))
		if k >= need {
			return logPos{i, k - need}
		}
		need -= k
	}
	return logPos{}
}

// scroll applies a scrolling key: up is older. The viewport does the moves
// within its rows, which reach a page beyond the view either way.
func (l *logsModel) scroll(msg tea.KeyMsg, k keyMap) {
	switch {
	case key.Matches(msg, k.Top):
		l.top = logPos{}
	case key.Matches(msg, k.Bottom):
		l.top = l.bottom()
	default:
		l.render()
		l.vp, _ = l.vp.Update(msg)
		if y := l.vp.YOffset; y >= 0 && y < len(l.winRows) {
			l.top = l.winRows[y]
		}
	}
	l.follow = !l.top.before(l.bottom())
	if l.follow {
		l.top, l.unseen = l.bottom(), 0
	}
	l.dirty = true
}

// setSize gives the pane w cells and h lines of log.
func (l *logsModel) setSize(w, h int) {
	h = max(0, h)
	if w == l.width && h == l.height {
		return
	}
	l.width, l.height = w, h
	l.dirty = true
	if l.follow {
		l.top = l.bottom()
	}
}

// layout gives the pane w cells and h lines of log and renders what
// changed, so that View finds it done.
func (l *logsModel) layout(w, h int) {
	l.setSize(w, h)
	l.render()
}

// render puts the rows from a page above the view to a page below it in
// the viewport, when anything changed since the last time, and forgets the
// cached rows of lines far from the view.
func (l *logsModel) render() {
	if !l.dirty {
		return
	}
	l.dirty = false
	n := l.ring.len()
	l.vp.Width, l.vp.Height = l.width, l.height
	if n == 0 || l.height == 0 {
		l.winRows = l.winRows[:0]
		l.vp.SetContent("")
		return
	}
	// The top row within the lines (a resize can leave it beyond them),
	// and never below the bottom.
	l.top.line = clamp(l.top.line, 0, n-1)
	l.top.row = clamp(l.top.row, 0, len(l.rows(l.top.line))-1)
	if b := l.bottom(); b.before(l.top) {
		l.top = b
	}
	first, above := l.top.line, l.top.row
	for first > 0 && above < l.height {
		first--
		above += len(l.rows(first))
	}
	last, below := l.top.line, len(l.rows(l.top.line))-l.top.row
	for last+1 < n && below < 2*l.height {
		last++
		below += len(l.rows(last))
	}
	var rows []string
	l.winRows = l.winRows[:0]
	y := 0
	for i := first; i <= last; i++ {
		if i == l.top.line {
			y = len(rows) + l.top.row
		}
		for j, r := range l.rows(i) {
			rows = append(rows, r)
			l.winRows = append(l.winRows, logPos{i, j})
		}
	}
	l.vp.SetContent(strings.Join(rows, "\n"))
	l.vp.SetYOffset(y)
	if len(l.cache) > 2*(last-first+1)+64 {
		for seq := range l.cache {
			if i := seq - l.ring.dropped; i < first || i > last {
				delete(l.cache, seq)
			}
		}
	}
}

// tagWidth is the width of the unit column: the widest tag, up to a
// quarter of the pane.
func (l *logsModel) tagWidth() int { return min(l.tagW, max(8, l.width/4)) }

// title is the pane's title: the unit, whether it follows, and how many
// lines it holds.
func (l *logsModel) title() string {
	parts := []string{"Logs " + termtext.Clean(l.socket.Unit)}
	if l.hostLabel != "" {
		parts[0] += " on " + l.hostLabel
	}
	switch {
	case l.ended:
		parts = append(parts, "ended")
	case l.follow:
		parts = append(parts, "following")
	case l.unseen > 0:
		parts = append(parts, fmt.Sprintf("%s below (G follows)", plural(l.unseen, "new line")))
	default:
		parts = append(parts, "scrolled (G follows)")
	}
	parts = append(parts, plural(l.ring.len(), "line"))
	if l.ring.dropped > 0 {
		parts[len(parts)-1] += fmt.Sprintf(" (%d older dropped)", l.ring.dropped)
	}
	return strings.Join(parts, " · ") + " · esc closes"
}

// view is exactly the pane's height in lines.
func (l *logsModel) view() string {
	if l.ring.len() == 0 {
		text := "Waiting for the log of " + termtext.Clean(l.socket.Unit) + "…"
		return strings.Join(fill([]string{truncate(l.styles.stamp.Render(text), l.width)}, l.height), "\n")
	}
	l.render()
	return l.vp.View()
}

// logLineRows is one line of the log pane at w cells, wrapped into rows:
// "05:06:07.000 I echo.service  text", the unit padded to tagW, the text
// wrapped under itself; a continuation line of a message leaves the time,
// mark and unit blank; a note or an error of the stream reads
// "05:06:07.000 » text" ("!" for an error). The text is sanitized, its
// tabs expanded. Too narrow a column to wrap into cuts the row with "…".
func logLineRows(l *logLine, tagW, w int, s logStyles) []string {
	text := termtext.Clean(expandTabs(l.text))
	stamp := formatClock(l.at)
	var head string
	style := s.style(int(l.prio))
	switch {
	case l.kind == logNote:
		head, style = s.stamp.Render(stamp)+" "+s.note.Render("»")+" ", s.note
	case l.kind == logError:
		head, style = s.stamp.Render(stamp)+" "+s.err.Render("!")+" ", s.err
	case l.cont:
		head = strings.Repeat(" ", len(stamp)+3+tagW+1)
	default:
		head = s.stamp.Render(stamp) + " " + style.Render(unit.PriorityMark(int(l.prio))) + " " + pad(termtext.Clean(l.unit), tagW) + " "
	}
	indent := textWidth(head)
	parts := wrapText(text, w-indent)
	rows := make([]string, len(parts))
	for i, part := range parts {
		if i == 0 {
			rows[i] = truncate(head+style.Render(part), w)
		} else {
			rows[i] = truncate(strings.Repeat(" ", indent)+style.Render(part), w)
		}
	}
	return rows
}

// expandTabs replaces each tab with the spaces to the next multiple of 8
// bytes (a line's tabs line up as a terminal shows them).
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' {
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteByte(c) // bytes as they are: Clean shows invalid UTF-8 as \xNN
		if c < 0x80 || c >= 0xc0 {
			col++ // a rune starts here
		}
	}
	return b.String()
}

// logPaneHeights splits the body when the log pane is open: the log takes
// it but the timeline, which keeps a quarter and at least 3 lines (each
// including its title line).
func (m *Model) logPaneHeights() (logs, timeline int) {
	body := m.height - lipgloss.Height(m.headerView()) -
		lipgloss.Height(m.status.view(m.styles, m.width, 0)) - lipgloss.Height(m.help.footer(m.keys))
	timeline = max(3, body/4)
	return body - timeline, timeline
}
