package ui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/socktui/socktui/unit"
)

// TestFlowCreateSelectAndRemove runs the program: n, the fields typed key
// by key (the image completed with tab), the preview, enter; the manager
// then reports the new socket, which is selected; D asks, y removes it.
func TestFlowCreateSelectAndRemove(t *testing.T) {
	mgr, events := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(),
		Sockets: append(otherSockets(), echoSocket(unit.StateIdle))})
	a := newRecorder()
	create := a.create
	a.create = func(ctx context.Context, u NewUnit) ([]string, error) {
		report, err := create(ctx, u)
		ws := webSocket()
		events <- unit.Event{Kind: unit.UnitAdded, At: time.Now(), Socket: &ws}
		return report, err
	}
	remove := a.remove
	a.remove = func(ctx context.Context, socket string) ([]string, error) {
		report, err := remove(ctx, socket)
		events <- unit.Event{Kind: unit.UnitRemoved, At: time.Now(), Unit: socket}
		return report, err
	}
	tm := startFlow(t, Config{Manager: mgr, Authoring: a, Select: "echo.socket"})
	waitScreen(t, tm, "echo.socket", "connected")

	tm.Type("n")
	waitScreen(t, tm, "New socket-activated container", "> name")
	tm.Type("web")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitScreen(t, tm, "> image", "tab: docker.io/library/nginx:1.27 · localhost/lighttpd:latest")
	tm.Type("socktui")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitScreen(t, tm, "localhost/socktui-echo:1█")
	tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	waitScreen(t, tm, "> listen")
	tm.Type("tcp:127.0.0.1:8080 unix:%h/web.sock")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "New web: the files socktui new writes", "ListenStream=%h/web.sock", "enter write and start them")

	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "web.socket listening, triggers web.service", "> web.socket", "socktui web (container localhost/socktui-echo:1)")

	tm.Type("D")
	waitScreen(t, tm, "Remove web.socket? ", "[y/N]")
	tm.Type("y")
	waitScreen(t, tm, "removed /home/u/.config/systemd/user/web.socket", "remove web.socket: done")

	final := quit(t, tm)
	if final.units.get(rowKey{unit: "web.socket"}) != nil {
		t.Error("web.socket is still listed after its removal")
	}
	if len(a.creates) != 1 || len(a.removes) != 1 || a.removes[0] != "web.socket" {
		t.Errorf("creates %+v, removes %q", a.creates, a.removes)
	}
	if want := []string{"tcp:127.0.0.1:8080", "unix:%h/web.sock"}; len(a.creates) == 1 && !equalUnit(a.creates[0], NewUnit{Name: "web", Image: "localhost/socktui-echo:1", Listen: want}) {
		t.Errorf("created %+v", a.creates[0])
	}
}
