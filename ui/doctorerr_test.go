package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/socktui/socktui/unit"
)

// doctorErrors counts the timeline's doctor errors.
func doctorErrors(m Model) int {
	n := 0
	for _, e := range m.timeline.entries {
		if e.Error && strings.Contains(e.Text, "doctor:") {
			n++
		}
	}
	return n
}

// TestDoctorErrorsOnceAndNotWhileDown: a host's failing diagnosis is an
// error once, not once per run (with web1 cut, every probe result's
// diagnosis failed and added one), and none while the host is down.
func TestDoctorErrorsOnceAndNotWhileDown(t *testing.T) {
	m := twoHosts(t, Host{}, Host{})
	refused := errors.New("ssh web1: connect to host 10.0.0.1 port 22: No route to host")
	m, _ = apply(m, diagnosedMsg{host: 1, err: refused})
	m, _ = apply(m, diagnosedMsg{host: 1, err: refused})
	if n := doctorErrors(m); n != 1 {
		t.Errorf("%d doctor errors for the same failure twice, want 1", n)
	}
	if !strings.Contains(m.status.lastErr, "web1: doctor: ssh web1") {
		t.Errorf("status error %q", m.status.lastErr)
	}

	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, At: t0, Err: refused}))
	m, _ = apply(m, diagnosedMsg{host: 1, err: errors.New("ssh web1: timed out")})
	if n := doctorErrors(m); n != 1 {
		t.Errorf("%d doctor errors after a failure while web1 is down, want still 1", n)
	}

	// Back, diagnosed, then failing again: news again.
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), web1Socket()))
	m, _ = apply(m, diagnosedMsg{host: 1})
	m, _ = apply(m, diagnosedMsg{host: 1, err: refused})
	if n := doctorErrors(m); n != 2 {
		t.Errorf("%d doctor errors after a success and the failure again, want 2", n)
	}
	// Another host's failure is its own.
	m, _ = apply(m, diagnosedMsg{host: 0, err: refused})
	if n := doctorErrors(m); n != 3 {
		t.Errorf("%d doctor errors after local failed too, want 3", n)
	}
}
