package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// runCmd runs cmd and the Cmds of any batch it returns, and gives back the
// messages, leaving out spinner ticks (they would only wait for the frame
// rate).
func runCmd(cmd tea.Cmd) []tea.Msg {
	msgs, _ := runCmdTicks(cmd)
	return msgs
}

// runCmdTicks is runCmd that also tells whether a spinner tick was among
// the messages.
func runCmdTicks(cmd tea.Cmd) (msgs []tea.Msg, ticked bool) {
	if cmd == nil {
		return nil, false
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			ms, tk := runCmdTicks(c)
			msgs = append(msgs, ms...)
			ticked = ticked || tk
		}
		return msgs, ticked
	case spinner.TickMsg:
		return nil, true
	default:
		return []tea.Msg{msg}, false
	}
}

func loaded(t *testing.T, cfg Config, socks ...unit.Socket) Model {
	t.Helper()
	m := newTestModel(t, cfg, 100, 30)
	m, _ = apply(m, snapshot(socks...))
	return m
}

func timelineText(m Model) string {
	var b strings.Builder
	for _, e := range m.timeline.entries {
		b.WriteString(formatClock(e.At) + " " + e.Text + "\n")
	}
	return b.String()
}

func TestInitWatchesAndRearms(t *testing.T) {
	events := make(chan unit.Event, 1)
	var gotCtx context.Context
	mgr := &fakeManager{watch: func(ctx context.Context) <-chan unit.Event { gotCtx = ctx; return events }}
	ctx := context.WithValue(context.Background(), struct{}{}, "owned by main")
	m := New(ctx, Config{Manager: mgr, Renderer: asciiRenderer()})

	msgs := runCmd(m.Init())
	if len(msgs) != 1 {
		t.Fatalf("Init gave %v", msgs)
	}
	if gotCtx != ctx {
		t.Errorf("Watch got a different context than New")
	}
	m, wait := apply(m, msgs[0])
	events <- unit.Event{Kind: unit.Snapshot, At: t0, Sockets: []unit.Socket{echoSocket(unit.StateIdle)}}
	msgs = runCmd(wait)
	if ev, ok := msgs[0].(eventReceivedMsg); !ok || ev.ev.Kind != unit.Snapshot {
		t.Fatalf("waitForEvent gave %#v", msgs)
	}
	m, wait = apply(m, msgs[0])
	if m.status.hosts[0].state != connConnected || len(m.units.rows) != 1 {
		t.Errorf("after Snapshot: conn %v, %d units", m.status.hosts[0].state, len(m.units.rows))
	}
	if wait == nil {
		t.Fatal("no Cmd re-armed after an event")
	}
	close(events)
	msgs = runCmd(wait)
	if _, ok := msgs[0].(watchEndedMsg); !ok {
		t.Fatalf("closed stream gave %#v", msgs)
	}
	m, cmd := apply(m, msgs[0])
	if cmd != nil || m.status.hosts[0].state != connEnded {
		t.Errorf("after the stream ended: cmd %v, conn %v", cmd, m.status.hosts[0].state)
	}
}

func TestNoTicksWhileIdle(t *testing.T) {
	m := loaded(t, Config{}, echoSocket(unit.StateIdle))
	events := make(chan unit.Event)
	changed := running(echoSocket(unit.StateIdle))
	m, wait := apply(m, eventReceivedMsg{ev: unit.Event{Kind: unit.UnitChanged, At: t0, Socket: &changed}, events: events})
	// The only Cmd after an event waits on the stream: the first message it
	// gives is the next event, not a tick.
	out := make(chan []tea.Msg, 1)
	go func() { out <- runCmd(wait) }()
	next := unit.Event{Kind: unit.JobFinished, At: t0, Unit: "echo.service", Job: 7, JobResult: "done"}
	events <- next
	msgs := <-out
	if len(msgs) != 1 {
		t.Fatalf("the Cmd after an event gave %#v", msgs)
	}
	if got, ok := msgs[0].(eventReceivedMsg); !ok || got.ev.Job != 7 {
		t.Fatalf("the Cmd after an event gave %#v, want the next event", msgs[0])
	}
	// A stray spinner tick with nothing in flight is dropped, not re-armed.
	m, cmd := apply(m, m.status.spinner.Tick())
	if cmd != nil || m.status.spinning {
		t.Errorf("idle spinner tick re-armed: cmd %v spinning %v", cmd, m.status.spinning)
	}
}

func TestSnapshotSelectsConfiguredUnit(t *testing.T) {
	m := loaded(t, Config{Select: "podman.socket"}, append(otherSockets(), echoSocket(unit.StateIdle))...)
	if got := m.Selected(); got != "podman.socket" {
		t.Errorf("Selected = %q, want podman.socket", got)
	}
	m = loaded(t, Config{Select: "missing.socket"}, append(otherSockets(), echoSocket(unit.StateIdle))...)
	if got := m.Selected(); got != "dbus.socket" {
		t.Errorf("Selected with a missing Select = %q, want the first unit", got)
	}
}

func TestNavigation(t *testing.T) {
	m := loaded(t, Config{}, append(otherSockets(), echoSocket(unit.StateIdle))...)
	steps := []struct {
		key, want string
	}{
		{"j", "echo.socket"}, {"down", "podman.socket"}, {"j", "podman.socket"},
		{"k", "echo.socket"}, {"up", "dbus.socket"}, {"G", "podman.socket"}, {"g", "dbus.socket"},
	}
	for _, s := range steps {
		m, _ = apply(m, keyMsg(s.key))
		if got := m.Selected(); got != s.want {
			t.Errorf("after %q: Selected = %q, want %q", s.key, got, s.want)
		}
	}
	m, _ = apply(m, keyMsg("enter"))
	if m.focus != paneDetail {
		t.Errorf("enter: focus %v, want detail", m.focus)
	}
	m, _ = apply(m, keyMsg("j")) // scrolls the detail pane, not the list
	if m.Selected() != "dbus.socket" {
		t.Errorf("j in detail moved the selection to %q", m.Selected())
	}
	m, _ = apply(m, keyMsg("tab"))
	if m.focus != paneTimeline {
		t.Errorf("tab: focus %v, want timeline", m.focus)
	}
	m, _ = apply(m, keyMsg("tab"))
	if m.focus != paneList {
		t.Errorf("tab: focus %v, want list", m.focus)
	}
	m, _ = apply(m, keyMsg("?"))
	if !m.help.open || !strings.Contains(ansi.Strip(m.View()), "probe all endpoints") {
		t.Errorf("? did not show the help")
	}
	m, _ = apply(m, keyMsg("esc"))
	if m.help.open {
		t.Errorf("esc did not close the help")
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := loaded(t, Config{}, echoSocket(unit.StateIdle))
		_, cmd := apply(m, keyMsg(k))
		if cmd == nil {
			t.Fatalf("%s: no Cmd", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s did not quit", k)
		}
	}
	// ctrl+c quits even while the filter prompt is open; q is typed.
	m := loaded(t, Config{}, echoSocket(unit.StateIdle))
	m, _ = apply(m, keyMsg("/"))
	m, cmd := apply(m, keyMsg("q"))
	if cmd != nil || m.list.filterText() != "q" {
		t.Errorf("q in the filter prompt: cmd %v filter %q", cmd, m.list.filterText())
	}
	_, cmd = apply(m, keyMsg("ctrl+c"))
	if cmd == nil {
		t.Fatal("ctrl+c in the filter prompt: no Cmd")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Errorf("ctrl+c in the filter prompt did not quit")
	}
}

func TestFilterAndToggle(t *testing.T) {
	m := loaded(t, Config{}, append(otherSockets(), echoSocket(unit.StateIdle))...)
	for _, k := range []string{"/", "E", "c", "h", "o", "x", "backspace"} {
		m, _ = apply(m, keyMsg(k))
	}
	if m.list.filterText() != "Echo" || len(m.list.visible) != 1 || m.Selected() != "echo.socket" {
		t.Errorf("filter %q: %d visible, selected %q", m.list.filterText(), len(m.list.visible), m.Selected())
	}
	m, _ = apply(m, keyMsg("enter"))
	m, _ = apply(m, keyMsg("j")) // navigation again, not typing
	if m.list.filterText() != "Echo" || m.list.filtering {
		t.Errorf("after enter: filter %q filtering %v", m.list.filterText(), m.list.filtering)
	}
	m, _ = apply(m, keyMsg("esc"))
	if m.list.filterText() != "" || len(m.list.visible) != 3 {
		t.Errorf("esc: filter %q, %d visible", m.list.filterText(), len(m.list.visible))
	}
	m, _ = apply(m, keyMsg("a"))
	for _, i := range m.list.visible {
		if u := m.units.rows[i].sock.Unit; u == "dbus.socket" {
			t.Errorf("a: the stopped %s is still shown", u)
		}
	}
	if len(m.list.visible) != 2 {
		t.Errorf("a: %d visible, want 2", len(m.list.visible))
	}
	m, _ = apply(m, keyMsg("a"))
	if len(m.list.visible) != 3 {
		t.Errorf("a twice: %d visible, want 3", len(m.list.visible))
	}
}

func TestActionsCallManager(t *testing.T) {
	type call struct{ method, name string }
	var mu sync.Mutex
	var calls []call
	rec := func(method string) func(context.Context, string) error {
		return func(_ context.Context, name string) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{method, name})
			return nil
		}
	}
	mgr := &fakeManager{startUnit: rec("start"), stopUnit: rec("stop"), restartUnit: rec("restart"), resetFailed: rec("reset"),
		revive: func(ctx context.Context, socket string, services []string) error {
			return rec("revive "+strings.Join(services, ","))(ctx, socket)
		}}
	tests := []struct {
		key   string
		state unit.State
		want  []call
	}{
		{"s", unit.StateStopped, []call{{"start", "echo.socket"}}},
		{"S", unit.StateIdle, []call{{"stop", "echo.socket"}}},
		{"r", unit.StateIdle, []call{{"restart", "echo.socket"}}},
		{"x", unit.StateActive, []call{{"stop", "echo.service"}}},
		// A failed socket is brought back to listening, its failed
		// service reset; anything else is only reset.
		{"R", unit.StateFailed, []call{{"revive echo.service", "echo.socket"}}},
		{"R", unit.StateActive, []call{{"reset", "echo.socket"}}},
	}
	for _, tt := range tests {
		calls = nil
		m := loaded(t, Config{Manager: mgr}, echoSocket(tt.state))
		m, cmd := apply(m, keyMsg(tt.key))
		if m.status.jobs != 1 {
			t.Errorf("%s: %d jobs in flight, want 1", tt.key, m.status.jobs)
		}
		msgs, ticked := runCmdTicks(cmd)
		if !ticked {
			t.Errorf("%s: no spinner while a job is in flight", tt.key)
		}
		if !slices.Equal(calls, tt.want) {
			t.Errorf("%s: calls %v, want %v", tt.key, calls, tt.want)
		}
		if len(msgs) != 1 {
			t.Fatalf("%s: messages %#v", tt.key, msgs)
		}
		m, _ = apply(m, msgs[0])
		if m.status.jobs != 0 || m.status.lastErr != "" {
			t.Errorf("%s: after the job: jobs %d, error %q", tt.key, m.status.jobs, m.status.lastErr)
		}
		m, cmd = apply(m, spinner.TickMsg{ID: m.status.spinner.ID()})
		if cmd != nil {
			t.Errorf("%s: spinner still ticking after the job", tt.key)
		}
	}
}

func TestActionErrorIsShown(t *testing.T) {
	mgr := &fakeManager{startUnit: func(context.Context, string) error {
		return errors.New("Unit echo.socket is masked.\x1b[2J")
	}}
	m := loaded(t, Config{Manager: mgr}, echoSocket(unit.StateStopped))
	m, cmd := apply(m, keyMsg("s"))
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	want := `start echo.socket: Unit echo.socket is masked.\x1b[2J`
	if m.status.lastErr != want {
		t.Errorf("lastErr = %q, want %q", m.status.lastErr, want)
	}
	view := m.View()
	if !strings.Contains(ansi.Strip(view), "error: "+want) || strings.Contains(view, "\x1b[2J") {
		t.Errorf("the error is not shown safely:\n%s", view)
	}
	m, _ = apply(m, keyMsg("esc"))
	if m.status.lastErr != "" {
		t.Errorf("esc kept the error")
	}
}

func TestStopServiceWithoutService(t *testing.T) {
	s := echoSocket(unit.StateIdle)
	s.Services, s.Triggers = nil, nil
	m := loaded(t, Config{}, s)
	m, cmd := apply(m, keyMsg("x"))
	if cmd != nil || m.status.jobs != 0 || !strings.Contains(m.status.lastErr, "triggers no service") {
		t.Errorf("x without a service: cmd %v jobs %d err %q", cmd, m.status.jobs, m.status.lastErr)
	}
}

func TestProbeAllStreamsResults(t *testing.T) {
	results := make(chan probe.Result)
	var got []unit.Target
	prober := &fakeProber{probeAll: func(_ context.Context, ts []unit.Target) <-chan probe.Result {
		got = ts
		return results
	}}
	m := loaded(t, Config{Prober: prober}, append(otherSockets(), echoSocket(unit.StateIdle))...)
	m, cmd := apply(m, keyMsg("P"))
	msgs, ticked := runCmdTicks(cmd)
	if m.probes.inFlight() != 8 || !ticked {
		t.Fatalf("P: %d probes in flight (want 8: 7 echo + 1 podman), spinner %v", m.probes.inFlight(), ticked)
	}
	if len(got) != 8 {
		t.Fatalf("ProbeAll got %d targets, want 8 (the stopped dbus.socket is skipped)", len(got))
	}
	for _, tg := range got {
		if tg.Unit == "dbus.socket" || !tg.Cold || tg.Kind != unit.KindAuto {
			t.Errorf("target %+v", tg)
		}
	}
	m, wait := apply(m, msgs[0]) // probesStartedMsg
	for i, tg := range got {
		go func() { results <- okResult(tg) }()
		msgs = runCmd(wait)
		m, wait = apply(m, msgs[0])
		if m.probes.inFlight() != 8-i-1 {
			t.Errorf("after %d results: %d in flight", i+1, m.probes.inFlight())
		}
	}
	close(results)
	m, _ = apply(m, runCmd(wait)[0])
	if len(m.probes.runs) != 0 || m.probes.inFlight() != 0 {
		t.Errorf("after the run: %d runs, %d probes", len(m.probes.runs), m.probes.inFlight())
	}
	r := m.units.get(rowKey{unit: "echo.socket"})
	if ok, total := r.probeCounts(); ok != 7 || total != 7 || r.cells[colProbe] != "7/7 ok" {
		t.Errorf("echo.socket probes %d/%d, cell %q", ok, total, r.cells[colProbe])
	}
	if !strings.Contains(timelineText(m), "probe run 1 finished: 8/8 ok") {
		t.Errorf("timeline:\n%s", timelineText(m))
	}
}

func TestProbeRunClosedEarly(t *testing.T) {
	prober := &fakeProber{probeAll: func(_ context.Context, ts []unit.Target) <-chan probe.Result {
		ch := make(chan probe.Result, 1)
		r := okResult(ts[0])
		r.Outcome, r.Error = probe.Refused, "connection refused"
		ch <- r
		close(ch)
		return ch
	}}
	m := loaded(t, Config{Prober: prober}, echoSocket(unit.StateIdle))
	m, cmd := apply(m, keyMsg("p"))
	for _, msg := range runCmd(cmd) {
		m, cmd = apply(m, msg)
		for cmd != nil {
			msgs := runCmd(cmd)
			if len(msgs) == 0 {
				break
			}
			m, cmd = apply(m, msgs[0])
		}
	}
	r := m.units.get(rowKey{unit: "echo.socket"})
	if m.probes.inFlight() != 0 || r.inFlight != 0 {
		t.Errorf("in flight after the run closed: status %d, row %d", m.probes.inFlight(), r.inFlight)
	}
	if r.cells[colProbe] != "0/1 ok" {
		t.Errorf("probe cell %q, want 0/1 ok", r.cells[colProbe])
	}
	if tl := timelineText(m); !strings.Contains(tl, "refused") || !strings.Contains(tl, "0/7 ok") {
		t.Errorf("timeline:\n%s", tl)
	}
}

func TestProbeWithoutListeners(t *testing.T) {
	m := loaded(t, Config{}, otherSockets()[1]) // stopped
	m, cmd := apply(m, keyMsg("P"))
	if cmd != nil || !strings.Contains(m.status.lastErr, "no listening endpoints") {
		t.Errorf("P with nothing listening: cmd %v err %q", cmd, m.status.lastErr)
	}
}

func TestActivationLatency(t *testing.T) {
	active := echoSocket(unit.StateActive)
	idle := echoSocket(unit.StateIdle)
	t.Run("socket running", func(t *testing.T) {
		m := loaded(t, Config{}, idle)
		m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(time.Second), Socket: ptr(running(idle))}))
		m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(time.Second + 171*time.Millisecond), Socket: &active}))
		want := "05:06:08.171 echo.service activating -> active  171 ms after first connection"
		if tl := timelineText(m); !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	})
	t.Run("cold probe", func(t *testing.T) {
		m := loaded(t, Config{}, idle) // clock fixed at t0: the probe starts at t0
		m, _ = apply(m, keyMsg("p"))
		// The socket goes running later than the probe started; the probe counts.
		m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(20 * time.Millisecond), Socket: ptr(running(idle))}))
		m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(250 * time.Millisecond), Socket: &active}))
		if tl := timelineText(m); !strings.Contains(tl, "activating -> active  250 ms after first connection") {
			t.Errorf("timeline:\n%s", tl)
		}
	})
	t.Run("no connection seen", func(t *testing.T) {
		m := loaded(t, Config{}, idle)
		m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(time.Second), Socket: &active}))
		tl := timelineText(m)
		if !strings.Contains(tl, "echo.service inactive -> active") || strings.Contains(tl, "after first connection") {
			t.Errorf("timeline:\n%s", tl)
		}
	})
}

func TestUnitsAddedRemovedReconnected(t *testing.T) {
	m := loaded(t, Config{Select: "echo.socket"}, echoSocket(unit.StateIdle))
	m, _ = apply(m, keyMsg("p"))
	m = finishProbes(t, m)
	pod := otherSockets()[0]
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitAdded, At: t0, Socket: &pod}))
	if len(m.list.visible) != 2 || m.Selected() != "echo.socket" {
		t.Errorf("after add: %d visible, selected %q", len(m.list.visible), m.Selected())
	}
	m, _ = apply(m, event(unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("EOF")}))
	if m.status.hosts[0].state != connReconnecting || !strings.Contains(m.status.view(m.styles, 200, 0), "reconnecting") {
		t.Errorf("after Disconnected: %v", m.status.hosts[0].state)
	}
	m, _ = apply(m, event(unit.Event{Kind: unit.Reconnected, At: t0, Sockets: []unit.Socket{pod, echoSocket(unit.StateIdle)}}))
	if m.status.hosts[0].state != connConnected {
		t.Errorf("after Reconnected: %v", m.status.hosts[0].state)
	}
	if r := m.units.get(rowKey{unit: "echo.socket"}); r == nil || r.cells[colProbe] != "6/7 ok" {
		t.Errorf("probe results lost across a reconnect")
	}
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitRemoved, At: t0, Unit: "echo.socket"}))
	if len(m.units.rows) != 1 || m.Selected() != "podman.socket" {
		t.Errorf("after remove: %d units, selected %q", len(m.units.rows), m.Selected())
	}
	tl := timelineText(m)
	for _, want := range []string{"podman.socket added", "disconnected from the manager: EOF", "reconnected: 2 socket units", "echo.socket removed"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
}

func TestInstallDemoKey(t *testing.T) {
	m := loaded(t, Config{})
	if _, cmd := apply(m, keyMsg("d")); cmd != nil {
		t.Errorf("d without InstallDemo gave a Cmd")
	}
	if strings.Contains(ansi.Strip(m.View()), "press d") {
		t.Errorf("empty state offers d without InstallDemo")
	}
	installed := false
	m = loaded(t, Config{InstallDemo: func(context.Context) error { installed = true; return nil }})
	m, cmd := apply(m, keyMsg("d"))
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	if !installed || m.status.jobs != 0 || !strings.Contains(timelineText(m), "demo workload installed") {
		t.Errorf("d: installed %v jobs %d timeline:\n%s", installed, m.status.jobs, timelineText(m))
	}
}

func TestResize(t *testing.T) {
	m := loaded(t, Config{}, append(otherSockets(), echoSocket(unit.StateIdle))...)
	for _, size := range [][2]int{{100, 30}, {59, 30}, {100, 14}, {60, 15}, {200, 60}, {80, 24}} {
		m, _ = apply(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		view := m.View()
		assertFrame(t, view, size[0], size[1])
		small := strings.Contains(view, "terminal too small")
		if want := size[0] < MinWidth || size[1] < MinHeight; small != want {
			t.Errorf("%dx%d: too small %v, want %v", size[0], size[1], small, want)
		}
	}
}

func TestScrolling(t *testing.T) {
	m := newTestModel(t, Config{}, 60, 15)
	socks := append(manySockets(50), echoSocket(unit.StateIdle))
	m, _ = apply(m, snapshot(socks...))
	rows := m.list.rows
	m, _ = apply(m, keyMsg("G"))
	if m.Selected() != "echo.socket" || !strings.Contains(ansi.Strip(m.View()), "> echo.socket") {
		t.Errorf("G: selected %q, view:\n%s", m.Selected(), ansi.Strip(m.View()))
	}
	// Moving up inside the visible window does not scroll.
	off := m.list.offset
	m, _ = apply(m, keyMsg("k"))
	if m.list.offset != off {
		t.Errorf("k inside the window scrolled from %d to %d", off, m.list.offset)
	}
	m, _ = apply(m, tea.KeyMsg{Type: tea.KeyPgUp})
	if want := len(socks) - 2 - (rows - 1); m.list.cursor != want {
		t.Errorf("pgup: cursor %d, want %d", m.list.cursor, want)
	}
	m, _ = apply(m, keyMsg("g"))
	if m.Selected() != "bench-0000.socket" || m.list.offset != 0 {
		t.Errorf("g: selected %q offset %d", m.Selected(), m.list.offset)
	}

	// The detail pane scrolls to its end and stops there.
	m, _ = apply(m, keyMsg("G"))
	m, _ = apply(m, keyMsg("enter"))
	for range 100 {
		m, _ = apply(m, keyMsg("j"))
	}
	_, detailH, _ := m.paneHeights()
	lines := detailLines(m.list.current(&m.units), m.styles, m.width)
	if want := len(lines) - (detailH - 1); m.detail.vp.YOffset != want || want <= 0 {
		t.Errorf("detail offset %d after 100 j, want %d", m.detail.vp.YOffset, want)
	}
	if view := ansi.Strip(m.View()); !strings.Contains(view, "accept no") {
		t.Errorf("the end of the detail is not shown:\n%s", view)
	}
	m, _ = apply(m, keyMsg("k"))
	if m.detail.vp.YOffset != len(lines)-(detailH-1)-1 {
		t.Errorf("k after the end: offset %d", m.detail.vp.YOffset)
	}

	// The timeline scrolls back through older entries and stops at the first.
	for i := range 20 {
		m, _ = apply(m, event(unit.Event{Kind: unit.JobFinished, At: t0, Unit: "x.service", Job: uint32(i), JobResult: "failed"}))
	}
	m, _ = apply(m, keyMsg("tab"))
	for range 100 {
		m, _ = apply(m, keyMsg("k"))
	}
	if view := ansi.Strip(m.View()); !strings.Contains(view, "connected: 51 socket units") {
		t.Errorf("the first timeline entry is not shown after scrolling up:\n%s", view)
	}
}

func TestASCIIProfileHasNoColour(t *testing.T) {
	m := loaded(t, Config{}, append(otherSockets(), echoSocket(unit.StateFailed))...)
	m, _ = apply(m, keyMsg("P"))
	view := m.View()
	for _, sgr := range []string{"[3", "[4", "[9", "38;", "48;"} {
		if strings.Contains(view, "\x1b"+sgr) {
			t.Errorf("the ASCII profile view has a colour sequence %q", sgr)
		}
	}
	for _, badge := range []string{"[failed]", "[idle]", "[stopped]"} {
		if !strings.Contains(ansi.Strip(view), badge) {
			t.Errorf("the view lacks the badge %s", badge)
		}
	}
}

// A connection that stays down for ManagerGoneAfter makes the UI say the
// manager is gone; a tick from an earlier drop that came back does nothing,
// and a reconnect clears the state.
func TestManagerGone(t *testing.T) {
	m := loaded(t, Config{}, echoSocket(unit.StateIdle))
	drop := event(unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("EOF")})
	back := event(unit.Event{Kind: unit.Reconnected, At: t0, Sockets: []unit.Socket{echoSocket(unit.StateIdle)}})

	m, cmd := apply(m, drop)
	if cmd == nil {
		t.Fatal("no command after Disconnected")
	}
	first := m.status.hosts[0].drops
	m, _ = apply(m, back)
	m, _ = apply(m, managerGoneMsg{drops: first})
	if m.status.hosts[0].state != connConnected {
		t.Errorf("a stale gone tick changed the state to %v", m.status.hosts[0].state)
	}

	m, _ = apply(m, drop)
	m, _ = apply(m, managerGoneMsg{drops: first})
	if m.status.hosts[0].state != connReconnecting {
		t.Errorf("the first drop's tick acted on the second drop: %v", m.status.hosts[0].state)
	}
	m, _ = apply(m, managerGoneMsg{drops: m.status.hosts[0].drops})
	line := m.status.view(m.styles, 300, 0)
	if m.status.hosts[0].state != connGone || !strings.Contains(line, "the manager is gone") || !strings.Contains(line, "q quits") {
		t.Errorf("after the gone tick: %v, status line %q", m.status.hosts[0].state, line)
	}
	if !strings.Contains(timelineText(m), "the manager is gone: no answer for 5 s") {
		t.Errorf("timeline:\n%s", timelineText(m))
	}
	if len(m.units.rows) != 1 {
		t.Errorf("units dropped while the manager is gone: %d", len(m.units.rows))
	}
	m, _ = apply(m, back)
	if m.status.hosts[0].state != connConnected || m.status.lastErr != "" {
		t.Errorf("after reconnecting: %v, error %q", m.status.hosts[0].state, m.status.lastErr)
	}
}

// A long failure reason is wrapped in the detail pane, not cut.
func TestDetailWrapsReason(t *testing.T) {
	sock := echoSocket(unit.StateFailed)
	sock.Reason = "socket: service-start-limit-hit; service echo.service: image localhost/socktui-no-such-image:latest is not in local storage and the service runs it with --pull=never: build or pull it, then reset-failed"
	m := loaded(t, Config{}, sock)
	m, _ = apply(m, tea.WindowSizeMsg{Width: 80, Height: 40})
	view := ansi.Strip(m.View())
	joined := strings.Join(strings.Fields(view), " ")
	if !strings.Contains(joined, "reason: "+sock.Reason) {
		t.Errorf("the reason is not shown in full:\n%s", view)
	}
	for _, line := range strings.Split(view, "\n") {
		if ansi.StringWidth(line) > 80 {
			t.Errorf("line wider than the terminal: %q", line)
		}
	}
}
