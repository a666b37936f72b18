package ui

import (
	"errors"
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestManyHostsFitEverySize: four hosts, long names, one down with a long
// reason, an error in the status line: every frame, with each overlay,
// keeps to the terminal's size, down to 40x10.
func TestManyHostsFitEverySize(t *testing.T) {
	for _, size := range [][2]int{{40, 10}, {60, 15}, {60, 24}, {80, 24}, {200, 50}} {
		w, h := size[0], size[1]
		hosts := []Host{{Manager: &fakeManager{}, Prober: &fakeProber{}, Logs: &fakeLogs{}},
			{Name: "web1.a-rather-long-domain.example.com", Manager: &fakeManager{}, Prober: &fakeProber{}, Logs: &fakeLogs{}},
			{Name: "web2", Manager: &fakeManager{}}, {Name: "db1", Manager: &fakeManager{}}}
		m := newTestModel(t, Config{Hosts: hosts}, w, h)
		for i := range hosts {
			m, _ = apply(m, hostSnapshot(i, append(demoSockets(), echoSocket(unit.StateIdle))...))
		}
		m, _ = apply(m, hostEvent(2, unit.Event{Kind: unit.Disconnected, Err: errors.New("ssh web2: ssh: connect to host 10.0.0.2 port 22: No route to host: host unreachable")}))
		m, _ = apply(m, actionFinishedMsg{host: 2, action: "start", units: []string{"echo.socket"}, err: errors.New("start echo.socket: no route to host")})
		for _, k := range []string{"G", "enter", "tab", "?", "?", "esc", "l"} {
			m, _ = apply(m, keyMsg(k))
			assertFrame(t, m.View(), w, h)
		}
	}
}
