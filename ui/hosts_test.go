package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// web1Socket is a socket only the second host has.
func web1Socket() unit.Socket {
	return unit.Socket{Unit: "web.socket", Description: "web front", LoadState: "loaded", ActiveState: "active", SubState: "listening",
		Listen: []unit.Listen{{Type: "Stream", Address: "127.0.0.1:8080"}}, Triggers: []string{"web.service"},
		Services: []unit.Service{{Unit: "web.service", ActiveState: "inactive", SubState: "dead"}}, State: unit.StateIdle}
}

// hostEvent is an event of host h as waitForEvent delivers it.
func hostEvent(h int, ev unit.Event) tea.Msg {
	return eventReceivedMsg{host: h, ev: ev, events: make(chan unit.Event)}
}

func hostSnapshot(h int, socks ...unit.Socket) tea.Msg {
	return hostEvent(h, unit.Event{Kind: unit.Snapshot, At: t0, Sockets: socks})
}

// recordingManager is a fakeManager that records the units each action
// was asked for, as "start echo.socket".
type recordingManager struct {
	fakeManager
	mu    sync.Mutex
	calls []string
	err   error // what every action returns
}

func newRecordingManager() *recordingManager {
	r := &recordingManager{}
	rec := func(action string) func(context.Context, string) error {
		return func(_ context.Context, name string) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.calls = append(r.calls, action+" "+name)
			return r.err
		}
	}
	r.startUnit, r.stopUnit, r.restartUnit, r.resetFailed = rec("start"), rec("stop"), rec("restart"), rec("reset-failed")
	revive := rec("revive")
	r.revive = func(ctx context.Context, socket string, _ []string) error { return revive(ctx, socket) }
	return r
}

func (r *recordingManager) called() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// twoHosts is this machine and web1, both with echo.socket, web1 also
// with web.socket, both loaded.
func twoHosts(t *testing.T, local, web1 Host) Model {
	t.Helper()
	web1.Name = "web1"
	if local.Manager == nil {
		local.Manager = &fakeManager{}
	}
	if web1.Manager == nil {
		web1.Manager = &fakeManager{}
	}
	m := newTestModel(t, Config{Hosts: []Host{local, web1}}, 100, 30)
	m, _ = apply(m, hostSnapshot(0, echoSocket(unit.StateIdle)))
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), web1Socket()))
	return m
}

func rowKeys(m Model) []rowKey {
	var out []rowKey
	for _, r := range m.units.rows {
		out = append(out, r.key())
	}
	return out
}

func TestHostsOf(t *testing.T) {
	mgr := &fakeManager{}
	got := hostsOf(Config{Manager: mgr, Prober: &fakeProber{}})
	if len(got) != 1 || got[0].Name != "" || got[0].Manager != mgr || got[0].Prober == nil || got[0].Doctor != nil {
		t.Errorf("a Config with Manager: %+v", got)
	}
	hosts := []Host{{Manager: mgr}, {Name: "web1", Manager: mgr}}
	if got := hostsOf(Config{Hosts: hosts}); len(got) != 2 || got[1].Name != "web1" {
		t.Errorf("a Config with Hosts: %+v", got)
	}
	if got := localHost(hosts); got != 0 {
		t.Errorf("localHost %d, want 0", got)
	}
	if got := localHost(hosts[1:]); got != -1 {
		t.Errorf("localHost of remote hosts only %d, want -1", got)
	}
	if hostLabels(hosts[:1]) != nil || !slices.Equal(hostLabels(hosts), []string{"local", "web1"}) {
		t.Errorf("hostLabels: %q, %q", hostLabels(hosts[:1]), hostLabels(hosts))
	}
	if got := (Host{Name: "we\x1b[31mb"}).label(); strings.Contains(got, "\x1b") {
		t.Errorf("label not sanitized: %q", got)
	}
}

func TestRowKeyOrder(t *testing.T) {
	keys := []rowKey{{1, "a.socket"}, {0, "z.socket"}, {0, "a.socket"}, {1, "0.socket"}}
	slices.SortFunc(keys, rowKey.compare)
	want := []rowKey{{0, "a.socket"}, {0, "z.socket"}, {1, "0.socket"}, {1, "a.socket"}}
	if !slices.Equal(keys, want) {
		t.Errorf("sorted %v, want %v", keys, want)
	}
	if !(rowKey{anyHost, "a"}).matches(rowKey{1, "a"}) || (rowKey{0, "a"}).matches(rowKey{1, "a"}) || (rowKey{anyHost, "a"}).matches(rowKey{0, "b"}) {
		t.Errorf("matches")
	}
}

func TestHostsPart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hosts   []hostConn
		reasons bool
		want    string
	}{
		{"all up", []hostConn{{label: "local", state: connConnected}, {label: "web1", state: connConnected}}, true,
			"local connected · web1 connected"},
		{"one dropped", []hostConn{{label: "local", state: connConnected}, {label: "web1", state: connReconnecting, reason: "ssh: connection timed out"}, {label: "web2", state: connConnected}}, true,
			"local connected · web1 reconnecting (ssh: connection timed out) · web2 connected"},
		{"reasons left out", []hostConn{{label: "local", state: connConnected}, {label: "web1", state: connReconnecting, reason: "ssh: connection timed out"}}, false,
			"local connected · web1 reconnecting"},
		{"gone", []hostConn{{label: "web1", state: connGone, reason: "ssh: no route to host"}}, true,
			"web1 gone (retrying; ssh: no route to host)"},
		{"a reason once connected is not shown", []hostConn{{label: "web1", state: connConnected, reason: "stale"}}, true,
			"web1 connected"},
		{"connecting", []hostConn{{label: "local", state: connConnecting}}, true, "local connecting"},
	} {
		if got := hostsPart(tc.hosts, tc.reasons); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestHostsSameUnitIsTwoRows(t *testing.T) {
	m := twoHosts(t, Host{}, Host{})
	want := []rowKey{{0, "echo.socket"}, {1, "echo.socket"}, {1, "web.socket"}}
	if got := rowKeys(m); !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	// A unit of the local host changing touches its row only.
	active := echoSocket(unit.StateActive)
	m, _ = apply(m, hostEvent(0, unit.Event{Kind: unit.UnitChanged, At: t0, Socket: &active}))
	if s := m.units.get(rowKey{0, "echo.socket"}).sock.State; s != unit.StateActive {
		t.Errorf("local echo.socket %s, want active", s)
	}
	if s := m.units.get(rowKey{1, "echo.socket"}).sock.State; s != unit.StateIdle {
		t.Errorf("web1 echo.socket %s, want idle", s)
	}
	// A unit removed on web1 leaves the local one.
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.UnitRemoved, At: t0, Unit: "echo.socket"}))
	if got := rowKeys(m); !slices.Equal(got, []rowKey{{0, "echo.socket"}, {1, "web.socket"}}) {
		t.Errorf("after web1 removed echo.socket: %v", got)
	}
	tl := timelineText(m)
	if !strings.Contains(tl, "web1: echo.socket removed") || !strings.Contains(tl, "05:06:07.000 echo.socket idle -> active") {
		t.Errorf("timeline does not name the host of a remote entry only:\n%s", tl)
	}
	// The filter matches the host's name.
	m, _ = apply(m, keyMsg("/"))
	m, _ = apply(m, keyMsg("web1"))
	if len(m.list.visible) != 1 || m.list.current(&m.units).key() != (rowKey{1, "web.socket"}) {
		t.Errorf("filter web1 shows %d rows", len(m.list.visible))
	}
}

func TestHostsSnapshotReplacesOnlyItsHost(t *testing.T) {
	m := twoHosts(t, Host{}, Host{})
	m.units.get(rowKey{0, "echo.socket"}).results = map[string]probe.Result{"k": {Outcome: probe.OK}}
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Reconnected, At: t0, Sockets: []unit.Socket{web1Socket()}}))
	if got := rowKeys(m); !slices.Equal(got, []rowKey{{0, "echo.socket"}, {1, "web.socket"}}) {
		t.Fatalf("after web1's Reconnected: %v", got)
	}
	if len(m.units.get(rowKey{0, "echo.socket"}).results) != 1 {
		t.Errorf("web1's snapshot dropped what the UI knew of local's rows")
	}
}

func TestHostsOneDisconnectsOthersStayLive(t *testing.T) {
	m := twoHosts(t, Host{}, Host{})
	m, cmd := apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("ssh web1: connection timed out")}))
	if m.status.hosts[0].state != connConnected || m.status.hosts[1].state != connReconnecting {
		t.Fatalf("after web1 dropped: local %v, web1 %v", m.status.hosts[0].state, m.status.hosts[1].state)
	}
	line := ansi.Strip(m.status.view(m.styles, 200, 0))
	if want := "local connected · web1 reconnecting (ssh web1: connection timed out)"; !strings.HasPrefix(line, want) || strings.Contains(line, "error:") {
		t.Errorf("status line %q, want it to start with %q and hold no error", line, want)
	}
	if !strings.Contains(timelineText(m), "web1: disconnected from the manager: ssh web1: connection timed out") {
		t.Errorf("timeline:\n%s", timelineText(m))
	}
	if cmd == nil {
		t.Fatalf("no Cmd: the stream is not re-armed, no gone timer")
	}

	// local's events still update local's rows.
	active := echoSocket(unit.StateActive)
	m, _ = apply(m, hostEvent(0, unit.Event{Kind: unit.UnitChanged, At: t0, Socket: &active}))
	if s := m.units.get(rowKey{0, "echo.socket"}).sock.State; s != unit.StateActive {
		t.Errorf("local echo.socket %s while web1 is away, want active", s)
	}
	if m.status.hosts[1].state != connReconnecting {
		t.Errorf("local's event changed web1's state to %v", m.status.hosts[1].state)
	}

	// A gone tick is per host: local's count does not stand for web1's.
	m, _ = apply(m, managerGoneMsg{host: 0, drops: m.status.hosts[1].drops})
	if m.status.hosts[0].state != connConnected || m.status.hosts[1].state != connReconnecting {
		t.Errorf("local's gone tick: local %v, web1 %v", m.status.hosts[0].state, m.status.hosts[1].state)
	}
	m, _ = apply(m, managerGoneMsg{host: 1, drops: m.status.hosts[1].drops})
	if m.status.hosts[1].state != connGone || m.status.hosts[0].state != connConnected {
		t.Errorf("web1's gone tick: local %v, web1 %v", m.status.hosts[0].state, m.status.hosts[1].state)
	}
	if line := ansi.Strip(m.status.view(m.styles, 200, 0)); !strings.Contains(line, "web1 gone (retrying") || strings.Contains(line, "error:") {
		t.Errorf("status line after web1 went: %q", line)
	}

	// web1 comes back with its rows.
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Reconnected, At: t0, Sockets: []unit.Socket{echoSocket(unit.StateIdle), web1Socket()}}))
	if line := ansi.Strip(m.status.view(m.styles, 200, 0)); !strings.HasPrefix(line, "local connected · web1 connected") || strings.Contains(line, "(") {
		t.Errorf("status line after web1 came back: %q", line)
	}
	if len(m.units.rows) != 3 || !strings.Contains(timelineText(m), "web1: reconnected: 2 socket units") {
		t.Errorf("after web1 came back: %d rows, timeline:\n%s", len(m.units.rows), timelineText(m))
	}
}

func TestHostsLazyConnectBeforeSnapshot(t *testing.T) {
	m := newTestModel(t, Config{Hosts: []Host{{Manager: &fakeManager{}}, {Name: "web1", Manager: &fakeManager{}}}}, 100, 30)
	m, _ = apply(m, hostSnapshot(0, echoSocket(unit.StateIdle)))
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, Err: errors.New("ssh web1: connection refused")}))
	line := ansi.Strip(m.status.view(m.styles, 200, 0))
	if !strings.HasPrefix(line, "local connected · web1 reconnecting (ssh web1: connection refused)") {
		t.Errorf("status line %q", line)
	}
	if len(m.units.rows) != 1 || !m.loaded {
		t.Errorf("%d rows, loaded %v", len(m.units.rows), m.loaded)
	}
}

func TestHostsInitWatchesEveryHost(t *testing.T) {
	a, b := make(chan unit.Event, 1), make(chan unit.Event, 1)
	cfg := Config{Hosts: []Host{
		{Manager: &fakeManager{watch: func(context.Context) <-chan unit.Event { return a }}},
		{Name: "web1", Manager: &fakeManager{watch: func(context.Context) <-chan unit.Event { return b }}},
	}, Renderer: asciiRenderer()}
	m := New(context.Background(), cfg)
	started := runCmd(m.Init())
	if len(started) != 2 {
		t.Fatalf("Init gave %v", started)
	}
	waits := map[int]tea.Cmd{}
	for _, msg := range started {
		var wait tea.Cmd
		m, wait = apply(m, msg)
		waits[msg.(watchStartedMsg).host] = wait
	}
	b <- unit.Event{Kind: unit.Snapshot, Sockets: []unit.Socket{web1Socket()}}
	got := runCmd(waits[1])
	if ev, ok := got[0].(eventReceivedMsg); !ok || ev.host != 1 {
		t.Fatalf("web1's wait gave %#v", got[0])
	}
	m, _ = apply(m, got[0])
	close(a)
	m, _ = apply(m, runCmd(waits[0])[0])
	if m.status.hosts[0].state != connEnded || m.status.hosts[1].state != connConnected {
		t.Errorf("after local's stream ended: local %v, web1 %v", m.status.hosts[0].state, m.status.hosts[1].state)
	}
	if m.units.get(rowKey{1, "web.socket"}) == nil {
		t.Errorf("web1's snapshot did not reach its row")
	}
}

// runConcurrently runs cmd, and every Cmd of a batch it returns, each in
// its own goroutine, and sends their messages to out: one Cmd that blocks
// holds back only its own.
func runConcurrently(cmd tea.Cmd, out chan<- tea.Msg) {
	go func() {
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil {
					runConcurrently(c, out)
				}
			}
			return
		}
		out <- msg
	}()
}

func TestHostsProbeAllGoesToEachHostsProber(t *testing.T) {
	var localGot []unit.Target
	local := &fakeProber{probeAll: func(ctx context.Context, ts []unit.Target) <-chan probe.Result {
		localGot = ts
		ch := make(chan probe.Result, len(ts))
		for _, tg := range ts {
			ch <- okResult(tg)
		}
		close(ch)
		return ch
	}}
	release := make(chan struct{})
	webGot := make(chan []unit.Target, 1)
	web := &fakeProber{probeAll: func(ctx context.Context, ts []unit.Target) <-chan probe.Result {
		webGot <- ts
		<-release // a cut host: ProbeAll itself does not return
		ch := make(chan probe.Result)
		close(ch)
		return ch
	}}
	defer close(release)
	m := twoHosts(t, Host{Prober: local}, Host{Prober: web})

	m, cmd := apply(m, keyMsg("P"))
	if len(m.probes.runs) != 2 || m.probes.inFlight() != 15 {
		t.Fatalf("P: %d runs, %d in flight; want 2 runs (one per host), 15 probes", len(m.probes.runs), m.probes.inFlight())
	}
	msgs := make(chan tea.Msg, 16)
	runConcurrently(cmd, msgs)
	// local's results come in while web1's prober hangs.
	for wait := tea.Cmd(nil); ; {
		var msg tea.Msg
		if wait != nil {
			msg = wait()
		} else if msg = <-msgs; !isProbeMsg(msg) {
			continue
		}
		m, wait = apply(m, msg)
		if _, done := msg.(probeRunFinishedMsg); done {
			break
		}
	}
	for _, tg := range localGot {
		if tg.Unit != "echo.socket" {
			t.Errorf("local's prober got %+v", tg)
		}
	}
	if len(localGot) != 7 {
		t.Errorf("local's prober got %d targets, want echo.socket's 7", len(localGot))
	}
	if got := <-webGot; len(got) != 8 {
		t.Errorf("web1's prober got %d targets, want 8 (its echo.socket and web.socket)", len(got))
	}
	if c := m.units.get(rowKey{0, "echo.socket"}).cells[colProbe]; c != "7/7 ok" {
		t.Errorf("local echo.socket probe cell %q, want 7/7 ok while web1 hangs", c)
	}
	if c := m.units.get(rowKey{1, "echo.socket"}).cells[colProbe]; c != "probing 0/7" {
		t.Errorf("web1 echo.socket probe cell %q, want probing 0/7", c)
	}
	if m.probes.inFlight() != 8 {
		t.Errorf("%d in flight, want web1's 8", m.probes.inFlight())
	}
	if tl := timelineText(m); !strings.Contains(tl, "probe run 1 finished: 7/7 ok") || !strings.Contains(tl, "web1: probe run 2: 8 endpoints of 2 units") {
		t.Errorf("timeline:\n%s", tl)
	}
}

func isProbeMsg(msg tea.Msg) bool {
	switch msg.(type) {
	case probesStartedMsg, probeFinishedMsg, probeRunFinishedMsg:
		return true
	}
	return false
}

func TestHostsProbeSelectedUsesItsHost(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	prober := func(name string) *fakeProber {
		return &fakeProber{probeAll: func(ctx context.Context, ts []unit.Target) <-chan probe.Result {
			mu.Lock()
			asked[name] += len(ts)
			mu.Unlock()
			return (&fakeProber{}).ProbeAll(ctx, ts)
		}}
	}
	m := twoHosts(t, Host{Prober: prober("local")}, Host{Prober: prober("web1")})
	m, _ = apply(m, keyMsg("j")) // web1's echo.socket
	m, cmd := apply(m, keyMsg("p"))
	for _, msg := range runCmd(cmd) {
		m, cmd = apply(m, msg)
		for cmd != nil {
			next := runCmd(cmd)
			if len(next) == 0 {
				break
			}
			m, cmd = apply(m, next[0])
		}
	}
	if asked["local"] != 0 || asked["web1"] != 7 {
		t.Errorf("probers asked for %v, want web1 7", asked)
	}
	if c := m.units.get(rowKey{1, "echo.socket"}).cells[colProbe]; c != "7/7 ok" {
		t.Errorf("web1 echo.socket %q", c)
	}
	if r := m.units.get(rowKey{0, "echo.socket"}); len(r.results) != 0 {
		t.Errorf("web1's results reached local's row: %v", r.results)
	}

	// A host without a prober says so.
	m = twoHosts(t, Host{Prober: prober("local")}, Host{})
	m, _ = apply(m, keyMsg("j"))
	m, cmd = apply(m, keyMsg("p"))
	if cmd != nil || !strings.Contains(m.status.lastErr, "probe: web1 has no prober") {
		t.Errorf("p on a host without a prober: cmd %v, error %q", cmd != nil, m.status.lastErr)
	}
}

func TestHostsActionGoesToRowsManager(t *testing.T) {
	local, web := newRecordingManager(), newRecordingManager()
	m := twoHosts(t, Host{Manager: local}, Host{Manager: web})
	m, _ = apply(m, keyMsg("j"))
	if m.Selected() != "echo.socket" || m.SelectedHost() != "web1" {
		t.Fatalf("selected %q on %q", m.Selected(), m.SelectedHost())
	}
	m, cmd := apply(m, keyMsg("s"))
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	if got := web.called(); !slices.Equal(got, []string{"start echo.socket"}) {
		t.Errorf("web1's manager was asked %v", got)
	}
	if got := local.called(); len(got) != 0 {
		t.Errorf("local's manager was asked %v", got)
	}
	if !strings.Contains(timelineText(m), "web1: start echo.socket: done") || m.status.jobs != 0 {
		t.Errorf("jobs %d, timeline:\n%s", m.status.jobs, timelineText(m))
	}

	// An error of a host that is not connected yet names the host.
	web.err = errors.New("not connected yet")
	m, cmd = apply(m, keyMsg("r"))
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	if !strings.Contains(m.status.lastErr, "web1: restart echo.socket: not connected yet") {
		t.Errorf("error %q", m.status.lastErr)
	}
}

func TestHostsLogsDetailAndAuthoring(t *testing.T) {
	localLogs, webLogs := &fakeLogs{}, &fakeLogs{}
	authoring := &fakeAuthoring{}
	m := newTestModel(t, Config{Hosts: []Host{{Manager: &fakeManager{}, Logs: localLogs}, {Name: "web1", Manager: &fakeManager{}, Logs: webLogs}},
		Authoring: authoring}, 100, 30)
	m, _ = apply(m, hostSnapshot(0, echoSocket(unit.StateIdle)))
	m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle)))
	m, _ = apply(m, keyMsg("j"))
	if view := ansi.Strip(m.View()); !strings.Contains(view, "  host: web1") {
		t.Errorf("the detail pane does not name the host:\n%s", view)
	}
	for _, k := range []string{"D", "n"} {
		m.status.lastErr = ""
		next, cmd := apply(m, keyMsg(k))
		if cmd != nil || next.form.open || !strings.Contains(next.status.lastErr, "works on this machine only, not on web1") {
			t.Errorf("%s on web1's row: cmd %v, form %v, error %q", k, cmd != nil, next.form.open, next.status.lastErr)
		}
	}
	m, cmd := apply(m, keyMsg("l"))
	runCmd(cmd)
	webLogs.mu.Lock()
	nWeb := len(webLogs.streams)
	webLogs.mu.Unlock()
	localLogs.mu.Lock()
	nLocal := len(localLogs.streams)
	localLogs.mu.Unlock()
	if nWeb != 1 || nLocal != 0 || !strings.Contains(m.logs.title(), "Logs echo.socket on web1") {
		t.Errorf("l on web1's row: web1 %d streams, local %d, title %q", nWeb, nLocal, m.logs.title())
	}
	m = m.closeLogs()

	// On local's row, D asks local's authoring.
	m, _ = apply(m, keyMsg("k"))
	m, cmd = apply(m, keyMsg("D"))
	if cmd == nil || m.remove.checking != "echo.socket" {
		t.Errorf("D on local's row: cmd %v, checking %q", cmd != nil, m.remove.checking)
	}
}

func TestHostsDoctorPerHost(t *testing.T) {
	localDoc, webDoc := startLimitDoctor(), startLimitDoctor()
	m := newTestModel(t, Config{Hosts: []Host{{Manager: &fakeManager{}, Doctor: localDoc}, {Name: "web1", Manager: newRecordingManager(), Doctor: webDoc}}}, 100, 30)
	var cmds []tea.Cmd
	ended := make(chan unit.Event)
	close(ended) // the re-armed waits return at once
	for h, s := range []unit.Socket{echoSocket(unit.StateIdle), echoSocket(unit.StateFailed)} {
		msg := eventReceivedMsg{host: h, ev: unit.Event{Kind: unit.Snapshot, At: t0, Sockets: []unit.Socket{s}}, events: ended}
		var cmd tea.Cmd
		m, cmd = apply(m, msg)
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		for _, msg := range runCmd(cmd) {
			if d, ok := msg.(diagnosedMsg); ok {
				m, _ = apply(m, d)
			}
		}
	}
	if got := localDoc.calls(); len(got) != 1 || !slices.Equal(got[0], []string{"echo.socket"}) {
		t.Errorf("local's doctor was asked %v", got)
	}
	if got := webDoc.calls(); len(got) != 1 {
		t.Errorf("web1's doctor was asked %v", got)
	}
	if m.list.marks[rowKey{1, "echo.socket"}] != "✗" || m.list.marks[rowKey{0, "echo.socket"}] != "" {
		t.Errorf("marks %v: want web1's failed echo.socket only", m.list.marks)
	}
	// F on web1's row resets it with web1's manager.
	m, _ = apply(m, keyMsg("j"))
	m, cmd := apply(m, keyMsg("F"))
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	if got := m.host(1).Manager.(*recordingManager).called(); !slices.Equal(got, []string{"revive echo.socket"}) {
		t.Errorf("F on web1's row did not reach web1's manager")
	}
}

func TestHostsGoldens(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {150, 34}} {
		hosts := []Host{{Manager: &fakeManager{}, Prober: &fakeProber{}}, {Name: "web1", Manager: &fakeManager{}, Prober: &fakeProber{}},
			{Name: "web2", Manager: &fakeManager{}, Prober: &fakeProber{}}}
		m := newTestModel(t, Config{Hosts: hosts, ManagerName: "user"}, size.w, size.h)
		m, _ = apply(m, hostSnapshot(0, append(otherSockets(), echoSocket(unit.StateActive))...))
		m, _ = apply(m, hostSnapshot(1, echoSocket(unit.StateIdle), web1Socket()))
		m, _ = apply(m, hostSnapshot(2, echoSocket(unit.StateFailed)))
		m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, At: t0.Add(time.Second), Err: errors.New("ssh: connection timed out")}))
		m, _ = apply(m, keyMsg("G"))
		golden(t, "hosts_"+itoa(size.w)+"x"+itoa(size.h), m.View())
	}
}

func TestHostsStatusLineCutToWidth(t *testing.T) {
	m := newTestModel(t, Config{Hosts: []Host{{Manager: &fakeManager{}}, {Name: "web1", Manager: &fakeManager{}}, {Name: "web2", Manager: &fakeManager{}}}}, 60, 20)
	for h := range 3 {
		m, _ = apply(m, hostSnapshot(h, echoSocket(unit.StateIdle)))
	}
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, Err: errors.New("ssh: connection timed out")}))
	if got, want := ansi.Strip(m.status.view(m.styles, 60, 0)), "local connected · web1 reconnecting · web2 connected"; got != want {
		t.Errorf("at 60 cells: %q, want %q (every host before any reason)", got, want)
	}
	// Too narrow to name every host: the count, then the hosts that are
	// not connected.
	if got := ansi.Strip(m.status.view(m.styles, 36, 0)); got != "2 of 3 connected · web1 reconnecting" {
		t.Errorf("at 36 cells: %q", got)
	}
	if got := ansi.Strip(m.status.view(m.styles, 30, 0)); textWidth(got) > 30 || !strings.HasPrefix(got, "2 of 3 connected · web1") {
		t.Errorf("at 30 cells: %q", got)
	}
	// Four hosts with long names at 60 cells: the one down is still named.
	four := newTestModel(t, Config{Hosts: []Host{{Manager: &fakeManager{}}, {Name: "web1.example.com", Manager: &fakeManager{}},
		{Name: "web2.example.com", Manager: &fakeManager{}}, {Name: "db1.example.com", Manager: &fakeManager{}}}}, 60, 20)
	for h := range 4 {
		four, _ = apply(four, hostSnapshot(h, echoSocket(unit.StateIdle)))
	}
	if got := ansi.Strip(four.status.view(four.styles, 60, 0)); got != "all 4 hosts connected" {
		t.Errorf("four hosts at 60 cells: %q", got)
	}
	four, _ = apply(four, hostEvent(3, unit.Event{Kind: unit.Disconnected, Err: errors.New("ssh: connection timed out")}))
	if got := ansi.Strip(four.status.view(four.styles, 60, 0)); got != "3 of 4 connected · db1.example.com reconnecting" {
		t.Errorf("four hosts, one down, at 60 cells: %q", got)
	}
	if got := ansi.Strip(four.status.view(four.styles, 80, 0)); textWidth(got) > 80 || !strings.Contains(got, "db1.example.com reconnecting") {
		t.Errorf("four hosts, one down, at 80 cells: %q", got)
	}
	// An error is cut, it does not make the hosts' names give way.
	m.status.lastErr = "web1: start echo.socket: ssh web1: ssh: connect to host 10.0.0.1 port 22: No route to host"
	if got := ansi.Strip(m.status.view(m.styles, 80, 0)); textWidth(got) != 80 || !strings.HasPrefix(got, "local connected · web1 reconnecting · web2 connected · error: web1:") {
		t.Errorf("three hosts and an error at 80 cells: %q", got)
	}
	// One remote host alone is named too; one local host reads as before.
	one := newTestModel(t, Config{Hosts: []Host{{Name: "web1", Manager: &fakeManager{}}}}, 80, 20)
	if got := ansi.Strip(one.status.view(one.styles, 80, 0)); got != "web1 connecting" {
		t.Errorf("one remote host: %q", got)
	}
	local := newTestModel(t, Config{}, 80, 20)
	if got := ansi.Strip(local.status.view(local.styles, 80, 0)); got != "manager: sandbox · connecting" {
		t.Errorf("one local host: %q", got)
	}
}

func TestFlowHostsOneCutOffAndRestored(t *testing.T) {
	localMgr, localEvents := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(), Sockets: []unit.Socket{echoSocket(unit.StateIdle)}})
	webMgr, webEvents := flowManager(t, unit.Event{Kind: unit.Disconnected, At: time.Now(), Err: errors.New("ssh web1: connection refused")})
	tm := startFlow(t, Config{Hosts: []Host{{Manager: localMgr}, {Name: "web1", Manager: webMgr}}})
	// web1 connects lazily: it is reconnecting before its first snapshot,
	// and local is live meanwhile.
	waitScreen(t, tm, "local connected · web1 reconnecting (ssh web1: connection refused)", "echo.socket")
	webEvents <- unit.Event{Kind: unit.Snapshot, At: time.Now(), Sockets: []unit.Socket{echoSocket(unit.StateIdle), web1Socket()}}
	waitScreen(t, tm, "local connected · web1 connected", "web1  web.socket", "web1: connected: 2 socket units")

	// Cut off: web1 drops, local's events still show.
	webEvents <- unit.Event{Kind: unit.Disconnected, At: time.Now(), Err: errors.New("ssh web1: connection timed out")}
	waitScreen(t, tm, "web1 reconnecting (ssh web1: connection timed out)")
	active := echoSocket(unit.StateActive)
	localEvents <- unit.Event{Kind: unit.UnitChanged, At: time.Now(), Socket: &active}
	waitScreen(t, tm, "local echo.socket [active]", "web1  echo.socket [idle]")

	// Restored.
	webEvents <- unit.Event{Kind: unit.Reconnected, At: time.Now(), Sockets: []unit.Socket{echoSocket(unit.StateIdle), web1Socket()}}
	waitScreen(t, tm, "local connected · web1 connected", "web1: reconnected: 2 socket units")

	final := quit(t, tm)
	if final.status.hosts[0].state != connConnected || final.status.hosts[1].state != connConnected || len(final.units.rows) != 3 {
		t.Errorf("after the flow: local %v, web1 %v, %d rows", final.status.hosts[0].state, final.status.hosts[1].state, len(final.units.rows))
	}
	if s := final.units.get(rowKey{0, "echo.socket"}).sock.State; s != unit.StateActive {
		t.Errorf("local echo.socket %s, want active", s)
	}
}

// A manager that retries says Disconnected on each attempt: the host's
// first drop starts its gone timer and a retry with the same reason adds
// nothing, so the host goes gone ManagerGoneAfter after it first dropped.
func TestHostsRetriesAreOneDrop(t *testing.T) {
	m := twoHosts(t, Host{}, Host{})
	refused := unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("ssh web1: connection refused")}
	m, _ = apply(m, hostEvent(1, refused))
	drops, entries := m.status.hosts[1].drops, len(m.timeline.entries)
	ended := make(chan unit.Event)
	close(ended) // the re-armed wait returns at once
	m, cmd := apply(m, eventReceivedMsg{host: 1, ev: refused, events: ended})
	if m.status.hosts[1].drops != drops || len(m.timeline.entries) != entries {
		t.Errorf("a retry counted as a drop (%d, was %d) or added %d timeline entries", m.status.hosts[1].drops, drops, len(m.timeline.entries)-entries)
	}
	if msg := cmd(); msg != (watchEndedMsg{host: 1}) {
		t.Errorf("a retry's Cmd gave %#v: want the re-armed wait alone, no new gone timer", msg)
	}
	m, _ = apply(m, hostEvent(1, unit.Event{Kind: unit.Disconnected, At: t0, Err: errors.New("ssh web1: no route to host")}))
	if m.status.hosts[1].drops != drops || !strings.Contains(timelineText(m), "web1: disconnected from the manager: ssh web1: no route to host") {
		t.Errorf("a new reason: drops %d (want %d), timeline:\n%s", m.status.hosts[1].drops, drops, timelineText(m))
	}
	m, _ = apply(m, managerGoneMsg{host: 1, drops: drops})
	if m.status.hosts[1].state != connGone {
		t.Errorf("the first drop's tick: %v, want gone", m.status.hosts[1].state)
	}
}
