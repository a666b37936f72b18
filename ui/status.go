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

// statusModel is the status line: manager, connection, work in flight and
// the last error.
type statusModel struct {
	manager string
	conn    connState
	jobs    int // unit actions in flight
	lastErr string
	// drops counts disconnects from the manager.
	drops   int
	spinner spinner.Model
	// spinning is true while a spinner tick is scheduled.
	spinning bool
}

func newStatus(manager string) statusModel {
	return statusModel{manager: manager, spinner: spinner.New(spinner.WithSpinner(spinner.Line))}
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
	parts := []string{"manager: " + termtext.Clean(orDash(s.manager)), s.conn.String()}
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
	if s.lastErr != "" {
		line += " · " + st.Error.Render("error: "+s.lastErr)
	}
	return truncate(line, w)
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

// overlay is the help overlay's lines, at most w cells wide: bubbles/help's
// columns when they all fit the width, else every enabled binding flowed
// into as many columns as fit, top to bottom.
func (h helpModel) overlay(k keyMap, w int) []string {
	groups := k.FullHelp()
	need := 0
	for i, g := range groups {
		if i > 0 {
			need += textWidth(h.help.FullSeparator)
		}
		need += lipgloss.Width(h.help.FullHelpView([][]key.Binding{g}))
	}
	if need <= w {
		return strings.Split(h.help.FullHelpView(groups), "\n")
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
	const gap = 2
	cols := max(1, (w+gap)/(kw+1+dw+gap))
	rows := (len(keys) + cols - 1) / cols
	out := make([]string, rows)
	for i := range keys {
		r, c := i%rows, i/rows
		cell := h.help.Styles.FullKey.Render(pad(keys[i], kw)) + " " + h.help.Styles.FullDesc.Render(pad(descs[i], dw))
		if c > 0 {
			out[r] += strings.Repeat(" ", gap)
		}
		out[r] += cell
	}
	return out
}
