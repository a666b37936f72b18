package ui

import (
	"time"
)

// maxTimeline is how many timeline entries are kept at least; older ones
// are dropped in batches.
const maxTimeline = 500

// timelineEntry is one line of the activity timeline.
type timelineEntry struct {
	At    time.Time
	Text  string // already sanitized
	Error bool
}

// timelineModel is the activity timeline: state transitions, activation
// latencies, probe runs and errors, newest last.
type timelineModel struct {
	entries []timelineEntry
	// offset is how many lines the view is scrolled up from the newest.
	offset int
}

func (t *timelineModel) add(at time.Time, text string, isErr bool) {
	t.entries = append(t.entries, timelineEntry{At: at, Text: text, Error: isErr})
	if len(t.entries) >= 2*maxTimeline { // trim in batches: amortized O(1)
		t.entries = append(t.entries[:0:0], t.entries[len(t.entries)-maxTimeline:]...)
	}
	if t.offset > 0 {
		t.offset++ // keep the lines the user scrolled to in place
	}
}

// view renders the newest entries that fit in exactly h lines.
func (t *timelineModel) view(s Styles, w, h int) []string {
	if len(t.entries) == 0 {
		return fill([]string{s.Dim.Render("No activity yet: state changes and probe runs appear here.")}, h)
	}
	t.offset = clamp(t.offset, 0, max(0, len(t.entries)-h))
	end := len(t.entries) - t.offset
	start := max(0, end-h)
	out := make([]string, 0, h)
	for _, e := range t.entries[start:end] {
		text := e.Text
		if e.Error {
			text = s.Error.Render(text)
		}
		out = append(out, truncate(s.Timestamp.Render(formatClock(e.At))+" "+text, w))
	}
	return fill(out, h)
}
