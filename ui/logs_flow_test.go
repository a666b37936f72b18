package ui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/unit"
)

// The log pane in the real program: l opens it on the selected unit and
// its lines stream in, scrolling up stops following while lines keep
// coming, G follows again, and esc closes the pane and ends the stream's
// context; l opens a new stream.
func TestFlowLogsFollowScrollClose(t *testing.T) {
	mgr, _ := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(), Sockets: append(otherSockets(), echoSocket(unit.StateActive))})
	src := &fakeLogs{}
	tm := startFlow(t, Config{Manager: mgr, Logs: src, Select: "echo.socket"})
	waitScreen(t, tm, "echo.socket", "[active]", "connected")

	tm.Type("l")
	waitScreen(t, tm, "Logs echo.socket · following", "Waiting for the log of echo.socket")
	st := src.stream(t, 0)
	if st.sock.Unit != "echo.socket" {
		t.Fatalf("FollowLogs got %s", st.sock.Unit)
	}
	st.in <- unit.LogBatch{Entries: []unit.LogEntry{entry("echo.service", 0, unit.PriorityInfo, "socktui-echo: fd 3: serving")}}
	waitScreen(t, tm, "I echo.service socktui-echo: fd 3: serving", "1 line")
	st.in <- unit.LogBatch{Entries: logLines(1, 99)}
	waitScreen(t, tm, "line 99", "100 lines")

	tm.Send(tea.KeyMsg{Type: tea.KeyPgUp})
	waitScreen(t, tm, "scrolled (G follows)")
	st.in <- unit.LogBatch{Entries: logLines(100, 3)}
	waitScreen(t, tm, "3 new lines below (G follows)", "103 lines")
	tm.Type("G")
	waitScreen(t, tm, "line 102", "following · 103 lines")

	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitScreen(t, tm, "─ Detail")
	st.ended(t)

	tm.Type("l")
	waitScreen(t, tm, "Waiting for the log of echo.socket")
	next := src.stream(t, 1)
	next.in <- unit.LogBatch{Entries: []unit.LogEntry{entry("echo.socket", 0, unit.PriorityNotice, "reopened")}}
	waitScreen(t, tm, "N echo.socket reopened")
	final := quit(t, tm)
	if !final.logs.open || final.logs.ring.len() != 1 {
		t.Errorf("final pane: open %v, %d lines", final.logs.open, final.logs.ring.len())
	}
}
