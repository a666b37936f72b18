package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/internal/termtext"
)

// The list's columns, in display order.
const (
	colUnit = iota
	colState
	colListen
	colService
	colContainer
	colProbe
	numCols
)

var colHeaders = [numCols]string{"UNIT", "STATE", "LISTEN", "SERVICE", "CONTAINER", "PROBE"}

// colMin is how narrow a column may get before it is dropped; colDrop is the
// order columns are dropped in when the terminal is too narrow for all.
var (
	colMin  = [numCols]int{12, badgeWidth, 12, 12, 9, 6}
	colDrop = []int{colContainer, colService, colListen}
)

func itoa(n int) string       { return strconv.Itoa(n) }
func textWidth(s string) int  { return ansi.StringWidth(s) }
func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// listModel is the list pane: which units are visible (filter, inactive
// toggle), which one is selected, and the scroll offset.
type listModel struct {
	visible      []int  // indexes into unitStore.rows
	selected     string // unit name of the selection, kept across updates
	cursor       int    // index into visible
	offset       int    // first visible row shown
	filter       string
	filtering    bool // the filter prompt has the keyboard
	hideInactive bool
}

// rebuild recomputes the visible rows and the cursor after any change.
func (l *listModel) rebuild(st *unitStore) {
	l.visible = l.visible[:0]
	f := strings.ToLower(l.filter)
	for i, r := range st.rows {
		if l.hideInactive && (r.sock.LoadState != "loaded" || !r.sock.Listening()) {
			continue
		}
		if f != "" && !strings.Contains(r.search, f) {
			continue
		}
		l.visible = append(l.visible, i)
	}
	l.cursor = 0
	for vi, i := range l.visible {
		if st.rows[i].sock.Unit == l.selected {
			l.cursor = vi
			break
		}
	}
	l.syncSelected(st)
}

// syncSelected makes the selection name follow the cursor.
func (l *listModel) syncSelected(st *unitStore) {
	if len(l.visible) == 0 {
		return
	}
	l.cursor = clamp(l.cursor, 0, len(l.visible)-1)
	l.selected = st.rows[l.visible[l.cursor]].sock.Unit
}

// current is the selected row, nil when nothing is visible.
func (l *listModel) current(st *unitStore) *unitRow {
	if len(l.visible) == 0 {
		return nil
	}
	return st.rows[l.visible[clamp(l.cursor, 0, len(l.visible)-1)]]
}

// move moves the cursor by delta rows, clamped.
func (l *listModel) move(st *unitStore, delta int) {
	l.cursor += delta
	l.syncSelected(st)
}

// layoutColumns fits the columns into width w: natural widths, then the
// widest columns shrink down to their minimum, then columns are dropped.
// It returns the width of each column, 0 for a dropped one.
func layoutColumns(natural [numCols]int, w int) [numCols]int {
	cols := natural
	for i := range cols {
		cols[i] = max(cols[i], textWidth(colHeaders[i]))
	}
	total := func() int {
		t, n := 0, 0
		for _, c := range cols {
			if c > 0 {
				t += c
				n++
			}
		}
		return t + max(n-1, 0) // one space between columns
	}
	drop := 0
	for total() > w {
		widest := -1
		for i, c := range cols {
			if i == colState || c <= colMin[i] {
				continue
			}
			if widest < 0 || c > cols[widest] {
				widest = i
			}
		}
		if widest >= 0 {
			cols[widest] -= min(cols[widest]-colMin[widest], max(1, total()-w))
			continue
		}
		if drop == len(colDrop) {
			break
		}
		cols[colDrop[drop]] = 0
		drop++
	}
	return cols
}

// view renders the list pane in exactly h lines of at most w cells.
func (l *listModel) view(st *unitStore, s Styles, w, h int, empty string) []string {
	lines := make([]string, 0, h)
	if h <= 0 {
		return lines
	}
	if len(l.visible) == 0 {
		for _, line := range strings.Split(empty, "\n") {
			lines = append(lines, truncate(line, w))
		}
		return fill(lines, h)
	}
	const marker = 2 // "> " before the selected row
	var natural [numCols]int
	for _, i := range l.visible {
		r := st.rows[i]
		for c := range natural {
			natural[c] = max(natural[c], r.widths[c])
		}
	}
	cols := layoutColumns(natural, w-marker)

	header := make([]string, 0, numCols)
	for c, cw := range cols {
		if cw > 0 {
			header = append(header, pad(colHeaders[c], cw))
		}
	}
	lines = append(lines, s.Header.Render(truncate("  "+strings.Join(header, " "), w)))

	rows := h - 1
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+rows {
		l.offset = l.cursor - rows + 1
	}
	l.offset = clamp(l.offset, 0, max(0, len(l.visible)-rows))
	for vi := l.offset; vi < len(l.visible) && len(lines) < h; vi++ {
		r := st.rows[l.visible[vi]]
		cells := make([]string, 0, numCols)
		for c, cw := range cols {
			if cw == 0 {
				continue
			}
			if c == colState {
				cells = append(cells, pad(s.badge(r.sock.State), cw))
				continue
			}
			cells = append(cells, pad(r.cells[c], cw))
		}
		line := strings.Join(cells, " ")
		if vi == l.cursor {
			lines = append(lines, s.Selected.Render("> "+ansi.Strip(line)))
		} else {
			lines = append(lines, "  "+line)
		}
	}
	return fill(lines, h)
}

// title is the list pane's title: how many units are shown and why not all.
func (l *listModel) title(st *unitStore) string {
	t := fmt.Sprintf("Sockets %d", len(st.rows))
	if len(l.visible) != len(st.rows) {
		t = fmt.Sprintf("Sockets %d of %d", len(l.visible), len(st.rows))
	}
	if l.hideInactive {
		t += " · inactive hidden (a shows)"
	}
	if l.filtering {
		t += " · filter: " + termtext.Clean(l.filter) + "█"
	} else if l.filter != "" {
		t += " · filter: " + termtext.Clean(l.filter) + " (esc clears)"
	}
	return t
}

// fill pads lines with empty lines up to h, or cuts them to h.
func fill(lines []string, h int) []string {
	if len(lines) > h {
		return lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines
}
