package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// TestHostileRemoteStringsNeverReachTheScreen: what another host sends
// (unit names, descriptions, a service's name, a disconnect reason from
// ssh's stderr, a probe error, a job result) reaches the screen without
// control characters, in every pane and the status line.
func TestHostileRemoteStringsNeverReachTheScreen(t *testing.T) {
	const evil = "\x1b]0;pwned\x07\x1b[2J\x9b31m\r"
	m := twoHosts(t, Host{}, Host{Prober: &fakeProber{}})
	s := echoSocket(unit.StateFailed)
	s.Unit = "ev" + evil + "il.socket"
	s.Description = "desc" + evil
	s.Reason = "why" + evil
	for i := range s.Services {
		s.Services[i].Unit = "svc" + evil + ".service"
		s.Services[i].Container = "ctr" + evil
	}
	m, _ = apply(m, hostSnapshot(1, s, web1Socket()))
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.JobFinished, Unit: s.Unit, JobResult: "failed" + evil}))
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, Err: errors.New("ssh web1: " + evil)}))
	run := m.probes.begin(m.now(), 1, []unit.Target{{Unit: s.Unit, Type: "Stream", Address: "127.0.0.1:1"}})
	m.applyProbe(run, probe.Result{Unit: s.Unit, Type: "Stream", Address: "127.0.0.1:1", Outcome: probe.Error, Error: "e" + evil, Status: "st" + evil})
	m, _ = apply(m, actionFinishedMsg{host: 1, action: "start", units: []string{s.Unit}, err: errors.New("no" + evil)})
	m.finishRun(run)
	for _, k := range []string{"G", "k", "G"} {
		m, _ = apply(m, keyMsg(k))
		view := m.View()
		if !strings.Contains(view, "svc") {
			t.Fatalf("the hostile unit is not on screen:\n%s", view)
		}
		for _, bad := range []string{"\x1b", "\x07", "\x9b", "\r"} {
			if strings.Contains(view, bad) {
				t.Fatalf("a control character %q on screen:\n%q", bad, view)
			}
		}
	}
}
