package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// detailModel is the detail pane of the selected unit; it only keeps its
// scroll offset, the content comes from the row it is given.
type detailModel struct {
	offset int
}

// detailLines is the full content of the detail pane for a row, unstyled except
// for the state badge and outcomes. The reason of a failure is wrapped to
// width w (no wrapping when w is too small), so that it is read in full:
// it is what the user came for.
func detailLines(r *unitRow, s Styles, w int) []string {
	if r == nil {
		return []string{"No unit selected."}
	}
	sk := r.sock
	head := termtext.Clean(sk.Unit) + "  " + s.badge(sk.State)
	if d := termtext.Clean(sk.Description); d != "" {
		head += "  " + d
	}
	lines := []string{head}
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
	lines = append(lines, fmt.Sprintf("  socket: %s (%s)  load %s  result %s",
		termtext.Clean(string(sk.ActiveState)), termtext.Clean(sk.SubState), termtext.Clean(sk.LoadState), orDash(termtext.Clean(sk.Result))))

	lines = append(lines, fmt.Sprintf("  listen (%d):", len(sk.Listen)))
	lw := 0
	for _, l := range sk.Listen {
		lw = max(lw, textWidth(listenEntry(l)))
	}
	for _, l := range sk.Listen {
		res, ok := r.results[probeKey(l.Type, l.Address)]
		out := "not probed"
		if !ok && r.probing > 0 {
			out = "probing…"
		}
		if ok {
			out = resultText(res)
			switch {
			case resultStands(res, sk.State):
				out = s.OK.Render(out)
			case res.Outcome == probe.OK:
				out = s.Error.Render(out + " (before the unit failed)")
			default:
				out = s.Error.Render(out)
			}
		}
		lines = append(lines, "    "+pad(listenEntry(l), lw)+"  "+out)
	}
	if len(sk.Services) == 0 {
		svc := "-"
		if len(sk.Triggers) > 0 {
			svc = termtext.Clean(strings.Join(sk.Triggers, ", ")) + " (not loaded)"
		}
		lines = append(lines, "  service: "+svc)
	}
	for _, svc := range sk.Services {
		lines = append(lines, "  service: "+serviceLine(svc))
		if svc.Container != "" {
			lines = append(lines, "  container: "+termtext.Clean(svc.Container))
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

// view renders the detail pane in exactly h lines of at most w cells.
func (d *detailModel) view(r *unitRow, s Styles, w, h int) []string {
	all := detailLines(r, s, w)
	d.offset = clamp(d.offset, 0, max(0, len(all)-h))
	out := make([]string, 0, h)
	for _, line := range all[d.offset:] {
		if len(out) == h {
			break
		}
		out = append(out, truncate(line, w))
	}
	return fill(out, h)
}
