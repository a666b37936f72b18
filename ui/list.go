package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/internal/termtext"
)

// The list's columns, in display order. colHost must stay first: a list
// of one host's units lays out the columns after it only (fitColumns).
const (
	colHost = iota
	colUnit
	colState
	colListen
	colService
	colContainer
	colProbe
	numCols
)

var colHeaders = [numCols]string{"HOST", "UNIT", "STATE", "LISTEN", "SERVICE", "CONTAINER", "PROBE"}

func itoa(n int) string       { return strconv.Itoa(n) }
func textWidth(s string) int  { return ansi.StringWidth(s) }
func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// listModel is the list pane: which units are visible (filter, inactive
// toggle), which one is selected, and which rows are in view.
type listModel struct {
	visible      []int  // indexes into unitStore.rows
	selected     rowKey // the selection, kept across updates; on anyHost until a row has it
	cursor       int    // index into visible
	offset       int    // first visible row shown
	rows         int    // how many unit rows the pane shows, set by the layout
	filter       textinput.Model
	filtering    bool // the filter prompt has the keyboard
	hideInactive bool
	// marks are the doctor's marks of the units with findings, shown
	// before their rows (doctorMark).
	marks map[rowKey]string
}

// newList is the list with unit selected, on whichever host first shows
// it.
func newList(selected string) listModel {
	ti := textinput.New()
	ti.Prompt = ""
	ti.KeyMap.Paste.SetEnabled(false) // no clipboard reads: a paste comes as keys
	ti.Cursor.SetMode(cursor.CursorHide)
	return listModel{selected: rowKey{host: anyHost, unit: selected}, filter: ti}
}

// filterText is the filter as typed, "" when there is none.
func (l *listModel) filterText() string { return l.filter.Value() }

// update moves the selection; st holds the units.
func (l listModel) update(msg tea.KeyMsg, k keyMap, st *unitStore) (listModel, tea.Cmd) {
	page := max(1, l.rows-1)
	switch {
	case key.Matches(msg, k.Up):
		l.move(st, -1)
	case key.Matches(msg, k.Down):
		l.move(st, 1)
	case key.Matches(msg, k.PageUp):
		l.move(st, -page)
	case key.Matches(msg, k.PageDown):
		l.move(st, page)
	case key.Matches(msg, k.Top):
		l.move(st, -len(l.visible))
	case key.Matches(msg, k.Bottom):
		l.move(st, len(l.visible))
	}
	return l, nil
}

// openFilter gives the keyboard to the filter prompt.
func (l listModel) openFilter() (listModel, tea.Cmd) {
	l.filtering = true
	l.filter.CursorEnd()
	return l, l.filter.Focus()
}

// updateFilter edits the filter while the prompt is open: enter keeps it,
// esc clears it, anything else is the text input's.
func (l listModel) updateFilter(msg tea.KeyMsg, st *unitStore) (listModel, tea.Cmd) {
	before := l.filter.Value()
	var cmd tea.Cmd
	switch msg.Type {
	case tea.KeyEnter:
		l.filtering = false
		l.filter.Blur()
	case tea.KeyEsc:
		l.filtering = false
		l.filter.Blur()
		l.filter.Reset()
	default:
		l.filter, cmd = l.filter.Update(msg)
	}
	if l.filter.Value() != before {
		l.rebuild(st)
	}
	return l, cmd
}

// clearFilter removes the filter.
func (l listModel) clearFilter(st *unitStore) listModel {
	l.filter.Reset()
	l.rebuild(st)
	return l
}

// toggleInactive hides or shows the units that are not listening.
func (l listModel) toggleInactive(st *unitStore) listModel {
	l.hideInactive = !l.hideInactive
	l.rebuild(st)
	return l
}

// rebuild recomputes the visible rows and the cursor after any change.
func (l *listModel) rebuild(st *unitStore) {
	l.visible = l.visible[:0]
	f := strings.ToLower(l.filter.Value())
	for i, r := range st.rows {
		if l.hideInactive && (r.sock.LoadState != "loaded" || !r.sock.Listening()) {
			continue
		}
		if f != "" && !strings.Contains(r.search, f) {
			continue
		}
		l.visible = append(l.visible, i)
	}
	l.cursor = l.standIn(st, f != "")
	if l.selected.host == anyHost && !l.shows(st, l.selected) {
		// Config.Select's unit is on no host yet: the cursor rests on
		// the first row, and the unit is selected once a host shows it,
		// unless the cursor is moved first.
		l.cursor = clamp(l.cursor, 0, max(len(l.visible)-1, 0))
		return
	}
	l.syncSelected(st)
}

// shows reports whether a visible row matches k.
func (l *listModel) shows(st *unitStore, k rowKey) bool {
	for _, i := range l.visible {
		if k.matches(st.rows[i].key()) {
			return true
		}
	}
	return false
}

// standIn is the index in visible of the selected row or, when it is gone
// (or filtered out), of the row that stands in its place: the next in the
// list's order, or the one before when the next is of another host and
// that one is of the selected host; never a jump to the top. A selection
// on anyHost with no row yet, or one that a filter hides (filtered), stands
// on the first: the best match.
func (l *listModel) standIn(st *unitStore, filtered bool) int {
	for vi, i := range l.visible {
		k := st.rows[i].key()
		if l.selected.matches(k) {
			return vi
		}
		if filtered || l.selected.host == anyHost || l.selected.compare(k) > 0 {
			continue
		}
		if vi > 0 && k.host != l.selected.host && st.rows[l.visible[vi-1]].host == l.selected.host {
			return vi - 1
		}
		return vi
	}
	if filtered || l.selected.host == anyHost {
		return 0
	}
	return len(l.visible) - 1
}

// syncSelected makes the selection name follow the cursor.
func (l *listModel) syncSelected(st *unitStore) {
	if len(l.visible) == 0 {
		return
	}
	l.cursor = clamp(l.cursor, 0, len(l.visible)-1)
	l.selected = st.rows[l.visible[l.cursor]].key()
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

// setRows shows rows unit rows and scrolls them so that the cursor is in
// view; it is the one place the list's offset is kept valid.
func (l *listModel) setRows(rows int) {
	l.rows = max(1, rows)
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+l.rows {
		l.offset = l.cursor - l.rows + 1
	}
	l.offset = clamp(l.offset, 0, max(0, len(l.visible)-l.rows))
}

// columns is the list's columns for the visible rows, as shareWidth sees
// them: the unit, its state and its probes are never cut while a column
// can be dropped instead; the container (the detail pane shows it too) is
// shown only when nothing else is cut, then the service goes, then the
// endpoints. The host, shown only when the rows are of several hosts, is
// cut to a short minimum but never dropped: two rows may differ only by
// it. short is the endpoints' width with one entry each.
func (l *listModel) columns(st *unitStore) (cols []column, short int) {
	var natural [numCols]int
	shortListen := 0
	for c := range natural {
		natural[c] = textWidth(colHeaders[c])
	}
	hasContainer := false
	for _, i := range l.visible {
		r := st.rows[i]
		for c := range natural {
			natural[c] = max(natural[c], r.widths[c])
		}
		shortListen = max(shortListen, textWidth(r.listenShort))
		hasContainer = hasContainer || r.cells[colContainer] != ""
	}
	cols = make([]column, numCols)
	for c := range cols {
		cols[c] = column{natural: natural[c], min: natural[c]}
	}
	cols[colHost].min = min(natural[colHost], 8)
	if !st.several() {
		cols[colHost] = column{}
	}
	cols[colUnit].min = 28
	short = max(shortListen, textWidth(colHeaders[colListen]))
	cols[colListen] = column{natural: natural[colListen], min: min(short, 24), drop: 3}
	cols[colService].min, cols[colService].drop = 20, 2
	cols[colContainer].drop, cols[colContainer].optional = 1, true
	if !hasContainer {
		cols[colContainer] = column{drop: 1, optional: true}
	}
	return cols, short
}

// view renders the list pane: its header and rows in exactly h lines of
// at most w cells, or empty when no unit is visible.
func (l listModel) view(st *unitStore, s Styles, w, h int, empty string) string {
	if h <= 0 {
		return ""
	}
	lines := make([]string, 0, h)
	if len(l.visible) == 0 {
		for _, line := range strings.Split(empty, "\n") {
			lines = append(lines, truncate(line, w))
		}
		return strings.Join(fill(lines, h), "\n")
	}
	const marker = 2 // "> " before the selected row
	cols, short := l.columns(st)
	widths := fitColumns(cols, w-marker, st.several())
	if !allNatural(cols, widths) && short < cols[colListen].natural {
		// Not everything fits: the endpoints column holds one entry and a
		// count, and what that leaves goes to the others first.
		cols[colListen].natural = short
		widths = fitColumns(cols, w-marker, st.several())
	}

	header := make([]string, 0, numCols)
	for c, cw := range widths {
		if cw > 0 {
			header = append(header, pad(colHeaders[c], cw))
		}
	}
	lines = append(lines, s.Header.Render(truncate("  "+strings.Join(header, " "), w)))
	for vi := l.offset; vi < len(l.visible) && len(lines) < h; vi++ {
		r := st.rows[l.visible[vi]]
		line := rowLine(r, s, widths)
		mark := l.marks[r.key()]
		if vi == l.cursor {
			lines = append(lines, s.Selected.Render(">"+orSpace(mark)+ansi.Strip(line)))
		} else {
			lines = append(lines, " "+orSpace(mark)+line)
		}
	}
	return strings.Join(fill(lines, h), "\n")
}

// fitColumns is shareWidth of the list's columns in w cells, one cell
// between two; without the host column (0 cells) unless withHost.
func fitColumns(cols []column, w int, withHost bool) []int {
	if withHost {
		return shareWidth(cols, w, 1)
	}
	return append([]int{0}, shareWidth(cols[colHost+1:], w, 1)...)
}

// allNatural reports whether every column got its natural width.
func allNatural(cols []column, widths []int) bool {
	for i, c := range cols {
		if widths[i] != c.natural {
			return false
		}
	}
	return true
}

// rowLine is one unit's row in columns of widths (0: dropped). The
// endpoints show two entries when they fit, else one and a count.
func rowLine(r *unitRow, s Styles, widths []int) string {
	cells := make([]string, 0, numCols)
	for c, cw := range widths {
		switch {
		case cw == 0:
			continue
		case c == colState:
			cells = append(cells, pad(s.badge(r.sock.State), cw))
		case c == colListen && r.widths[c] > cw:
			cells = append(cells, pad(fitListen(r.listenShort, cw), cw))
		default:
			cells = append(cells, pad(r.cells[c], cw))
		}
	}
	return strings.Join(cells, " ")
}

// title is the list pane's title: how many units are shown and why not all.
func (l *listModel) title(st *unitStore, s Styles) string {
	t := fmt.Sprintf("Sockets %d", len(st.rows))
	if len(l.visible) != len(st.rows) {
		t = fmt.Sprintf("Sockets %d of %d", len(l.visible), len(st.rows))
	}
	if l.hideInactive {
		t += " · inactive hidden (a shows)"
	}
	if l.filtering {
		t += " · filter: " + l.prompt(s)
	} else if f := l.filterText(); f != "" {
		t += " · filter: " + termtext.Clean(f) + " (esc clears)"
	}
	return t
}

// prompt is the filter being typed with its cursor: a block after the
// text, or the character under it in reverse.
func (l *listModel) prompt(s Styles) string {
	text := []rune(l.filter.Value())
	pos := clamp(l.filter.Position(), 0, len(text))
	if pos == len(text) {
		return termtext.Clean(string(text)) + "█"
	}
	return termtext.Clean(string(text[:pos])) + s.Selected.Render(termtext.Clean(string(text[pos]))) + termtext.Clean(string(text[pos+1:]))
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
