package ui

import tea "github.com/charmbracelet/bubbletea"

// typedAhead reports whether msg is several keys typed faster than the UI
// read them. Bubble Tea v1 parses each read of the terminal on its own and
// reports the runes of one read as one KeyRunes message, so "/" and then
// "web", when both reach the terminal before the UI reads (a busy or
// loaded machine, a slow link), come as the one key "/web", which matches
// no binding. A paste (Paste set, with bracketed paste) is not typed ahead.
func typedAhead(msg tea.KeyMsg) bool {
	return msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste
}

// handleTypedAhead handles keys typed ahead one rune at a time, as if they
// had come one by one; once one of them opens the filter prompt, the rest
// is the filter's text.
func (m Model) handleTypedAhead(msg tea.KeyMsg) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	for i, r := range msg.Runes {
		var cmd tea.Cmd
		if m.list.filtering {
			m.list, cmd = m.list.updateFilter(tea.KeyMsg{Type: tea.KeyRunes, Runes: msg.Runes[i:]}, &m.units)
			return m, tea.Batch(append(cmds, cmd)...)
		}
		m, cmd = m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}
