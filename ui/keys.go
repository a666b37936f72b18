package ui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
)

// keyMap is every key socktui answers to; the help overlay and the footer
// are generated from it, so a binding and its help never drift apart.
type keyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding

	Probe, ProbeAll                   key.Binding
	Start, Stop, Restart, StopService key.Binding
	ResetFailed, InstallDemo          key.Binding
	Fix                               key.Binding
	Enable, Disable                   key.Binding
	New, Remove                       key.Binding

	Detail, NextPane, PrevPane key.Binding
	Logs                       key.Binding
	Filter, ToggleInactive     key.Binding
	Back, Help, Quit           key.Binding
}

// newKeyMap builds the bindings; demo says whether the d key is enabled.
func newKeyMap(demo bool) keyMap {
	k := keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),

		Probe:       key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "probe unit")),
		ProbeAll:    key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "probe all endpoints")),
		Start:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start socket")),
		Stop:        key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "stop socket")),
		Restart:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart socket")),
		StopService: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop its service")),
		ResetFailed: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "reset failed")),
		InstallDemo: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "install demo units")),
		Fix:         key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "fix what the doctor can")),
		Enable:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "enable socket")),
		Disable:     key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "disable socket")),
		New:         key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new socket-activated container")),
		Remove:      key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "remove a unit socktui wrote")),

		Detail:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail pane")),
		Logs:           key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "follow the unit's log")),
		NextPane:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane:       key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Filter:         key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ToggleInactive: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "show/hide inactive")),
		Back:           key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back/clear")),
		Help:           key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:           key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
	k.InstallDemo.SetEnabled(demo)
	return k
}

// ShortHelp is the footer: the keys a first-time user needs, most needed
// first (a narrow footer drops the last ones).
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Quit, k.ProbeAll, k.Probe, k.StopService, k.Filter}
}

// FullHelp is the help overlay, one column per group, most needed first (a
// short terminal cuts the last ones).
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Help, k.Quit, k.Back, k.Detail, k.Logs, k.NextPane, k.PrevPane, k.Filter, k.ToggleInactive},
		{k.Probe, k.ProbeAll, k.Start, k.Stop, k.Restart, k.StopService, k.ResetFailed, k.Enable, k.Disable, k.New, k.Remove, k.Fix, k.InstallDemo},
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
	}
}

// viewportKeys is the scrolling part of the bindings, for the detail and
// timeline viewports: the same keys as the list, and nothing else (the
// viewport's own defaults would take d, u, f, b, h and l, which socktui
// binds to other things or not at all).
func (k keyMap) viewportKeys() viewport.KeyMap {
	off := key.NewBinding(key.WithDisabled())
	return viewport.KeyMap{
		Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown,
		HalfPageUp: off, HalfPageDown: off, Left: off, Right: off,
	}
}
