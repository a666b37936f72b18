package ui

import (
	"github.com/charmbracelet/lipgloss"
	"github.com/socktui/socktui/unit"
)

// Styles is every style the UI draws with, built once by NewStyles and
// passed down to the panes. Colour only ever repeats what the text already
// says (badges, markers), so a monochrome terminal loses nothing.
type Styles struct {
	Title      lipgloss.Style
	Hint       lipgloss.Style
	PaneTitle  lipgloss.Style // an unfocused pane's title rule
	PaneFocus  lipgloss.Style // the focused pane's title rule
	Header     lipgloss.Style // the list's column header
	Selected   lipgloss.Style // the selected list row
	Dim        lipgloss.Style
	Error      lipgloss.Style
	OK         lipgloss.Style
	Spinner    lipgloss.Style
	Timestamp  lipgloss.Style
	StateStyle map[unit.State]lipgloss.Style
}

// NewStyles builds the styles for a renderer; nil means lipgloss's default
// renderer, which honours NO_COLOR and the terminal's colour profile.
func NewStyles(r *lipgloss.Renderer) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	st := func() lipgloss.Style { return r.NewStyle() }
	return Styles{
		Title:     st().Bold(true),
		Hint:      st().Italic(true).Foreground(lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#7571F9"}),
		PaneTitle: st().Foreground(lipgloss.AdaptiveColor{Light: "#909090", Dark: "#626262"}),
		PaneFocus: st().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "#5A56E0", Dark: "#7571F9"}),
		Header:    st().Bold(true).Underline(true),
		Selected:  st().Bold(true).Reverse(true),
		Dim:       st().Faint(true),
		Error:     st().Bold(true).Foreground(lipgloss.Color("9")),
		OK:        st().Foreground(lipgloss.Color("10")),
		Spinner:   st().Foreground(lipgloss.Color("13")),
		Timestamp: st().Faint(true),
		StateStyle: map[unit.State]lipgloss.Style{
			unit.StateStopped:    st().Faint(true),
			unit.StateIdle:       st().Foreground(lipgloss.Color("12")),
			unit.StateActivating: st().Foreground(lipgloss.Color("11")),
			unit.StateActive:     st().Bold(true).Foreground(lipgloss.Color("10")),
			unit.StateFailed:     st().Bold(true).Foreground(lipgloss.Color("9")),
		},
	}
}

// badge renders a state badge in its colour; the text alone tells the state.
func (s Styles) badge(state unit.State) string {
	if style, ok := s.StateStyle[state]; ok {
		return style.Render(stateBadge(state))
	}
	return stateBadge(state)
}
