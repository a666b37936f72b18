package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

func TestViewGolden(t *testing.T) {
	active := echoSocket(unit.StateActive)
	evil := echoSocket(unit.StateIdle)
	evil.Unit = "evil\x1b[2J.socket"
	evil.Description = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m \x9b2J\u009b31m bell\x07 cr\rnl\n\x1b[?1049l\x1bP+q\x1b\\ end"
	evil.Services[0].Container = "ctr\x1b]8;;http://x\x07link\x1b]8;;\x07"

	tests := []struct {
		name string
		w, h int
		cfg  Config
		msgs []any
	}{
		{name: "list", w: 100, h: 24, cfg: Config{Select: "echo.socket", Hint: "press P to probe every endpoint"},
			msgs: []any{snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...)}},
		{name: "list_narrow60", w: 60, h: 15,
			msgs: []any{snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...)}},
		{name: "detail_probed", w: 100, h: 30, cfg: Config{Select: "echo.socket"},
			msgs: []any{snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...), "p", "enter"}},
		{name: "timeline_activation", w: 100, h: 24, cfg: Config{Select: "echo.socket"},
			msgs: []any{
				snapshot(echoSocket(unit.StateIdle)),
				event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(1 * time.Second), Socket: ptr(running(echoSocket(unit.StateIdle)))}),
				event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(1*time.Second + 171*time.Millisecond), Socket: &active}),
				"tab", "tab",
			}},
		{name: "help", w: 100, h: 24, cfg: Config{InstallDemo: func(ctx context.Context) error { return nil }},
			msgs: []any{snapshot(echoSocket(unit.StateIdle)), "?"}},
		{name: "help_narrow60", w: 60, h: 15, cfg: Config{InstallDemo: func(ctx context.Context) error { return nil }},
			msgs: []any{snapshot(echoSocket(unit.StateIdle)), "?"}},
		{name: "empty", w: 80, h: 20, cfg: Config{InstallDemo: func(ctx context.Context) error { return nil }},
			msgs: []any{snapshot()}},
		{name: "loading", w: 80, h: 20},
		{name: "too_small", w: 59, h: 14, msgs: []any{snapshot(echoSocket(unit.StateIdle))}},
		{name: "errors", w: 100, h: 24, cfg: Config{Select: "echo.socket"},
			msgs: []any{
				snapshot(echoSocket(unit.StateIdle)),
				event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(time.Second), Socket: ptr(echoSocket(unit.StateFailed))}),
				actionFinishedMsg{action: "start", units: []string{"echo.socket"}, err: errors.New(`start echo.socket: Unit echo.service is masked`)},
				event(unit.Event{Kind: unit.Disconnected, At: t0.Add(2 * time.Second), Err: errors.New("read unix @->/run/user/0/systemd/private: EOF")}),
			}},
		{name: "malicious", w: 100, h: 24, msgs: []any{snapshot(evil)}},
		{name: "probing", w: 100, h: 24, cfg: Config{Select: "echo.socket"},
			msgs: []any{snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...), keyMsg("P"),
				probeFinishedMsg{run: 1, result: okResult(echoSocket(unit.StateIdle).Targets()[0])}}},
		// The demo's manager at the two sizes people use most and a wide
		// one: the state, every probe outcome, its RTT and cold/warm stay
		// whole; long paths lose their start.
		{name: "demo_80x24", w: 80, h: 24, cfg: Config{Select: "socktui-echo.socket", Hint: "press P to probe every endpoint"},
			msgs: []any{snapshot(demoSockets()...), "P"}},
		{name: "demo_200x50", w: 200, h: 50, cfg: Config{Select: "socktui-echo.socket", Hint: "press P to probe every endpoint"},
			msgs: []any{snapshot(demoSockets()...), "P"}},
		{name: "demo_failed_80x24", w: 80, h: 24, cfg: Config{Select: "socktui-echo.socket"},
			msgs: []any{snapshot(demoFailed()), keyMsg("p"), probeFinishedMsg{run: 1, result: failedResult(demoFailed().Targets()[0])},
				probeRunFinishedMsg{run: 1}}},
		{name: "filtered", w: 100, h: 20, msgs: []any{snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...), "/", "pod", "enter", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestModel(t, tt.cfg, tt.w, tt.h)
			for _, msg := range tt.msgs {
				if s, ok := msg.(string); ok {
					for _, k := range keysOf(s) {
						m, _ = apply(m, keyMsg(k))
					}
					// p and P start probe runs: finish them like the program would.
					if s == "p" || s == "P" {
						m = finishProbes(t, m)
					}
					continue
				}
				m, _ = apply(m, msg)
			}
			view := m.View()
			assertFrame(t, view, tt.w, tt.h)
			golden(t, tt.name, view)
		})
	}
}

// keysOf splits a test's key string: names like "enter" stay whole, other
// strings are typed rune by rune.
func keysOf(s string) []string {
	switch s {
	case "enter", "esc", "tab", "up", "down", "backspace":
		return []string{s}
	}
	var out []string
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

// finishProbes answers the newest probe run with a mixed set of results,
// as a Prober would stream them.
func finishProbes(t *testing.T, m Model) Model {
	t.Helper()
	id := m.probes.last
	run := m.probes.runs[id]
	if run == nil {
		t.Fatalf("no probe run started")
	}
	var results []probe.Result
	for _, r := range m.units.rows {
		if run.pending[r.sock.Unit] == 0 {
			continue
		}
		for _, tg := range r.sock.Targets() {
			res := okResult(tg)
			if strings.HasPrefix(tg.Address, "vsock") {
				res.Outcome, res.RTT, res.Error = probe.Unsupported, 0, "vsock has no loopback on this host"
			}
			results = append(results, res)
		}
	}
	for _, res := range results {
		m, _ = apply(m, probeFinishedMsg{run: id, result: res})
	}
	m, _ = apply(m, probeRunFinishedMsg{run: id})
	return m
}

func running(s unit.Socket) unit.Socket {
	s.SubState = "running"
	s.State = unit.StateActivating
	s.Services = append([]unit.Service(nil), s.Services...)
	s.Services[0].ActiveState, s.Services[0].SubState = "activating", "start"
	return s
}

func ptr[T any](v T) *T { return &v }

// assertFrame checks the frame has exactly h lines of at most w cells and no
// control characters but newlines and SGR/ANSI sequences the renderer made.
func assertFrame(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if tw := textWidth(l); tw > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i, tw, w, l)
		}
	}
}

// sandboxRun is the runtime folder of the demo's private manager.
const sandboxRun = "/tmp/socktui-sandbox-3609931570/run"

// demoSockets is what `socktui demo` shows on a private manager: the
// user's usual sockets with long paths, and the echo workload's eight
// endpoints, its service up in a container.
func demoSockets() []unit.Socket {
	plain := func(name, path string) unit.Socket {
		return unit.Socket{Unit: name + ".socket", LoadState: "loaded", ActiveState: "active", SubState: "listening",
			Listen:   []unit.Listen{{Type: "Stream", Address: sandboxRun + "/" + path}},
			Triggers: []string{name + ".service"}, State: unit.StateIdle,
			Services: []unit.Service{{Unit: name + ".service", ActiveState: "inactive", SubState: "dead"}}}
	}
	dir := sandboxRun + "/socktui-echo-39527/"
	echo := unit.Socket{
		Unit: "socktui-echo.socket", Description: "socktui echo workload (container localhost/socktui-echo:da70b93a160b23bc)",
		LoadState: "loaded", ActiveState: "active", SubState: "running", Result: "success", State: unit.StateActive,
		Listen: []unit.Listen{
			{Type: "Stream", Address: "127.0.0.1:39527"}, {Type: "Datagram", Address: "127.0.0.1:39527"},
			{Type: "Stream", Address: "[::1]:39527"}, {Type: "Datagram", Address: "[::1]:39527"},
			{Type: "Stream", Address: dir + "echo.sock"}, {Type: "Datagram", Address: dir + "echo.dgram"},
			{Type: "SequentialPacket", Address: dir + "echo.seqpacket"}, {Type: "Stream", Address: "vsock::39527"},
		},
		Triggers: []string{"socktui-echo.service"},
		Services: []unit.Service{{Unit: "socktui-echo.service", ActiveState: "active", SubState: "running", MainPID: 14728,
			Since: t0.Add(-2 * time.Second), Result: "success", Container: "socktui-echo"}},
	}
	return []unit.Socket{
		plain("dirmngr", "gnupg/S.dirmngr"), plain("gpg-agent-browser", "gnupg/S.gpg-agent.browser"),
		plain("gpg-agent-extra", "gnupg/S.gpg-agent.extra"), plain("gpg-agent-ssh", "gnupg/S.gpg-agent.ssh"),
		plain("gpg-agent", "gnupg/S.gpg-agent"), plain("pk-debconf-helper", "pk-debconf-socket"),
		plain("podman", "podman/podman.sock"), echo,
	}
}

// demoFailed is the echo socket after its service failed to start: a long
// reason, which the detail pane must show whole.
func demoFailed() unit.Socket {
	s := demoSockets()[7]
	s.ActiveState, s.SubState, s.Result, s.State = "failed", "failed", "service-start-limit-hit", unit.StateFailed
	s.Reason = "socket: service-start-limit-hit; service socktui-echo.service: image localhost/socktui-echo:latest is not in local storage and the service runs it with --pull=never: build or pull it, then reset-failed"
	s.Services[0].ActiveState, s.Services[0].SubState, s.Services[0].Result, s.Services[0].MainPID = "failed", "failed", "exit-code", 0
	return s
}

// failedResult is a cold probe of t that found the service failing.
func failedResult(t unit.Target) probe.Result {
	r := okResult(t)
	r.Outcome, r.RTT, r.Cold = probe.Failed, 1800*time.Millisecond, true
	r.Error = "activation failed: service socktui-echo.service: exit-code (status 125: image not known)"
	return r
}
