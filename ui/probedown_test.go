package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestProbeAllLeavesOutADownHost: P with web1 cut probes this machine
// and says once that web1 is not probed, instead of a failed probe per
// endpoint of web1 on the cut link; once web1 is back P probes it again.
func TestProbeAllLeavesOutADownHost(t *testing.T) {
	local, web1 := &fakeProber{}, &fakeProber{}
	m := twoHosts(t, Host{Prober: local}, Host{Prober: web1})
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("ssh web1: no route to host")}))
	m, cmd := apply(m, keyMsg("P"))
	if cmd == nil {
		t.Fatal("P started nothing")
	}
	hosts := map[int]bool{}
	for _, run := range m.probes.runs {
		hosts[run.host] = true
	}
	if !hosts[0] || hosts[1] {
		t.Errorf("P with web1 down started runs on hosts %v, want this machine's only", hosts)
	}
	notes := 0
	for _, e := range m.timeline.entries {
		if strings.HasPrefix(e.Text, "web1: not probed: the host is reconnecting") {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("%d notes that web1 is not probed, want 1", notes)
	}

	// The local manager down does not stop its sockets being probed.
	m = twoHosts(t, Host{Prober: local}, Host{Prober: web1})
	m, _ = apply(m, hostEvent(0, unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("manager restarting")}))
	m, _ = apply(m, keyMsg("P"))
	hosts = map[int]bool{}
	for _, run := range m.probes.runs {
		hosts[run.host] = true
	}
	if !hosts[0] || !hosts[1] {
		t.Errorf("P with the local manager reconnecting started runs on hosts %v, want both", hosts)
	}

	// Back: probed again.
	m = twoHosts(t, Host{Prober: local}, Host{Prober: web1})
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("ssh web1: no route to host")}))
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Reconnected, At: t0, Sockets: []unit.Socket{echoSocket(unit.StateIdle), web1Socket()}}))
	m, _ = apply(m, keyMsg("P"))
	hosts = map[int]bool{}
	for _, run := range m.probes.runs {
		hosts[run.host] = true
	}
	if !hosts[1] {
		t.Errorf("P after web1 came back started runs on hosts %v, want web1 too", hosts)
	}
}
