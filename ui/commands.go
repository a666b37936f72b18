package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// Messages: facts, past tense. Commands: verb phrases that take everything
// they need as arguments and never touch the model.

// Every message of a host's manager, prober or action carries the host's
// index (Model.hosts): 0 is the first, and the only one of a Config
// without Hosts.

// watchStartedMsg carries the event stream host's Watch returned.
type watchStartedMsg struct {
	host   int
	events <-chan unit.Event
}

// eventReceivedMsg is one event from host's manager.
type eventReceivedMsg struct {
	host   int
	ev     unit.Event
	events <-chan unit.Event // to wait for the next one
}

// watchEndedMsg says host's event stream was closed (its context ended).
type watchEndedMsg struct{ host int }

// actionFinishedMsg says a unit action on host ended; Err is nil on
// success.
type actionFinishedMsg struct {
	host   int
	action string // "start", "stop", "restart", "stop service", "reset-failed"
	units  []string
	err    error
}

// probesStartedMsg carries the result stream of probe run number run, of
// host's endpoints.
type probesStartedMsg struct {
	run     int
	host    int
	results <-chan probe.Result
}

// probeFinishedMsg is one result of probe run number run, of host's
// endpoints.
type probeFinishedMsg struct {
	run     int
	host    int
	result  probe.Result
	results <-chan probe.Result // to wait for the next one
}

// probeRunFinishedMsg says the result stream of run was closed.
type probeRunFinishedMsg struct{ run int }

// demoInstalledMsg says the InstallDemo func returned.
type demoInstalledMsg struct{ err error }

// watchManager starts the event stream of host's manager m.
func watchManager(ctx context.Context, host int, m Manager) tea.Cmd {
	return func() tea.Msg { return watchStartedMsg{host: host, events: m.Watch(ctx)} }
}

// waitForEvent waits for the next event of host; it is re-armed after
// each one.
func waitForEvent(host int, events <-chan unit.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-events
		if !ok {
			return watchEndedMsg{host: host}
		}
		return eventReceivedMsg{host: host, ev: ev, events: events}
	}
}

// runProbes starts probing host's targets with its prober p as run number
// run. A prober that blocks holds back this run only.
func runProbes(ctx context.Context, p Prober, run, host int, targets []unit.Target) tea.Cmd {
	return func() tea.Msg {
		return probesStartedMsg{run: run, host: host, results: p.ProbeAll(ctx, targets)}
	}
}

// waitForProbe waits for the next result of a run; re-armed after each one.
func waitForProbe(run, host int, results <-chan probe.Result) tea.Cmd {
	return func() tea.Msg {
		r, ok := <-results
		if !ok {
			return probeRunFinishedMsg{run: run}
		}
		return probeFinishedMsg{run: run, host: host, result: r, results: results}
	}
}

// tagHost tags the actionFinishedMsg of an action's Cmd c with the host it
// ran on.
func tagHost(host int, c tea.Cmd) tea.Cmd {
	return func() tea.Msg {
		msg := c()
		if a, ok := msg.(actionFinishedMsg); ok {
			a.host = host
			return a
		}
		return msg
	}
}

// unitAction is one of Manager's per-unit methods.
type unitAction func(ctx context.Context, name string) error

// runAction applies fn to each unit in turn and reports the joined errors,
// each naming the action and the unit once (actionError).
func runAction(ctx context.Context, name string, fn unitAction, units []string) tea.Cmd {
	return func() tea.Msg {
		var errs []error
		for _, u := range units {
			if err := fn(ctx, u); err != nil {
				errs = append(errs, actionError(name, u, err))
			}
		}
		return actionFinishedMsg{action: name, units: units, err: errors.Join(errs...)}
	}
}

// startUnit starts a unit with m.
func startUnit(ctx context.Context, m Manager, name string) tea.Cmd {
	return runAction(ctx, "start", m.StartUnit, []string{name})
}

// stopUnit stops a unit with m.
func stopUnit(ctx context.Context, m Manager, name string) tea.Cmd {
	return runAction(ctx, "stop", m.StopUnit, []string{name})
}

// restartUnit restarts a unit with m.
func restartUnit(ctx context.Context, m Manager, name string) tea.Cmd {
	return runAction(ctx, "restart", m.RestartUnit, []string{name})
}

// stopServices stops a socket's services with m.
func stopServices(ctx context.Context, m Manager, units []string) tea.Cmd {
	return runAction(ctx, "stop service", m.StopUnit, units)
}

// resetFailed clears the failed state of units with m.
func resetFailed(ctx context.Context, m Manager, units []string) tea.Cmd {
	return runAction(ctx, "reset-failed", m.ResetFailed, units)
}

// installDemo runs the InstallDemo func.
func installDemo(ctx context.Context, install func(context.Context) error) tea.Cmd {
	return func() tea.Msg { return demoInstalledMsg{err: install(ctx)} }
}

// reviveSocket brings a failed socket back to listening with m, resetting
// its failed services.
func reviveSocket(ctx context.Context, m Manager, socket string, services []string) tea.Cmd {
	return runAction(ctx, "reset-failed", func(ctx context.Context, name string) error {
		return m.ReviveSocket(ctx, name, services)
	}, []string{socket})
}

// actionError is err of action on unit u as the status line tells it:
// "ACTION U: why". An error that already begins with a verb and u
// ("start echo.socket: ...", as systemdbus.Client words its own) is kept
// as it is, so the unit is not named twice.
func actionError(action, u string, err error) error {
	verb, rest, ok := strings.Cut(err.Error(), " ")
	if ok && verb != "" && strings.HasPrefix(rest, u+": ") {
		return err
	}
	return fmt.Errorf("%s %s: %w", action, u, err)
}
