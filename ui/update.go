package ui

import (
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// startSpinner schedules the first spinner tick unless one is scheduled.
func (m *Model) startSpinner() tea.Cmd {
	if m.status.spinning || !m.status.busy() {
		return nil
	}
	m.status.spinning = true
	return m.status.spinner.Tick
}

// fail records an error in the status line and the timeline.
func (m *Model) fail(err error) {
	text := termtext.Clean(err.Error())
	m.status.lastErr = text
	m.timeline.add(m.now(), text, true)
}

func (m Model) handleKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := m.keys
	if msg.String() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.list.filtering {
		return m.handleFilterKey(msg)
	}
	if typedAhead(msg) {
		return m.handleTypedAhead(msg)
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, k.Quit):
			return m, tea.Quit
		case key.Matches(msg, k.Help, k.Back):
			m.showHelp = false
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
	case key.Matches(msg, k.Back):
		switch {
		case m.focus != paneList:
			m.focus = paneList
		case m.list.filter != "":
			m.list.filter = ""
			m.list.rebuild(&m.units)
		default:
			m.status.lastErr = ""
		}
	case key.Matches(msg, k.Up):
		m.scroll(-1)
	case key.Matches(msg, k.Down):
		m.scroll(1)
	case key.Matches(msg, k.PageUp):
		m.scroll(-max(1, m.listRows()-1))
	case key.Matches(msg, k.PageDown):
		m.scroll(max(1, m.listRows()-1))
	case key.Matches(msg, k.Top):
		m.scroll(-1 << 30)
	case key.Matches(msg, k.Bottom):
		m.scroll(1 << 30)
	case key.Matches(msg, k.Detail):
		if m.focus == paneDetail {
			m.focus = paneList
		} else {
			m.focus = paneDetail
		}
	case key.Matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % numPanes
	case key.Matches(msg, k.PrevPane):
		m.focus = (m.focus + numPanes - 1) % numPanes
	case key.Matches(msg, k.Filter):
		m.list.filtering = true
	case key.Matches(msg, k.ToggleInactive):
		m.list.hideInactive = !m.list.hideInactive
		m.list.rebuild(&m.units)
	case key.Matches(msg, k.Probe):
		if r := m.list.current(&m.units); r != nil {
			return m.probe([]*unitRow{r})
		}
		m.fail(fmt.Errorf("probe: no unit selected"))
	case key.Matches(msg, k.ProbeAll):
		var rows []*unitRow
		for _, r := range m.units.rows {
			if r.sock.Listening() && len(r.sock.Listen) > 0 {
				rows = append(rows, r)
			}
		}
		return m.probe(rows)
	case key.Matches(msg, k.Start):
		return m.act(func(r *unitRow) (tea.Cmd, error) { return startUnit(m.ctx, m.cfg.Manager, r.sock.Unit), nil })
	case key.Matches(msg, k.Stop):
		return m.act(func(r *unitRow) (tea.Cmd, error) { return stopUnit(m.ctx, m.cfg.Manager, r.sock.Unit), nil })
	case key.Matches(msg, k.Restart):
		return m.act(func(r *unitRow) (tea.Cmd, error) { return restartUnit(m.ctx, m.cfg.Manager, r.sock.Unit), nil })
	case key.Matches(msg, k.StopService):
		return m.act(func(r *unitRow) (tea.Cmd, error) {
			svcs := r.serviceNames()
			if len(svcs) == 0 {
				return nil, fmt.Errorf("stop service: %s triggers no service", r.sock.Unit)
			}
			return stopServices(m.ctx, m.cfg.Manager, svcs), nil
		})
	case key.Matches(msg, k.ResetFailed):
		return m.act(func(r *unitRow) (tea.Cmd, error) {
			failed := r.sock.FailedServices()
			if r.sock.ActiveState == "failed" {
				// A failed socket stays down after reset-failed: R brings
				// it back to listening.
				return reviveSocket(m.ctx, m.cfg.Manager, r.sock.Unit, failed), nil
			}
			return resetFailed(m.ctx, m.cfg.Manager, append([]string{r.sock.Unit}, failed...)), nil
		})
	case key.Matches(msg, k.InstallDemo):
		m.status.jobs++
		m.timeline.add(m.now(), "installing the demo workload", false)
		return m, tea.Batch(installDemo(m.ctx, m.cfg.InstallDemo), m.startSpinner())
	}
	return m, nil
}

// handleFilterKey edits the filter while the prompt is open: enter keeps
// it, esc clears it.
func (m Model) handleFilterKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch msg.Type {
	case tea.KeyEnter:
		m.list.filtering = false
	case tea.KeyEsc:
		m.list.filtering = false
		m.list.filter = ""
	case tea.KeyBackspace:
		if r := []rune(m.list.filter); len(r) > 0 {
			m.list.filter = string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		m.list.filter += termtext.Clean(string(msg.Runes))
	default:
		return m, nil
	}
	m.list.rebuild(&m.units)
	return m, nil
}

// scroll moves within the focused pane.
func (m *Model) scroll(delta int) {
	switch m.focus {
	case paneList:
		m.list.move(&m.units, delta)
		m.detail.offset = 0
	case paneDetail:
		m.detail.offset = max(0, m.detail.offset+delta)
	case paneTimeline:
		m.timeline.offset = max(0, m.timeline.offset-delta)
	}
}

// act runs a unit action on the selected unit.
func (m Model) act(cmd func(r *unitRow) (tea.Cmd, error)) (Model, tea.Cmd) {
	r := m.list.current(&m.units)
	if r == nil {
		m.fail(fmt.Errorf("no unit selected"))
		return m, nil
	}
	if m.cfg.Manager == nil {
		m.fail(fmt.Errorf("no manager connection"))
		return m, nil
	}
	c, err := cmd(r)
	if err != nil {
		m.fail(err)
		return m, nil
	}
	m.status.jobs++
	return m, tea.Batch(c, m.startSpinner())
}

// probe starts one probe run over every endpoint of rows.
func (m Model) probe(rows []*unitRow) (Model, tea.Cmd) {
	if m.cfg.Prober == nil {
		return m, nil
	}
	var targets []unit.Target
	now := m.now()
	run := &probeRun{start: now, remaining: map[string]int{}}
	for _, r := range rows {
		ts := r.sock.Targets()
		if len(ts) == 0 {
			continue
		}
		targets = append(targets, ts...)
		run.units++
		run.remaining[r.sock.Unit] += len(ts)
		r.probing += len(ts)
		if ts[0].Cold && r.triggeredAt.IsZero() {
			r.triggeredAt = now
		}
		r.refresh()
	}
	if len(targets) == 0 {
		m.fail(fmt.Errorf("probe: no listening endpoints"))
		return m, nil
	}
	run.total = len(targets)
	m.nextRun++
	m.runs[m.nextRun] = run
	m.status.probes += run.total
	m.timeline.add(now, fmt.Sprintf("probe run %d: %s of %s", m.nextRun, plural(run.total, "endpoint"), plural(run.units, "unit")), false)
	return m, tea.Batch(runProbes(m.ctx, m.cfg.Prober, m.nextRun, targets), m.startSpinner())
}

// applyProbe stores one probe result.
func (m *Model) applyProbe(id int, res probe.Result) {
	run := m.runs[id]
	if run == nil {
		return
	}
	run.done++
	if res.Outcome == probe.OK {
		run.ok++
	}
	m.status.probes--
	if run.remaining[res.Unit] > 0 {
		run.remaining[res.Unit]--
	}
	r := m.units.get(res.Unit)
	if r == nil {
		return
	}
	if r.probing > 0 {
		r.probing--
	}
	if r.results == nil {
		r.results = map[string]probe.Result{}
	}
	r.results[probeKey(res.Type, res.Address)] = res
	r.refresh()
	if res.Outcome != probe.OK {
		m.timeline.add(m.now(), fmt.Sprintf("probe %s %s: %s", termtext.Clean(res.Unit), listenEntry(unit.Listen{Type: res.Type, Address: res.Address}), resultText(res)), true)
	}
}

// finishRun closes a probe run: results that never came are no longer in
// flight, and the timeline gets the run's summary.
func (m *Model) finishRun(id int) {
	run := m.runs[id]
	if run == nil {
		return
	}
	delete(m.runs, id)
	m.status.probes -= run.total - run.done
	for name, n := range run.remaining {
		if r := m.units.get(name); r != nil && n > 0 {
			r.probing = max(0, r.probing-n)
			r.refresh()
		}
	}
	m.timeline.add(m.now(), fmt.Sprintf("probe run %d finished: %s in %s", id, probeSummary(run.ok, run.total), formatDuration(m.now().Sub(run.start))), run.ok != run.total)
}

// applyEvent applies one manager event to the units and the timeline.
func (m *Model) applyEvent(ev unit.Event) {
	at := ev.At
	if at.IsZero() {
		at = m.now()
	}
	switch ev.Kind {
	case unit.Snapshot, unit.Reconnected:
		first := !m.loaded
		m.loaded = true
		if m.status.conn == connGone || m.status.conn == connReconnecting {
			// The error was the lost connection, which is back.
			m.status.lastErr = ""
		}
		m.status.conn = connConnected
		m.units.replace(ev.Sockets)
		m.list.rebuild(&m.units)
		switch {
		case ev.Kind == unit.Reconnected:
			m.timeline.add(at, fmt.Sprintf("reconnected: %s", plural(len(ev.Sockets), "socket unit")), false)
		case first:
			m.timeline.add(at, fmt.Sprintf("connected: %s", plural(len(ev.Sockets), "socket unit")), false)
		default:
			m.timeline.add(at, fmt.Sprintf("reloaded: %s", plural(len(ev.Sockets), "socket unit")), false)
		}
	case unit.UnitChanged, unit.UnitAdded:
		if ev.Socket == nil {
			return
		}
		row, old := m.units.upsert(*ev.Socket)
		if old == nil {
			m.timeline.add(at, termtext.Clean(ev.Socket.Unit)+" added", false)
			m.list.rebuild(&m.units)
			return
		}
		m.transitions(row, *old, at)
		if m.list.hideInactive || m.list.filter != "" {
			m.list.rebuild(&m.units)
		}
	case unit.UnitRemoved:
		if m.units.remove(ev.Unit) {
			m.timeline.add(at, termtext.Clean(ev.Unit)+" removed", false)
			m.list.rebuild(&m.units)
		}
	case unit.JobFinished:
		if ev.JobResult != "" && ev.JobResult != "done" {
			m.timeline.add(at, fmt.Sprintf("job %d %s: %s", ev.Job, termtext.Clean(ev.Unit), termtext.Clean(ev.JobResult)), true)
		}
	case unit.Disconnected:
		if m.status.conn != connGone {
			m.status.conn = connReconnecting
			m.status.drops++
		}
		text := "disconnected from the manager"
		if ev.Err != nil {
			text += ": " + termtext.Clean(ev.Err.Error())
			m.status.lastErr = text
		}
		m.timeline.add(at, text, true)
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
	if s.SubState == "running" && old.SubState != "running" && row.triggeredAt.IsZero() && !serviceUp(s) {
		row.triggeredAt = at
	}
	if s.State != old.State {
		text := fmt.Sprintf("%s %s -> %s", termtext.Clean(s.Unit), orDash(string(old.State)), orDash(string(s.State)))
		if s.State == unit.StateFailed && s.Reason != "" {
			text += ": " + termtext.Clean(s.Reason)
		}
		m.timeline.add(at, text, s.State == unit.StateFailed)
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
		case "active":
			if !row.triggeredAt.IsZero() && !at.Before(row.triggeredAt) {
				text += "  " + formatDuration(at.Sub(row.triggeredAt)) + " after first connection"
			}
			row.triggeredAt = time.Time{}
		case "inactive", "failed":
			row.triggeredAt = time.Time{}
		}
		m.timeline.add(at, text, svc.ActiveState == "failed")
	}
}

// listRows is how many unit rows the list pane shows.
func (m *Model) listRows() int {
	l, _, _ := m.paneHeights()
	return max(1, l-2) // title and header
}

// Selected is the unit name under the cursor, "" when none.
func (m Model) Selected() string {
	if r := m.list.current(&m.units); r != nil {
		return r.sock.Unit
	}
	return ""
}

// serviceUp reports whether any service of the socket is fully active.
func serviceUp(s unit.Socket) bool {
	for _, svc := range s.Services {
		if svc.ActiveState == "active" {
			return true
		}
	}
	return false
}

// fixOffsets keeps the scroll offsets of the panes valid after any change:
// the list keeps the cursor in view, the others stop at their content.
func (m *Model) fixOffsets() {
	if m.height == 0 {
		return
	}
	listH, detailH, timeH := m.paneHeights()
	rows := max(1, listH-2)
	l := &m.list
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+rows {
		l.offset = l.cursor - rows + 1
	}
	l.offset = clamp(l.offset, 0, max(0, len(l.visible)-rows))
	n := len(detailLines(m.list.current(&m.units), m.styles, m.width))
	m.detail.offset = clamp(m.detail.offset, 0, max(0, n-(detailH-1)))
	m.timeline.offset = clamp(m.timeline.offset, 0, max(0, len(m.timeline.entries)-(timeH-1)))
}
