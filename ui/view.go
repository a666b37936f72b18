package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"

	"github.com/socktui/socktui/internal/termtext"
)

// paneHeights splits the body between the list, detail and timeline panes
// (each including its title line): the list takes what its rows need up to
// half, the detail what it needs, and the timeline keeps at least 3 lines.
func (m *Model) paneHeights() (list, detail, timeline int) {
	body := m.height - lipgloss.Height(m.headerView()) - 2 // status and footer
	list = clamp(len(m.list.visible)+2, 4, body/2)
	if len(m.list.visible) == 0 {
		list = clamp(strings.Count(m.emptyText(), "\n")+2, 4, body/2)
	}
	need := len(detailLines(m.list.current(&m.units), m.styles, m.width)) + 1
	detail = clamp(need, 3, body-list-3)
	timeline = body - list - detail
	return list, detail, timeline
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
	case !m.loaded && m.status.conn == connEnded:
		return "Not connected to a manager."
	case !m.loaded:
		return "Loading socket units…"
	case len(m.units.rows) == 0:
		text := "No socket units on this manager.\n" +
			"Run `socktui demo` to open socktui on the bundled echo workload."
		if m.cfg.InstallDemo != nil {
			text += "\nOr press d to install the demo workload here\n(transient units, removed when socktui exits)."
		}
		return text
	case m.list.filter != "":
		return fmt.Sprintf("No unit matches %q (esc clears the filter).", termtext.Clean(m.list.filter))
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
	lines := strings.Split(m.headerView(), "\n")
	listH, detailH, timeH := m.paneHeights()
	body := listH + detailH + timeH
	if m.showHelp {
		lines = append(lines, m.styles.PaneFocus.Render(rule("▸ [Keys] (? or esc closes) ", m.width)))
		lines = append(lines, fill(m.fullHelp(), body-1)...)
	} else {
		lines = append(lines, m.paneTitle(paneList, m.list.title(&m.units)))
		lines = append(lines, m.list.view(&m.units, m.styles, m.width, listH-1, m.emptyText())...)
		sel := m.list.current(&m.units)
		lines = append(lines, m.paneTitle(paneDetail, "Detail"))
		lines = append(lines, m.detail.view(sel, m.styles, m.width, detailH-1)...)
		lines = append(lines, m.paneTitle(paneTimeline, "Timeline"))
		lines = append(lines, m.timeline.view(m.styles, m.width, timeH-1)...)
	}
	lines = append(lines, m.status.view(m.styles, m.width))
	lines = append(lines, m.help.View(m.keys))
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

// fullHelp is the help overlay's lines, generated from the key bindings:
// bubbles/help's columns when they all fit the width, else every enabled
// binding flowed into as many columns as fit, top to bottom.
func (m *Model) fullHelp() []string {
	groups := m.keys.FullHelp()
	need := 0
	for i, g := range groups {
		if i > 0 {
			need += textWidth(m.help.FullSeparator)
		}
		need += lipgloss.Width(m.help.FullHelpView([][]key.Binding{g}))
	}
	if need <= m.width {
		return strings.Split(m.help.FullHelpView(groups), "\n")
	}
	var keys, descs []string
	kw, dw := 0, 0
	for _, g := range groups {
		for _, b := range g {
			if !b.Enabled() {
				continue
			}
			h := b.Help()
			keys, descs = append(keys, h.Key), append(descs, h.Desc)
			kw, dw = max(kw, textWidth(h.Key)), max(dw, textWidth(h.Desc))
		}
	}
	const gap = 2
	colW := kw + 1 + dw
	cols := max(1, (m.width+gap)/(colW+gap))
	rows := (len(keys) + cols - 1) / cols
	out := make([]string, rows)
	for i := range keys {
		r, c := i%rows, i/rows
		cell := m.help.Styles.FullKey.Render(pad(keys[i], kw)) + " " + m.help.Styles.FullDesc.Render(pad(descs[i], dw))
		if c > 0 {
			out[r] += strings.Repeat(" ", gap)
		}
		out[r] += cell
	}
	return out
}
