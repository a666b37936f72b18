package ui

import (
	"slices"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/unit"
)

// Keys typed faster than the UI reads them come from Bubble Tea v1 as one
// KeyRunes message; each of them still counts.
func TestKeysTypedAhead(t *testing.T) {
	socks := append(otherSockets(), echoSocket(unit.StateIdle))
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

	// "/" and the filter's text in one read: the prompt opens and gets the
	// rest, which may itself hold "/".
	m := loaded(t, Config{}, socks...)
	m, _ = apply(m, runes("/ech/"))
	if !m.list.filtering || m.list.filterText() != "ech/" {
		t.Errorf(`"/ech/" in one message: filtering %v, filter %q; want the prompt open with "ech/"`, m.list.filtering, m.list.filterText())
	}
	m, _ = apply(m, keyMsg("backspace"))
	if m.Selected() != "echo.socket" {
		t.Errorf(`filter %q selects %q, want echo.socket`, m.list.filterText(), m.Selected())
	}

	// Navigation keys, each one a step.
	m = loaded(t, Config{}, socks...)
	m, _ = apply(m, runes("jj"))
	if m.Selected() != "podman.socket" {
		t.Errorf(`"jj" in one message: selected %q, want podman.socket (two rows down)`, m.Selected())
	}

	// A key that quits still quits after the others.
	m = loaded(t, Config{}, socks...)
	m, cmd := apply(m, runes("jq"))
	if m.Selected() != "echo.socket" {
		t.Errorf(`"jq" in one message: selected %q, want echo.socket`, m.Selected())
	}
	if !slices.ContainsFunc(runCmd(cmd), func(msg tea.Msg) bool { _, ok := msg.(tea.QuitMsg); return ok }) {
		t.Errorf(`"jq" in one message did not quit`)
	}

	// A paste is no typing: outside the prompt it does nothing.
	m = loaded(t, Config{}, socks...)
	m, cmd = apply(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jq"), Paste: true})
	if m.Selected() != "dbus.socket" || cmd != nil {
		t.Errorf("a pasted %q outside the prompt: selected %q, cmd %v; want nothing done", "jq", m.Selected(), cmd)
	}
}
