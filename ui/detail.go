package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/internal/human"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// detailModel is the detail pane: the selected unit's full state in a
// viewport. The content comes from the row it is shown; a new unit starts
// at the top.
type detailModel struct {
	vp   viewport.Model
	unit rowKey // the row shown
	// findings are the doctor's findings by row, shown after the state;
	// keys names the fix key in them.
	findings map[rowKey][]doctor.Finding
	keys     keyMap
}

func newDetail(k keyMap) detailModel {
	vp := viewport.New(0, 0)
	vp.KeyMap = k.viewportKeys()
	return detailModel{vp: vp, keys: k}
}

// show sets the content to row r (nil: none) at width w.
func (d *detailModel) show(r *unitRow, s Styles, w int) {
	var k rowKey
	if r != nil {
		k = r.key()
	}
	d.vp.Width = w
	d.vp.SetContent(strings.Join(append(detailLines(r, s, w), doctorLines(d.findings[k], s, d.keys, w)...), "\n"))
	if k != d.unit {
		d.unit = k
		d.vp.GotoTop()
	}
}

// lineCount is how many lines the content has.
func (d detailModel) lineCount() int { return d.vp.TotalLineCount() }

// setHeight gives the pane h lines; the offset stays within the content.
func (d *detailModel) setHeight(h int) {
	d.vp.Height = max(0, h)
	d.vp.SetYOffset(d.vp.YOffset)
}

// update scrolls the pane.
func (d detailModel) update(msg tea.KeyMsg, k keyMap) (detailModel, tea.Cmd) {
	var cmd tea.Cmd
	d.vp, cmd = scrollViewport(d.vp, msg, k)
	return d, cmd
}

// scrollViewport applies a scrolling key to a pane's viewport: top and
// bottom from the keyMap, the rest as the viewport's own keys.
func scrollViewport(vp viewport.Model, msg tea.KeyMsg, k keyMap) (viewport.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, k.Top):
		vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		vp.GotoBottom()
	default:
		return vp.Update(msg)
	}
	return vp, nil
}

// view is exactly the pane's height in lines.
func (d detailModel) view() string { return d.vp.View() }

// detailLines is the full content of the detail pane for a row at width w,
// unstyled except for the state badge and outcomes; its host comes second
// when the UI shows several. Long lines wrap rather
// than being cut (no wrapping when w is too small): the failure's reason
// and a probe's error are what the user came for.
func detailLines(r *unitRow, s Styles, w int) []string {
	if r == nil {
		return []string{"No unit selected."}
	}
	sk := r.sock
	head := termtext.Clean(sk.Unit) + "  " + s.badge(sk.State)
	if d := termtext.Clean(sk.Description); d != "" {
		head += "  " + d
	}
	lines := wrapHanging(head, w, 2)
	if r.hostLabel != "" {
		lines = append(lines, wrapHanging("  host: "+r.hostLabel, w, 4)...)
	}
	if sk.Reason != "" {
		const label = "  reason: "
		for i, part := range wrapText(termtext.Clean(sk.Reason), w-len(label)) {
			prefix := label
			if i > 0 {
				prefix = strings.Repeat(" ", len(label))
			}
			lines = append(lines, prefix+s.Error.Render(part))
		}
	}
	lines = append(lines, wrapHanging(fmt.Sprintf("  socket: %s (%s)  load %s%s  result %s",
		termtext.Clean(string(sk.ActiveState)), termtext.Clean(sk.SubState), termtext.Clean(sk.LoadState),
		fileStatePart(sk), orDash(termtext.Clean(sk.Result))), w, 4)...)
	lines = append(lines, fmt.Sprintf("  listen (%d):", len(sk.Listen)))
	lines = append(lines, endpointLines(r, s, w)...)
	if len(sk.Services) == 0 {
		svc := "-"
		if len(sk.Triggers) > 0 {
			svc = termtext.Clean(strings.Join(sk.Triggers, ", ")) + " (not loaded)"
		}
		lines = append(lines, wrapHanging("  service: "+svc, w, 4)...)
	}
	for _, svc := range sk.Services {
		lines = append(lines, wrapHanging("  service: "+serviceLine(svc), w, 4)...)
		if svc.Container != "" {
			lines = append(lines, wrapHanging("  container: "+termtext.Clean(svc.Container), w, 4)...)
			if svc.Source != "" {
				lines = append(lines, wrapHanging("  source: "+termtext.Clean(svc.Source), w, 4)...)
			}
		}
	}
	accept := "no"
	if sk.Accept {
		accept = "yes"
	}
	lines = append(lines, fmt.Sprintf("  accept %s · connections %d · accepted %d · refused %d",
		accept, sk.NConnections, sk.NAccepted, sk.NRefused))
	return lines
}

// endpointCells is one Listen entry of the detail pane in columns: what its
// probe found first (outcome, RTT, cold or warm), then the endpoint and
// what the probe said beyond its outcome.
type endpointCells struct {
	outcome, rtt, temp string
	endpoint, tail     string
	good               bool // the outcome is an ok that stands
	probed             bool
}

// endpointRow is the cells of Listen entry l of row r.
func endpointRow(r *unitRow, l unit.Listen) endpointCells {
	c := endpointCells{outcome: "not probed", endpoint: listenEntry(l)}
	res, ok := r.results[probeKey(l.Type, l.Address)]
	if !ok {
		if r.inFlight > 0 {
			c.outcome = "probing…"
		}
		return c
	}
	c.probed = true
	c.outcome = termtext.Clean(string(res.Outcome))
	if res.RTT > 0 {
		c.rtt = human.Duration(res.RTT)
	}
	c.temp = "warm"
	if res.Cold {
		c.temp = "cold"
	}
	c.good = resultStands(res, r.sock.State)
	var tail []string
	if res.Outcome == probe.OK && !c.good {
		tail = append(tail, "(before the unit failed)")
	}
	if res.Status != "" {
		tail = append(tail, termtext.Clean(res.Status))
	}
	if res.Error != "" {
		tail = append(tail, termtext.Clean(res.Error))
	}
	c.tail = strings.Join(tail, ": ")
	return c
}

// endpointLines is the detail pane's Listen entries, one a line at width
// w, outcome first so that no width cuts it: "ok  1.2 ms  cold  tcp4
// 127.0.0.1:3100". The endpoint and the probe's error wrap under the
// endpoint when the line is too long.
func endpointLines(r *unitRow, s Styles, w int) []string {
	cells := make([]endpointCells, len(r.sock.Listen))
	var ow, rw, tw int
	for i, l := range r.sock.Listen {
		c := endpointRow(r, l)
		cells[i] = c
		ow, rw, tw = max(ow, textWidth(c.outcome)), max(rw, textWidth(c.rtt)), max(tw, textWidth(c.temp))
	}
	lines := make([]string, 0, len(cells))
	for _, c := range cells {
		style := s.Error
		if c.good {
			style = s.OK
		}
		prefix := "    " + pad(c.outcome, ow) + "  "
		if c.probed {
			prefix = "    " + style.Render(pad(c.outcome, ow)) + "  "
		}
		if rw > 0 {
			prefix += pad(c.rtt, rw) + "  "
		}
		if tw > 0 {
			prefix += pad(c.temp, tw) + "  "
		}
		indent := textWidth(prefix)
		rest := wrapText(c.endpoint, w-indent)
		if c.tail != "" {
			rest = wrapText(c.endpoint+"  "+c.tail, w-indent)
		}
		for i, part := range rest {
			if c.tail != "" && c.probed {
				part = styleTail(part, c.endpoint, i, style)
			}
			if i == 0 {
				lines = append(lines, prefix+part)
			} else {
				lines = append(lines, strings.Repeat(" ", indent)+part)
			}
		}
	}
	return lines
}

// serviceLine is one triggered service:
// "echo.service active (running)  pid 42  since 05:06:07.000  result success".
func serviceLine(svc unit.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s)", termtext.Clean(svc.Unit), termtext.Clean(string(svc.ActiveState)), termtext.Clean(svc.SubState))
	if svc.MainPID != 0 {
		fmt.Fprintf(&b, "  pid %d", svc.MainPID)
	}
	// An absolute time: a relative one ("3s ago") would go stale, since
	// nothing redraws the screen while nothing changes.
	if !svc.Since.IsZero() {
		fmt.Fprintf(&b, "  since %s", formatClock(svc.Since))
	}
	fmt.Fprintf(&b, "  result %s", orDash(termtext.Clean(svc.Result)))
	return b.String()
}

// wrapText breaks text into lines of at most w cells, at spaces where it
// can; text comes back whole when w is under 20.
func wrapText(text string, w int) []string {
	if w < 20 {
		return []string{text}
	}
	return strings.Split(ansi.Wrap(text, w, ""), "\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// styleTail styles what follows the endpoint on part, line i of an
// endpoint's wrapped text: the probe's error reads in the outcome's style.
func styleTail(part, endpoint string, i int, style lipgloss.Style) string {
	if i == 0 {
		head, tail, ok := strings.Cut(part, endpoint)
		if !ok || head != "" {
			return part
		}
		return endpoint + style.Render(tail)
	}
	return style.Render(part)
}

// wrapHanging wraps line to w cells, its continuation lines indented by
// indent; the line comes back whole when it fits or w is too small to wrap.
func wrapHanging(line string, w, indent int) []string {
	if textWidth(line) <= w || w-indent < 20 {
		return []string{line}
	}
	// Word-wrap the first line only, so that joining the rest with spaces
	// gives back its text; the rest wraps, hard where it must, under it.
	first, rest, _ := strings.Cut(ansi.Wordwrap(line, w, ""), "\n")
	out := []string{first}
	rest = strings.ReplaceAll(ansi.Strip(rest), "\n", " ")
	for _, l := range wrapText(strings.TrimLeft(rest, " "), w-indent) {
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}
