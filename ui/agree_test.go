package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// TestProbeColumnAgreesWithState: probes that were ok, then the unit
// failed (its service crashed after answering): the list and the detail
// pane must not show ok beside the failure.
func TestProbeColumnAgreesWithState(t *testing.T) {
	m := loaded(t, Config{Prober: &fakeProber{}}, echoSocket(unit.StateIdle))
	// Run every message the probe run sends until it is finished.
	queue := runCmd(func() tea.Cmd { var c tea.Cmd; m, c = apply(m, keyMsg("p")); return c }())
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		var c tea.Cmd
		m, c = apply(m, msg)
		if _, done := msg.(probeRunFinishedMsg); done {
			break
		}
		queue = append(queue, runCmd(c)...)
	}
	r := m.units.get(rowKey{unit: "echo.socket"})
	if r.cells[colProbe] != "7/7 ok" {
		t.Fatalf("after the probe run: probe cell %q, want 7/7 ok", r.cells[colProbe])
	}
	failed := echoSocket(unit.StateFailed)
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, Unit: failed.Unit, Socket: &failed}))
	r = m.units.get(rowKey{unit: "echo.socket"})
	if strings.Contains(r.cells[colProbe], "7/7 ok") || r.cells[colProbe] != "0/7 ok" {
		t.Errorf("failed unit: probe cell %q, want 0/7 ok", r.cells[colProbe])
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "(before the unit failed)") {
		t.Errorf("the detail pane does not mark the old ok results:\n%s", view)
	}

	// The rule itself.
	for _, tt := range []struct {
		out   probe.Outcome
		state unit.State
		want  bool
	}{
		{probe.OK, unit.StateActive, true},
		{probe.OK, unit.StateIdle, true},
		{probe.OK, unit.StateFailed, false},
		{probe.Failed, unit.StateFailed, false},
		{probe.Timeout, unit.StateActive, false},
	} {
		if got := resultStands(probe.Result{Outcome: tt.out}, tt.state); got != tt.want {
			t.Errorf("resultStands(%s, %s) = %v, want %v", tt.out, tt.state, got, tt.want)
		}
	}
}
