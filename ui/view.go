package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/socktui/socktui/internal/termtext"
)

// paneHeights splits the body between the list, detail and timeline panes
// (each including its title line): the list takes what its rows need up to
// a third, the detail what it needs, and the timeline keeps at least 3 lines.
// The body is what the header, the status line and the footer leave.
func (m *Model) paneHeights() (list, detail, timeline int) {
	body := m.height - lipgloss.Height(m.headerView()) -
		lipgloss.Height(m.status.view(m.styles, m.width, 0)) - lipgloss.Height(m.help.footer(m.keys))
	const title, header = 1, 1
	// A third for the list: the detail of the selected unit is what a
	// short terminal must show most of.
	list = clamp(len(m.list.visible)+title+header, 4, body/3)
	if len(m.list.visible) == 0 {
		list = clamp(lipgloss.Height(m.emptyText())+title, 4, body/2)
	}
	detail = clamp(m.detail.lineCount()+title, 3, body-list-3)
	timeline = body - list - detail
	return list, detail, timeline
}

// layout fits the panes to the terminal and their content after every
// message: the detail shows the selected unit, and each pane gets its
// height. It is the one place where scroll offsets are kept valid.
func (m *Model) layout() {
	if m.width < MinWidth || m.height < MinHeight {
		return // View says the terminal is too small
	}
	if m.form.open {
		m.layoutForm()
	}
	if m.logs.open {
		logsH, timeH := m.logPaneHeights()
		m.logs.layout(m.width, logsH-1) // its title
		m.timeline.setSize(m.width, timeH-1)
		return
	}
	m.detail.show(m.list.current(&m.units), m.styles, m.width)
	listH, detailH, timeH := m.paneHeights()
	m.list.setRows(listH - 2) // its title and header
	m.detail.setHeight(detailH - 1)
	m.timeline.setSize(m.width, timeH-1)
}

// headerView is the title line and, when set, the hint line.
func (m *Model) headerView() string {
	title := m.styles.Title.Render("socktui") + " · " + termtext.Clean(orDash(m.cfg.ManagerName)) + " manager"
	if m.cfg.Hint != "" {
		return title + "\n" + m.styles.Hint.Render(termtext.Clean(m.cfg.Hint))
	}
	return title
}

// paneTitle is a pane's title rule; the focused pane is marked with "▸"
// and brackets, not only by colour.
func (m *Model) paneTitle(p pane, text string) string {
	style, t := m.styles.PaneTitle, "─ "+text+" "
	if m.focus == p {
		style, t = m.styles.PaneFocus, "▸ ["+text+"] "
	}
	return style.Render(rule(t, m.width))
}

// emptyText is what the list says when it shows no units.
func (m *Model) emptyText() string {
	switch {
	case !m.loaded && m.status.allEnded():
		return "Not connected to a manager."
	case !m.loaded:
		return "Loading socket units…"
	case len(m.units.rows) == 0 && m.units.several():
		return "No socket units on any of the hosts yet."
	case len(m.units.rows) == 0:
		text := "No socket units on this manager.\n" +
			"Run `socktui demo` to open socktui on the bundled echo workload."
		if m.cfg.InstallDemo != nil {
			text += "\nOr press d to install the demo workload here\n(transient units, removed when socktui exits)."
		}
		return text
	case m.list.filterText() != "":
		return fmt.Sprintf("No unit matches %q (esc clears the filter).", termtext.Clean(m.list.filterText()))
	default:
		return "Every unit is inactive and hidden: press a to show them."
	}
}

// View renders the whole screen: exactly height lines of at most width
// cells.
func (m Model) View() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	if m.width < MinWidth || m.height < MinHeight {
		msg := []string{
			"terminal too small",
			fmt.Sprintf("%dx%d, need at least %dx%d", m.width, m.height, MinWidth, MinHeight),
		}
		for i := range msg {
			msg[i] = truncate(msg[i], m.width)
		}
		return strings.Join(fill(msg, m.height), "\n")
	}
	listH, detailH, timeH := m.paneHeights()
	parts := []string{m.headerView()}
	switch {
	case m.form.open:
		parts = append(parts, m.styles.PaneFocus.Render(rule("▸ ["+m.form.title()+"] ", m.width)),
			m.form.view(m.styles, m.width, listH+detailH+timeH-1))
	case m.help.open:
		parts = append(parts, m.styles.PaneFocus.Render(rule("▸ [Keys] (? or esc closes) ", m.width)),
			strings.Join(fill(m.help.overlay(m.keys, m.width, listH+detailH+timeH-1), listH+detailH+timeH-1), "\n"))
	case m.logs.open:
		parts = append(parts, m.paneTitle(paneLogs, m.logs.title()), m.logs.view(),
			m.paneTitle(paneTimeline, "Timeline"), m.timeline.view())
	default:
		parts = append(parts,
			m.paneTitle(paneList, m.list.title(&m.units, m.styles)),
			m.list.view(&m.units, m.styles, m.width, listH-1, m.emptyText()),
			m.paneTitle(paneDetail, "Detail"), m.detail.view(),
			m.paneTitle(paneTimeline, "Timeline"), m.timeline.view())
	}
	parts = append(parts, m.status.view(m.styles, m.width, m.probes.inFlight()), m.footer())
	lines := strings.Split(strings.Join(parts, "\n"), "\n")
	for i := range lines {
		lines[i] = truncate(lines[i], m.width)
	}
	return strings.Join(fill(lines, m.height), "\n")
}

// rule is text followed by a line to exactly w cells.
func rule(text string, w int) string {
	text = truncate(text, w)
	return text + strings.Repeat("─", w-textWidth(text))
}
