package ui

import (
	"context"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// removal is the D key's state: a socket whose removal waits for the
// user's y (the prompt replaces the footer), or whose ownership is being
// checked.
type removal struct {
	// checking is the socket Authoring.Wrote is asked about.
	checking string
	// confirm is the socket the prompt asks about, "" when none.
	confirm string
}

// unitOwnershipCheckedMsg says whether socktui wrote socket.
type unitOwnershipCheckedMsg struct {
	socket string
	wrote  bool
	err    error
}

// unitRemovedMsg says the removal of socket ended.
type unitRemovedMsg struct {
	socket string
	report []string
	err    error
}

func checkWrote(ctx context.Context, a Authoring, s unit.Socket) tea.Cmd {
	return func() tea.Msg {
		wrote, err := a.Wrote(ctx, s)
		return unitOwnershipCheckedMsg{socket: s.Unit, wrote: wrote, err: err}
	}
}

func removeUnit(ctx context.Context, a Authoring, socket string) tea.Cmd {
	return func() tea.Msg {
		report, err := a.Remove(ctx, socket)
		return unitRemovedMsg{socket: socket, report: report, err: err}
	}
}

// removeSelected starts D on the selected unit: first whether socktui
// wrote it; the prompt comes only then.
func (m Model) removeSelected() (Model, tea.Cmd) {
	if m.cfg.Authoring == nil || m.local < 0 {
		return m, nil
	}
	r := m.list.current(&m.units)
	if r == nil {
		m.fail(fmt.Errorf("remove: no unit selected"))
		return m, nil
	}
	if r.host != m.local {
		m.fail(thisMachineOnly("remove", m.host(r.host)))
		return m, nil
	}
	m.remove.checking = r.sock.Unit
	return m, checkWrote(m.ctx, m.cfg.Authoring, r.sock)
}

// removeKey answers the prompt: y removes, any other key keeps the unit.
func (m Model) removeKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	socket := m.remove.confirm
	m.remove.confirm = ""
	if msg.Type != tea.KeyRunes || (string(msg.Runes) != "y" && string(msg.Runes) != "Y") {
		m.timeline.add(m.now(), "remove "+termtext.Clean(socket)+": kept, nothing was done", false)
		return m, nil
	}
	m.status.jobs++
	m.timeline.add(m.now(), "remove "+termtext.Clean(socket)+": stopping it and removing the files socktui wrote", false)
	return m, tea.Batch(removeUnit(m.ctx, m.cfg.Authoring, socket), m.startSpinner())
}

// updateRemoval applies the answers of D's commands.
func (m Model) updateRemoval(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case unitOwnershipCheckedMsg:
		if msg.socket != m.remove.checking {
			return m, nil
		}
		m.remove.checking = ""
		switch {
		case msg.err != nil:
			m.fail(fmt.Errorf("remove %s: %w", msg.socket, msg.err))
		case !msg.wrote:
			m.fail(fmt.Errorf("remove %s: socktui did not write it; nothing was done", msg.socket))
		default:
			m.remove.confirm = msg.socket
		}
	case unitRemovedMsg:
		m.status.jobs--
		for _, line := range msg.report {
			m.timeline.add(m.now(), termtext.Clean(line), false)
		}
		if msg.err != nil {
			m.fail(fmt.Errorf("remove %s: %w", msg.socket, msg.err))
		} else {
			m.timeline.add(m.now(), "remove "+termtext.Clean(msg.socket)+": done", false)
		}
	}
	return m, nil
}

// prompt is the y/N question that replaces the footer.
func (r removal) prompt(st Styles, w int) string {
	q := "Remove " + termtext.Clean(r.confirm) + "? It is stopped and disabled, and the files socktui wrote are deleted. [y/N]"
	return st.Error.Render(truncate(q, w))
}

// footer is the last line: the open form's keys, D's prompt, or the
// keys of the panes.
func (m *Model) footer() string {
	switch {
	case m.form.open:
		return m.help.help.ShortHelpView(m.form.footerHelp())
	case m.remove.confirm != "":
		return m.remove.prompt(m.styles, m.width)
	}
	return m.help.footer(m.keys)
}
