package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// fail records an error in the status line and the timeline.
func (m *Model) fail(err error) {
	text := termtext.Clean(err.Error())
	m.status.lastErr = text
	m.timeline.add(m.now(), text, true)
}

// handleKey handles one key: ctrl+c always quits; the open n form, D's
// prompt, an open filter prompt or help overlay takes every other key;
// then the root's own keys; the rest goes to the focused pane.
func (m Model) handleKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case msg.String() == "ctrl+c":
		return m, tea.Quit
	case m.form.open:
		return m.formKey(msg)
	case m.remove.confirm != "":
		return m.removeKey(msg)
	case m.list.filtering:
		m.list, cmd = m.list.updateFilter(msg, &m.units)
		return m, cmd
	case typedAhead(msg):
		return m.handleTypedAhead(msg)
	case m.help.open:
		m.help, cmd = m.help.update(msg, m.keys)
		return m, cmd
	case key.Matches(msg, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(msg, m.keys.Help):
		m.help.open = true
		return m, nil
	}
	if next, cmd, ok := m.actionKey(msg); ok {
		return next, cmd
	}
	if m.logs.open {
		return m.logsKey(msg)
	}
	return m.paneKey(msg)
}

// paneKey handles the keys about panes: focus, the list's filter and
// toggle from any pane, and scrolling, which the focused pane does.
func (m Model) paneKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := m.keys
	var cmd tea.Cmd
	switch {
	case key.Matches(msg, k.Back):
		switch {
		case m.focus != paneList:
			m.focus = paneList
		case m.list.filterText() != "":
			m.list = m.list.clearFilter(&m.units)
		default:
			m.status.lastErr = ""
		}
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
		m.list, cmd = m.list.openFilter()
	case key.Matches(msg, k.ToggleInactive):
		m.list = m.list.toggleInactive(&m.units)
	case m.focus == paneDetail:
		m.detail, cmd = m.detail.update(msg, k)
	case m.focus == paneTimeline:
		m.timeline, cmd = m.timeline.update(msg, k)
	default:
		m.list, cmd = m.list.update(msg, k, &m.units)
	}
	return m, cmd
}

// actionKey handles the keys that act on units: probes, unit actions and
// the demo install. ok is false for any other key.
func (m Model) actionKey(msg tea.KeyMsg) (next Model, cmd tea.Cmd, ok bool) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Probe):
		r := m.list.current(&m.units)
		switch {
		case r == nil:
			m.fail(fmt.Errorf("probe: no unit selected"))
		case m.host(r.host).Prober == nil:
			m.fail(fmt.Errorf("probe: %s has no prober", m.host(r.host).label()))
		default:
			next, cmd = m.probe([]*unitRow{r})
			return next, cmd, true
		}
		return m, nil, true
	case key.Matches(msg, k.ProbeAll):
		// Another host whose manager is down is left out, said once: its
		// probes go over the same ssh link, and each endpoint would only
		// fail on it, a timeline line apiece. p still probes one of its
		// units; this machine's sockets are probed whatever its manager
		// does.
		var rows []*unitRow
		skipped := map[int]bool{}
		for _, r := range m.units.rows {
			if !r.sock.Listening() || len(r.sock.Listen) == 0 {
				continue
			}
			if hc := m.status.conn(r.host); hc != nil && m.host(r.host).Name != "" && (hc.state == connReconnecting || hc.state == connGone) {
				if !skipped[r.host] {
					skipped[r.host] = true
					m.note(r.host, m.now(), "not probed: the host is "+hc.state.short()+"; P probes it once it is back", false)
				}
				continue
			}
			rows = append(rows, r)
		}
		if len(rows) == 0 && len(skipped) > 0 {
			return m, nil, true
		}
		next, cmd = m.probe(rows)
		return next, cmd, true
	case key.Matches(msg, k.Logs):
		next, cmd = m.openLogs()
		return next, cmd, true
	case key.Matches(msg, k.Fix):
		next, cmd = m.fix()
		return next, cmd, true
	case key.Matches(msg, k.New):
		next, cmd = m.openNewForm()
		return next, cmd, true
	case key.Matches(msg, k.Remove):
		next, cmd = m.removeSelected()
		return next, cmd, true
	case key.Matches(msg, k.InstallDemo):
		m.status.jobs++
		m.timeline.add(m.now(), "installing the demo workload", false)
		return m, tea.Batch(installDemo(m.ctx, m.cfg.InstallDemo), m.startSpinner()), true
	}
	for _, a := range m.unitActions() {
		if key.Matches(msg, a.key) {
			next, cmd = m.act(a.cmd)
			return next, cmd, true
		}
	}
	return m, nil, false
}

// unitKeyAction is a key and the command it runs on the selected unit
// with the manager of the unit's host.
type unitKeyAction struct {
	key key.Binding
	cmd func(mgr Manager, r *unitRow) (tea.Cmd, error)
}

// unitActions is the keys that run a manager action on the selected unit.
func (m Model) unitActions() []unitKeyAction {
	ctx, k := m.ctx, m.keys
	return []unitKeyAction{
		{k.Start, func(mgr Manager, r *unitRow) (tea.Cmd, error) { return startUnit(ctx, mgr, r.sock.Unit), nil }},
		{k.Stop, func(mgr Manager, r *unitRow) (tea.Cmd, error) { return stopUnit(ctx, mgr, r.sock.Unit), nil }},
		{k.Restart, func(mgr Manager, r *unitRow) (tea.Cmd, error) { return restartUnit(ctx, mgr, r.sock.Unit), nil }},
		{k.StopService, func(mgr Manager, r *unitRow) (tea.Cmd, error) {
			svcs := r.serviceNames()
			if len(svcs) == 0 {
				return nil, fmt.Errorf("stop service: %s triggers no service", r.sock.Unit)
			}
			return stopServices(ctx, mgr, svcs), nil
		}},
		{k.ResetFailed, func(mgr Manager, r *unitRow) (tea.Cmd, error) {
			failed := r.sock.FailedServices()
			if r.sock.ActiveState == unit.Failed {
				// A failed socket stays down after reset-failed: R brings
				// it back to listening.
				return reviveSocket(ctx, mgr, r.sock.Unit, failed), nil
			}
			return resetFailed(ctx, mgr, append([]string{r.sock.Unit}, failed...)), nil
		}},
		{k.Enable, func(mgr Manager, r *unitRow) (tea.Cmd, error) { return enableSocket(ctx, mgr, r.sock) }},
		{k.Disable, func(mgr Manager, r *unitRow) (tea.Cmd, error) { return disableSocket(ctx, mgr, r.sock) }},
	}
}

// act runs a unit action on the selected unit, with its host's manager.
func (m Model) act(cmd func(mgr Manager, r *unitRow) (tea.Cmd, error)) (Model, tea.Cmd) {
	r := m.list.current(&m.units)
	if r == nil {
		m.fail(fmt.Errorf("no unit selected"))
		return m, nil
	}
	mgr := m.host(r.host).Manager
	if mgr == nil {
		m.failOn(r.host, fmt.Errorf("no manager connection"))
		return m, nil
	}
	c, err := cmd(mgr, r)
	if err != nil {
		m.failOn(r.host, err)
		return m, nil
	}
	m.status.jobs++
	return m, tea.Batch(tagHost(r.host, c), m.startSpinner())
}

// finishJob applies the end of a unit action or of the demo install.
func (m *Model) finishJob(msg tea.Msg) {
	m.status.jobs--
	switch msg := msg.(type) {
	case actionFinishedMsg:
		if msg.err != nil {
			m.failOn(msg.host, msg.err)
		} else {
			m.note(msg.host, m.now(), msg.action+" "+termtext.Clean(strings.Join(msg.units, ", "))+": done", false)
		}
	case demoInstalledMsg:
		if msg.err != nil {
			m.fail(fmt.Errorf("install demo: %w", msg.err))
		} else {
			m.timeline.add(m.now(), "demo workload installed", false)
		}
	}
}
