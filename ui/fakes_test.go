package ui

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// updateGoldens reports the -update flag: it is defined by
// github.com/charmbracelet/x/exp/golden (teatest imports it), and here
// rewrites testdata/*.golden from the current output too.
func updateGoldens() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// fakeManager is a Manager whose methods are func fields; a nil field
// succeeds (Watch: a channel that is never written).
type fakeManager struct {
	watch       func(ctx context.Context) <-chan unit.Event
	startUnit   func(ctx context.Context, name string) error
	stopUnit    func(ctx context.Context, name string) error
	restartUnit func(ctx context.Context, name string) error
	resetFailed func(ctx context.Context, name string) error
	revive      func(ctx context.Context, socket string, services []string) error
	enable      func(ctx context.Context, names []string) error
	disable     func(ctx context.Context, names []string) error
}

var _ Manager = (*fakeManager)(nil)

func (f *fakeManager) Watch(ctx context.Context) <-chan unit.Event {
	if f.watch == nil {
		return make(chan unit.Event)
	}
	return f.watch(ctx)
}

func call(fn func(context.Context, string) error, ctx context.Context, name string) error {
	if fn == nil {
		return nil
	}
	return fn(ctx, name)
}

func (f *fakeManager) StartUnit(ctx context.Context, u string) error {
	return call(f.startUnit, ctx, u)
}
func (f *fakeManager) StopUnit(ctx context.Context, u string) error { return call(f.stopUnit, ctx, u) }
func (f *fakeManager) RestartUnit(ctx context.Context, u string) error {
	return call(f.restartUnit, ctx, u)
}
func (f *fakeManager) ResetFailed(ctx context.Context, u string) error {
	return call(f.resetFailed, ctx, u)
}
func (f *fakeManager) EnableUnitFiles(ctx context.Context, names []string) error {
	if f.enable == nil {
		return nil
	}
	return f.enable(ctx, names)
}
func (f *fakeManager) DisableUnitFiles(ctx context.Context, names []string) error {
	if f.disable == nil {
		return nil
	}
	return f.disable(ctx, names)
}
func (f *fakeManager) ReviveSocket(ctx context.Context, u string, services []string) error {
	if f.revive == nil {
		return nil
	}
	return f.revive(ctx, u, services)
}

// fakeProber is a Prober whose ProbeAll is a func field; nil answers every
// target ok at once.
type fakeProber struct {
	probeAll func(ctx context.Context, ts []unit.Target) <-chan probe.Result
}

var _ Prober = (*fakeProber)(nil)

func (f *fakeProber) ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result {
	if f.probeAll != nil {
		return f.probeAll(ctx, ts)
	}
	ch := make(chan probe.Result, len(ts))
	for _, t := range ts {
		ch <- okResult(t)
	}
	close(ch)
	return ch
}

func okResult(t unit.Target) probe.Result {
	return probe.Result{Unit: t.Unit, Type: t.Type, Address: t.Address, Network: unit.Listen{Type: t.Type, Address: t.Address}.Network(),
		Kind: unit.KindEcho, Outcome: probe.OK, RTT: 1200 * time.Microsecond, Cold: t.Cold}
}

// t0 is the fixed clock of the tests.
var t0 = time.Date(2026, 11, 29, 5, 6, 7, 0, time.UTC)

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// echoListen is the echo workload's seven endpoints.
var echoListen = []unit.Listen{
	{Type: "Stream", Address: "127.0.0.1:3100"},
	{Type: "Stream", Address: "[::1]:3100"},
	{Type: "Datagram", Address: "127.0.0.1:3100"},
	{Type: "Datagram", Address: "[::1]:3100"},
	{Type: "Stream", Address: "/run/user/0/echo.sock"},
	{Type: "SequentialPacket", Address: "/run/user/0/echo-seq.sock"},
	{Type: "Stream", Address: "vsock::3100"},
}

// echoSocket is the echo socket in a given state.
func echoSocket(state unit.State) unit.Socket {
	s := unit.Socket{
		Unit: "echo.socket", Description: "socktui echo demo", LoadState: "loaded",
		ActiveState: "active", SubState: "listening", Result: "success",
		Listen: echoListen, Triggers: []string{"echo.service"},
		Services: []unit.Service{{Unit: "echo.service", ActiveState: "inactive", SubState: "dead", Result: "success", Container: "socktui-echo"}},
		State:    state, NAccepted: 0,
	}
	switch state {
	case unit.StateActive:
		s.SubState = "running"
		s.Services[0].ActiveState, s.Services[0].SubState = "active", "running"
		s.Services[0].MainPID = 4242
		s.Services[0].Since = t0.Add(-3 * time.Minute)
		s.NConnections, s.NAccepted = 1, 1
	case unit.StateStopped:
		s.ActiveState, s.SubState = "inactive", "dead"
	case unit.StateFailed:
		s.ActiveState, s.SubState, s.Result = "failed", "failed", "service-start-limit-hit"
		s.Reason = "service echo.service: exit-code"
		s.Services[0].ActiveState, s.Services[0].SubState, s.Services[0].Result = "failed", "failed", "exit-code"
	}
	return s
}

// otherSockets are more units for a fuller list.
func otherSockets() []unit.Socket {
	return []unit.Socket{
		{Unit: "podman.socket", Description: "Podman API Socket", LoadState: "loaded", ActiveState: "active", SubState: "listening",
			Listen: []unit.Listen{{Type: "Stream", Address: "/run/user/0/podman/podman.sock"}}, Triggers: []string{"podman.service"},
			Services: []unit.Service{{Unit: "podman.service", ActiveState: "inactive", SubState: "dead"}}, State: unit.StateIdle},
		{Unit: "dbus.socket", Description: "D-Bus User Message Bus Socket", LoadState: "loaded", ActiveState: "inactive", SubState: "dead",
			Listen: []unit.Listen{{Type: "Stream", Address: "/run/user/0/bus"}}, Triggers: []string{"dbus.service"}, State: unit.StateStopped},
	}
}

// manySockets is n idle sockets with two endpoints each.
func manySockets(n int) []unit.Socket {
	out := make([]unit.Socket, n)
	for i := range out {
		name := fmt.Sprintf("bench-%04d", i)
		out[i] = unit.Socket{
			Unit: name + ".socket", Description: "benchmark socket " + name, LoadState: "loaded", ActiveState: "active", SubState: "listening",
			Listen: []unit.Listen{
				{Type: "Stream", Address: fmt.Sprintf("127.0.0.1:%d", 20000+i)},
				{Type: "Datagram", Address: fmt.Sprintf("[::1]:%d", 20000+i)},
			},
			Triggers: []string{name + ".service"},
			Services: []unit.Service{{Unit: name + ".service", ActiveState: "inactive", SubState: "dead"}},
			State:    unit.StateIdle,
		}
	}
	return out
}

// newTestModel builds a model with fakes (unless cfg has Hosts), a fixed clock and the ASCII
// profile, sized w x h.
func newTestModel(t testing.TB, cfg Config, w, h int) Model {
	t.Helper()
	if len(cfg.Hosts) == 0 {
		if cfg.Manager == nil {
			cfg.Manager = &fakeManager{}
		}
		if cfg.Prober == nil {
			cfg.Prober = &fakeProber{}
		}
	}
	if cfg.ManagerName == "" {
		cfg.ManagerName = "sandbox"
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 }
	}
	cfg.Renderer = asciiRenderer()
	m := New(context.Background(), cfg)
	m, _ = apply(m, tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// apply sends msg to m and returns the new model and the Cmd.
func apply(m Model, msg tea.Msg) (Model, tea.Cmd) {
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

// event wraps a manager event as the Update message waitForEvent delivers.
func event(ev unit.Event) tea.Msg {
	return eventReceivedMsg{ev: ev, events: make(chan unit.Event)}
}

func snapshot(socks ...unit.Socket) tea.Msg {
	return event(unit.Event{Kind: unit.Snapshot, At: t0, Sockets: socks})
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// golden compares the ANSI-stripped view with testdata/name.golden.
func golden(t *testing.T, name string, view string) {
	t.Helper()
	got := ansi.Strip(view)
	path := filepath.Join("testdata", name+".golden")
	if updateGoldens() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("view differs from %s (go test ./ui -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fakeAuthoring is an Authoring whose methods are func fields; a nil field
// succeeds (Host: no images, format service; Preview: one file; Wrote:
// false).
type fakeAuthoring struct {
	host    func(ctx context.Context) (AuthoringHost, error)
	preview func(ctx context.Context, u NewUnit) (Preview, error)
	create  func(ctx context.Context, u NewUnit) ([]string, error)
	wrote   func(ctx context.Context, s unit.Socket) (bool, error)
	remove  func(ctx context.Context, socket string) ([]string, error)
}

var _ Authoring = (*fakeAuthoring)(nil)

func (f *fakeAuthoring) Host(ctx context.Context) (AuthoringHost, error) {
	if f.host == nil {
		return AuthoringHost{Format: "service"}, nil
	}
	return f.host(ctx)
}

func (f *fakeAuthoring) Preview(ctx context.Context, u NewUnit) (Preview, error) {
	if f.preview == nil {
		return Preview{Text: "## /home/u/.config/systemd/user/" + u.Name + ".socket\n[Socket]\n"}, nil
	}
	return f.preview(ctx, u)
}

func (f *fakeAuthoring) Create(ctx context.Context, u NewUnit) ([]string, error) {
	if f.create == nil {
		return nil, nil
	}
	return f.create(ctx, u)
}

func (f *fakeAuthoring) Wrote(ctx context.Context, s unit.Socket) (bool, error) {
	if f.wrote == nil {
		return false, nil
	}
	return f.wrote(ctx, s)
}

func (f *fakeAuthoring) Remove(ctx context.Context, socket string) ([]string, error) {
	if f.remove == nil {
		return nil, nil
	}
	return f.remove(ctx, socket)
}
