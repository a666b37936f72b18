package ui

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/internal/human"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// connState is the connection to the manager as the status line tells it.
type connState int

const (
	connConnecting connState = iota
	connConnected
	connReconnecting
	connEnded
	// connGone: reconnecting for longer than ManagerGoneAfter; Watch still
	// retries, the screen shows the last known state.
	connGone
)

func (c connState) String() string {
	return [...]string{"connecting", "connected", "reconnecting", "disconnected", "the manager is gone (retrying)"}[c]
}

// short is the state beside a host's name in the status line.
func (c connState) short() string {
	if c == connGone {
		return "gone (retrying)"
	}
	return c.String()
}

// ManagerGoneAfter is how long the UI waits for a dropped connection to come
// back before it says the manager is gone. A re-executed or reloaded
// manager is back well within it.
const ManagerGoneAfter = 5 * time.Second

// managerGoneMsg fires ManagerGoneAfter after a disconnect from host's
// manager; drops counts that host's disconnects, so a tick from an earlier
// drop does nothing.
type managerGoneMsg struct{ host, drops int }

// checkManagerGone sends managerGoneMsg about host after d.
func checkManagerGone(d time.Duration, host, drops int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return managerGoneMsg{host: host, drops: drops} })
}

// updateManager applies the messages of the managers' event streams, each
// to its own host: one host's events, drops and end never touch another's.
func (m Model) updateManager(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case watchStartedMsg:
		return m, waitForEvent(msg.host, msg.events)
	case eventReceivedMsg:
		hc := m.status.conn(msg.host)
		if hc == nil {
			return m, nil
		}
		drops := hc.drops
		m.applyEvent(msg.host, msg.ev)
		if hc.drops != drops {
			// A new drop, not a retry of the one being waited out.
			return m, tea.Batch(waitForEvent(msg.host, msg.events), checkManagerGone(ManagerGoneAfter, msg.host, hc.drops))
		}
		return m, waitForEvent(msg.host, msg.events)
	case managerGoneMsg:
		if hc := m.status.conn(msg.host); hc != nil && msg.drops == hc.drops && hc.state == connReconnecting {
			hc.state = connGone
			why := fmt.Sprintf("no answer for %s; units show their last known state; q quits", human.Duration(ManagerGoneAfter))
			if !m.status.several {
				m.status.lastErr = why
			}
			m.note(msg.host, m.now(), "the manager is gone: "+why+"; still retrying", true)
		}
	case watchEndedMsg:
		if hc := m.status.conn(msg.host); hc != nil {
			hc.state = connEnded
			m.note(msg.host, m.now(), "event stream ended", false)
		}
	}
	return m, nil
}

// applyEvent applies one event of host h's manager to its units and the
// timeline.
func (m *Model) applyEvent(h int, ev unit.Event) {
	at := ev.At
	if at.IsZero() {
		at = m.now()
	}
	switch ev.Kind {
	case unit.Snapshot, unit.Reconnected:
		m.applySnapshot(h, ev, at)
	case unit.UnitChanged, unit.UnitAdded:
		if ev.Socket == nil {
			return
		}
		row, old := m.units.upsert(h, *ev.Socket)
		if old == nil {
			m.note(h, at, termtext.Clean(ev.Socket.Unit)+" added", false)
			m.list.rebuild(&m.units)
			return
		}
		m.transitions(row, *old, at)
		if m.list.hideInactive || m.list.filterText() != "" {
			m.list.rebuild(&m.units)
		}
	case unit.UnitRemoved:
		if m.units.remove(rowKey{host: h, unit: ev.Unit}) {
			m.note(h, at, termtext.Clean(ev.Unit)+" removed", false)
			m.list.rebuild(&m.units)
		}
	case unit.JobFinished:
		if ev.JobResult != "" && ev.JobResult != "done" {
			m.note(h, at, fmt.Sprintf("job %d %s: %s", ev.Job, termtext.Clean(ev.Unit), termtext.Clean(ev.JobResult)), true)
		}
	case unit.Disconnected:
		// A manager that connects lazily or retries may say so on each
		// attempt: while it is down, only a new reason is news.
		hc := m.status.conn(h)
		down := hc.state == connReconnecting || hc.state == connGone
		reason := ""
		if ev.Err != nil {
			reason = termtext.Clean(ev.Err.Error())
		}
		if down && reason == hc.reason {
			return
		}
		if !down {
			hc.state = connReconnecting
			hc.drops++
		}
		hc.reason = reason
		text := "disconnected from the manager"
		if reason != "" {
			text += ": " + reason
			if !m.status.several {
				m.status.lastErr = text
			}
		}
		m.note(h, at, text, true)
	}
}

// transitions adds the timeline lines for a socket that changed from old to
// row.sock at time at, and tracks activation latency: from the first sign of
// a connection (the socket going running, or a cold probe starting) to its
// service becoming active.
func (m *Model) transitions(row *unitRow, old unit.Socket, at time.Time) {
	s := row.sock
	// The socket going running is the first connection, unless the service
	// is already up in the same snapshot: then the latency is unknown.
	if s.SubState == "running" && old.SubState != "running" && row.triggeredAt.IsZero() && !serviceActive(s) {
		row.triggeredAt = at
	}
	if s.State != old.State {
		text := fmt.Sprintf("%s %s -> %s", termtext.Clean(s.Unit), orDash(string(old.State)), orDash(string(s.State)))
		if s.State == unit.StateFailed && s.Reason != "" {
			text += ": " + termtext.Clean(s.Reason)
		}
		m.note(row.host, at, text, s.State == unit.StateFailed)
	}
	for _, svc := range s.Services {
		prev := unit.Inactive
		for _, o := range old.Services {
			if o.Unit == svc.Unit {
				prev = o.ActiveState
			}
		}
		if prev == svc.ActiveState {
			continue
		}
		text := fmt.Sprintf("%s %s -> %s", termtext.Clean(svc.Unit), termtext.Clean(string(prev)), termtext.Clean(string(svc.ActiveState)))
		switch svc.ActiveState {
		case unit.Active:
			if !row.triggeredAt.IsZero() && !at.Before(row.triggeredAt) {
				text += "  " + human.Duration(at.Sub(row.triggeredAt)) + " after first connection"
			}
			row.triggeredAt = time.Time{}
		case unit.Inactive, unit.Failed:
			row.triggeredAt = time.Time{}
		}
		m.note(row.host, at, text, svc.ActiveState == unit.Failed)
	}
}

// applySnapshot replaces host h's units with those of a Snapshot or a
// Reconnected event.
func (m *Model) applySnapshot(h int, ev unit.Event, at time.Time) {
	hc := m.status.conn(h)
	first := !hc.loaded
	m.loaded, hc.loaded = true, true
	if (hc.state == connGone || hc.state == connReconnecting) && !m.status.several {
		// The error was the lost connection, which is back.
		m.status.lastErr = ""
	}
	hc.state, hc.reason = connConnected, ""
	m.units.replace(h, ev.Sockets)
	m.list.rebuild(&m.units)
	what := "reloaded"
	switch {
	case ev.Kind == unit.Reconnected:
		what = "reconnected"
	case first:
		what = "connected"
	}
	m.note(h, at, fmt.Sprintf("%s: %s", what, plural(len(ev.Sockets), "socket unit")), false)
}

// serviceActive reports whether any service of the socket is fully
// active, not only coming up (unit.Socket.ServiceUp): a socket that goes
// running while its service is still activating is a first connection
// whose activation latency is measured.
func serviceActive(s unit.Socket) bool {
	for _, svc := range s.Services {
		if svc.ActiveState == unit.Active {
			return true
		}
	}
	return false
}
