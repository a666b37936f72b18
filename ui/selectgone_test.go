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
