package ui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// maxTimeline is how many timeline entries are kept at least; older ones
// are dropped in batches.
const maxTimeline = 500

// timelineEntry is one entry of the activity timeline.
type timelineEntry struct {
	At    time.Time
	Text  string // already sanitized
	Error bool
	lines int // how many lines it takes in the viewport
}

// timelineModel is the activity timeline: state transitions, activation
// latencies, probe runs and errors, newest last, in a viewport that follows
// the newest entry until the user scrolls up.
type timelineModel struct {
	styles  Styles
	entries []timelineEntry
	lines   []string // the rendered entries, width cells at most
	width   int
	vp      viewport.Model
}

func newTimeline(s Styles, k keyMap) timelineModel {
	vp := viewport.New(0, 0)
	vp.KeyMap = k.viewportKeys()
	return timelineModel{styles: s, vp: vp}
}

// add appends an entry; a timeline scrolled up keeps its lines in place.
func (t *timelineModel) add(at time.Time, text string, isErr bool) {
	follow := t.vp.AtBottom()
	e := timelineEntry{At: at, Text: text, Error: isErr}
	lines := t.render(e)
	e.lines = len(lines)
	t.entries = append(t.entries, e)
	t.lines = append(t.lines, lines...)
	if len(t.entries) >= 2*maxTimeline { // trim in batches: amortized O(1)
		cut := len(t.entries) - maxTimeline
		n := 0
		for _, old := range t.entries[:cut] {
			n += old.lines
		}
		t.entries = append(t.entries[:0:0], t.entries[cut:]...)
		t.lines = append(t.lines[:0:0], t.lines[n:]...)
		t.vp.YOffset = max(0, t.vp.YOffset-n)
	}
	t.vp.SetContent(strings.Join(t.lines, "\n"))
	if follow {
		t.vp.GotoBottom()
	}
}

// render is an entry's lines at the timeline's width: a timestamp, then the
// text wrapped under itself, so that nothing of it is cut.
func (t *timelineModel) render(e timelineEntry) []string {
	stamp := formatClock(e.At) + " "
	lines := wrapText(e.Text, t.width-textWidth(stamp))
	for i, l := range lines {
		if e.Error {
			l = t.styles.Error.Render(l)
		}
		if i == 0 {
			l = t.styles.Timestamp.Render(formatClock(e.At)) + " " + l
		} else {
			l = strings.Repeat(" ", textWidth(stamp)) + l
		}
		lines[i] = l
	}
	return lines
}

// setSize gives the timeline w cells and h lines; a new width renders
// every entry again.
func (t *timelineModel) setSize(w, h int) {
	follow := t.vp.AtBottom()
	if w != t.width {
		t.width = w
		t.lines = t.lines[:0]
		for i, e := range t.entries {
			lines := t.render(e)
			t.entries[i].lines = len(lines)
			t.lines = append(t.lines, lines...)
		}
		t.vp.SetContent(strings.Join(t.lines, "\n"))
	}
	t.vp.Width, t.vp.Height = w, max(0, h)
	if follow {
		t.vp.GotoBottom()
	} else {
		t.vp.SetYOffset(t.vp.YOffset)
	}
}

// update scrolls the timeline: up is older.
func (t timelineModel) update(msg tea.KeyMsg, k keyMap) (timelineModel, tea.Cmd) {
	var cmd tea.Cmd
	t.vp, cmd = scrollViewport(t.vp, msg, k)
	return t, cmd
}

// view is exactly the viewport's height in lines.
func (t timelineModel) view() string {
	if len(t.entries) == 0 {
		return strings.Join(fill([]string{truncate(t.styles.Dim.Render("No activity yet: state changes and probe runs appear here."), t.width)}, t.vp.Height), "\n")
	}
	return t.vp.View()
}
