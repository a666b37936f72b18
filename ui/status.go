package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/socktui/socktui/internal/termtext"
)

// statusModel is the status line: manager, each host's connection, work
// in flight and the last error.
type statusModel struct {
	manager string
	hosts   []hostConn // by host index
	// several is true when the line names the hosts: there are several,
	// or the one host is another machine. Their disconnect reasons then
	// stand beside their names, not in lastErr.
	several bool
	jobs    int // unit actions in flight
	lastErr string
	spinner spinner.Model
	// spinning is true while a spinner tick is scheduled.
	spinning bool
}

// hostConn is one host's connection as the status line tells it.
type hostConn struct {
	label  string // the host's sanitized name, "local" for this machine
	state  connState
	drops  int    // disconnects from the host's manager
	reason string // why it dropped, sanitized; "" once connected
	loaded bool   // a Snapshot of the host arrived
}

func newStatus(manager string, hosts []Host) statusModel {
	s := statusModel{manager: manager, spinner: spinner.New(spinner.WithSpinner(spinner.Line))}
	for _, h := range hosts {
		s.hosts = append(s.hosts, hostConn{label: h.label()})
	}
	s.several = len(hosts) > 1 || (len(hosts) == 1 && hosts[0].Name != "")
	return s
}

// conn is host h's connection, nil for an index the UI does not have.
func (s *statusModel) conn(h int) *hostConn {
	if h < 0 || h >= len(s.hosts) {
		return nil
	}
	return &s.hosts[h]
}

// allEnded reports whether every host's event stream ended.
func (s *statusModel) allEnded() bool {
	for _, h := range s.hosts {
		if h.state != connEnded {
			return false
		}
	}
	return len(s.hosts) > 0
}

// start schedules the first spinner tick when busy and none is scheduled.
func (s *statusModel) start(busy bool) tea.Cmd {
	if s.spinning || !busy {
		return nil
	}
	s.spinning = true
	return s.spinner.Tick
}

// update advances the spinner while busy; when nothing is in flight the
// tick is dropped, so no timer runs while idle.
func (s statusModel) update(msg spinner.TickMsg, busy bool) (statusModel, tea.Cmd) {
	if !busy {
		s.spinning = false
		return s, nil
	}
	var cmd tea.Cmd
	s.spinner, cmd = s.spinner.Update(msg)
	return s, cmd
}

// view is the status line, at most w cells; probes is how many probes are
// in flight.
func (s statusModel) view(st Styles, w, probes int) string {
	line := s.line(st, probes, hostsPart(s.hosts, true), true)
	if s.several && textWidth(line) > w {
		// Every host's name and state before any reason; when even those
		// do not fit (the error aside, which may be cut), the hosts not
		// connected, which are news.
		hosts := hostsPart(s.hosts, false)
		if textWidth(s.line(st, probes, hosts, false)) > w {
			hosts = hostsSummary(s.hosts)
		}
		line = s.line(st, probes, hosts, true)
	}
	return truncate(line, w)
}

// line is the status line uncut, with hosts as the hosts' part when the
// line names them, and the last error when withErr.
func (s statusModel) line(st Styles, probes int, hosts string, withErr bool) string {
	var parts []string
	if s.several {
		parts = append(parts, hosts)
	} else {
		state := connConnecting
		if len(s.hosts) > 0 {
			state = s.hosts[0].state
		}
		parts = append(parts, "manager: "+termtext.Clean(orDash(s.manager)), state.String())
	}
	if s.jobs > 0 || probes > 0 {
		var work []string
		if s.jobs > 0 {
			work = append(work, plural(s.jobs, "job"))
		}
		if probes > 0 {
			work = append(work, plural(probes, "probe"))
		}
		parts = append(parts, st.Spinner.Render(s.spinner.View())+" "+strings.Join(work, ", ")+" in flight")
	}
	line := strings.Join(parts, " · ")
	if withErr && s.lastErr != "" {
		line += " · " + st.Error.Render("error: "+s.lastErr)
	}
	return line
}

// hostsPart is the hosts' part of the status line: each host's label and
// connection state, "local connected · web1 reconnecting (ssh: connection
// timed out)"; with reasons, a dropped host's reason in brackets.
func hostsPart(hosts []hostConn, reasons bool) string {
	parts := make([]string, 0, len(hosts))
	for _, h := range hosts {
		p := h.label + " " + h.state.short()
		if reasons && h.reason != "" {
			switch h.state {
			case connReconnecting:
				p += " (" + h.reason + ")"
			case connGone:
				// One pair of brackets: "gone (retrying; REASON)".
				p = h.label + " gone (retrying; " + h.reason + ")"
			}
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " · ")
}

// hostsSummary is the hosts' part of a status line too narrow to name
// them all: how many are connected, then each other host's label and
// state, "2 of 4 connected · web1 reconnecting · db1 connecting".
func hostsSummary(hosts []hostConn) string {
	connected := 0
	var others []string
	for _, h := range hosts {
		if h.state == connConnected {
			connected++
			continue
		}
		others = append(others, h.label+" "+h.state.short())
	}
	if len(others) == 0 {
		return "all " + plural(len(hosts), "host") + " connected"
	}
	return strings.Join(append([]string{fmt.Sprintf("%d of %d connected", connected, len(hosts))}, others...), " · ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// helpModel is the footer and the help overlay, both drawn by bubbles/help
// from the key bindings alone.
type helpModel struct {
	help help.Model
	open bool
}

// update handles a key while the overlay is open: q quits, ? or esc
// closes it, anything else is ignored.
func (h helpModel) update(msg tea.KeyMsg, k keyMap) (helpModel, tea.Cmd) {
	switch {
	case key.Matches(msg, k.Quit):
		return h, tea.Quit
	case key.Matches(msg, k.Help, k.Back):
		h.open = false
	}
	return h, nil
}

// footer is the one-line key summary, cut to the width.
func (h helpModel) footer(k keyMap) string { return h.help.View(k) }

// overlay is the help overlay's lines, at most w cells wide and h lines
// high: bubbles/help's columns when they fit, else every enabled binding
// flowed into as many columns as fit the width, top to bottom; when even
// those are more than h lines, into as many columns as h lines need, the
// descriptions cut to fit, so that every key stays on screen.
func (h helpModel) overlay(k keyMap, w, height int) []string {
	groups := k.FullHelp()
	need := 0
	for i, g := range groups {
		if i > 0 {
			need += textWidth(h.help.FullSeparator)
		}
		need += lipgloss.Width(h.help.FullHelpView([][]key.Binding{g}))
	}
	if need <= w {
		if lines := strings.Split(h.help.FullHelpView(groups), "\n"); len(lines) <= max(height, 1) {
			return lines
		}
	}
	var keys, descs []string
	kw, dw := 0, 0
	for _, g := range groups {
		for _, b := range g {
			if !b.Enabled() {
				continue
			}
			hb := b.Help()
			keys, descs = append(keys, hb.Key), append(descs, hb.Desc)
			kw, dw = max(kw, textWidth(hb.Key)), max(dw, textWidth(hb.Desc))
		}
	}
	return flowHelp(h.help.Styles, keys, descs, kw, dw, w, height)
}

// flowHelp lays out keys and their descriptions (kw and dw the widest of
// each) in columns, top to bottom, at most w cells wide and, when the
// width allows, at most h lines high: as many whole columns as fit; when
// those are more than h lines, the columns h lines need, each as wide as
// its own widest key and description, the longest descriptions cut to fit.
func flowHelp(st help.Styles, keys, descs []string, kw, dw, w, h int) []string {
	const gap = 2
	if len(keys) == 0 {
		return nil
	}
	cols := max(1, (w+gap)/(kw+1+dw+gap))
	rows := (len(keys) + cols - 1) / cols
	kws, dws := make([]int, cols), make([]int, cols)
	for c := range cols {
		kws[c], dws[c] = kw, dw
	}
	if h > 0 && rows > h {
		if k, d, ok := fitHelpColumns(keys, descs, h, w, gap); ok {
			rows, kws, dws = h, k, d
		}
	}
	out := make([]string, rows)
	for i := range keys {
		r, c := i%rows, i/rows
		cell := st.FullKey.Render(pad(keys[i], kws[c])) + " " + st.FullDesc.Render(pad(descs[i], dws[c]))
		if c > 0 {
			out[r] += strings.Repeat(" ", gap)
		}
		out[r] += cell
	}
	return out
}

// fitHelpColumns is the key and description width of each column of keys
// laid out top to bottom in rows lines, the descriptions cut to one cap so
// that the columns fit w cells; ok is false when not even a few cells of
// each description fit.
func fitHelpColumns(keys, descs []string, rows, w, gap int) (kws, dws []int, ok bool) {
	const minDesc = 4
	cols := (len(keys) + rows - 1) / rows
	kws, dws = make([]int, cols), make([]int, cols)
	widest := 0
	for i := range keys {
		c := i / rows
		kws[c], dws[c] = max(kws[c], textWidth(keys[i])), max(dws[c], textWidth(descs[i]))
		widest = max(widest, dws[c])
	}
	width := func(limit int) int {
		n := gap * (cols - 1)
		for c := range cols {
			n += kws[c] + 1 + min(dws[c], limit)
		}
		return n
	}
	limit := widest
	for limit > minDesc && width(limit) > w {
		limit--
	}
	if width(limit) > w {
		return nil, nil, false
	}
	for c := range dws {
		dws[c] = min(dws[c], limit)
	}
	return kws, dws, true
}
