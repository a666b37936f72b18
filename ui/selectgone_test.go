package ui

import (
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestSelectionStaysNearAGoneRow: when the selected unit goes (a host's
// new Snapshot lacks it), the selection moves to the row in its place on
// the same host, not to the top of the list (another host's first unit).
func TestSelectionStaysNearAGoneRow(t *testing.T) {
	other := func(name string) unit.Socket {
		s := web1Socket()
		s.Unit = name
		return s
	}
	m := twoHosts(t, Host{}, Host{})
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), other("mid.socket"), web1Socket()))
	// web1: echo, mid, web. Select web1's mid.socket.
	m.list.selected = rowKey{host: 1, unit: "mid.socket"}
	m.list.rebuild(&m.units)
	if got := m.list.current(&m.units).key(); got != (rowKey{1, "mid.socket"}) {
		t.Fatalf("selected %v", got)
	}
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), web1Socket()))
	if got := m.list.current(&m.units).key(); got != (rowKey{1, "web.socket"}) {
		t.Errorf("mid.socket gone: selected %v, want web1's web.socket (the next row)", got)
	}
	// The last of web1's rows gone: the one before it, still on web1.
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle)))
	if got := m.list.current(&m.units).key(); got != (rowKey{1, "echo.socket"}) {
		t.Errorf("web.socket gone: selected %v, want web1's echo.socket", got)
	}
	// A filter still selects its first match.
	m, _ = apply(m, keyMsg("/"))
	m = typeKeys(m, "local")
	if got := m.list.current(&m.units).key(); got != (rowKey{0, "echo.socket"}) {
		t.Errorf("filter local: selected %v, want local's echo.socket", got)
	}
}

// TestSelectWaitsForTheHostThatHasIt: Config.Select names a unit that
// only a host connecting later has; this machine's units arriving first
// do not take the selection, and once the host lists it, it is selected.
func TestSelectWaitsForTheHostThatHasIt(t *testing.T) {
	hosts := []Host{{Manager: &fakeManager{}}, {Name: "web1", Manager: &fakeManager{}}}
	m := newTestModel(t, Config{Hosts: hosts, Select: "web.socket"}, 100, 30)
	m, _ = apply(m, hostSnapshot(0, echoSocket(unit.StateIdle)))
	if r := m.list.current(&m.units); r == nil || r.key() != (rowKey{0, "echo.socket"}) {
		t.Fatalf("before web1: current %v", r)
	}
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), web1Socket()))
	if got := m.list.current(&m.units).key(); got != (rowKey{1, "web.socket"}) {
		t.Errorf("once web1 lists web.socket: selected %v, want web1's web.socket", got)
	}

	// Moved before the unit appears: the user's choice stands.
	m = newTestModel(t, Config{Hosts: hosts, Select: "web.socket"}, 100, 30)
	m, _ = apply(m, hostSnapshot(0, echoSocket(unit.StateIdle), otherSockets()[0]))
	m, _ = apply(m, keyMsg("j"))
	chosen := m.list.current(&m.units).key()
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), web1Socket()))
	if got := m.list.current(&m.units).key(); got != chosen {
		t.Errorf("after j: selected %v once web1 came, want %v", got, chosen)
	}
}
