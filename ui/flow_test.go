package ui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// The flows run the real Bubble Tea program (teatest) against fakes and
// wait on what reaches the screen, never on a fixed sleep.

const flowWait = 10 * time.Second

// waitScreen waits until the program's output, ANSI-stripped, holds every
// one of wants.
func waitScreen(t *testing.T, tm *teatest.TestModel, wants ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		for _, w := range wants {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(10*time.Millisecond))
}

// flowManager is a fake manager with a live event stream the test (and its
// actions) write to; the stream is closed when the watch context ends.
func flowManager(t *testing.T, first unit.Event) (*fakeManager, chan<- unit.Event) {
	events := make(chan unit.Event, 16)
	events <- first
	return &fakeManager{watch: func(ctx context.Context) <-chan unit.Event {
		out := make(chan unit.Event)
		go func() {
			defer close(out)
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-events:
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return out
	}}, events
}

func startFlow(t *testing.T, cfg Config) *teatest.TestModel {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg.Renderer = asciiRenderer()
	if cfg.ManagerName == "" {
		cfg.ManagerName = "sandbox"
	}
	return teatest.NewTestModel(t, New(ctx, cfg), teatest.WithInitialTermSize(110, 34))
}

func quit(t *testing.T, tm *teatest.TestModel) Model {
	t.Helper()
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	return tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(Model)
}

func TestFlowProbeAllStreamsResults(t *testing.T) {
	mgr, _ := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(),
		Sockets: append(otherSockets(), echoSocket(unit.StateIdle))})
	release := make(chan struct{})
	prober := &fakeProber{probeAll: func(ctx context.Context, ts []unit.Target) <-chan probe.Result {
		out := make(chan probe.Result)
		go func() {
			defer close(out)
			for i, tg := range ts {
				if i == 3 {
					<-release // the first three stream in, the rest wait
				}
				r := okResult(tg)
				if strings.HasPrefix(tg.Address, "vsock") {
					r.Outcome, r.RTT, r.Error = probe.Unsupported, 0, "no vsock loopback"
				}
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
		return out
	}}
	tm := startFlow(t, Config{Manager: mgr, Prober: prober, Select: "echo.socket", Hint: "press P to probe every endpoint"})
	waitScreen(t, tm, "press P to probe every endpoint", "echo.socket", "[idle]", "connected")

	tm.Type("P")
	// While results are held back, the status line spins with the count.
	waitScreen(t, tm, "5 probes in flight", "probing 3/7")
	close(release)
	waitScreen(t, tm, "probe run 1 finished: 7/8 ok", "6/7 ok", "unsupported cold: no vsock loopback")

	final := quit(t, tm)
	if final.probes.inFlight() != 0 || final.busy() {
		t.Errorf("after the run: %d probes in flight", final.probes.inFlight())
	}
	if got := final.units.get(rowKey{unit: "podman.socket"}).cells[colProbe]; got != "1/1 ok" {
		t.Errorf("podman.socket probe cell %q, want 1/1 ok", got)
	}
}

func TestFlowStopServiceGoesIdle(t *testing.T) {
	active := echoSocket(unit.StateActive)
	mgr, events := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(), Sockets: []unit.Socket{active}})
	var stopped []string
	mgr.stopUnit = func(ctx context.Context, name string) error {
		stopped = append(stopped, name)
		// As systemd would: the service stops and the socket is listening again.
		deactivating := active
		deactivating.Services = []unit.Service{{Unit: "echo.service", ActiveState: "deactivating", SubState: "stop-sigterm", Container: "socktui-echo"}}
		events <- unit.Event{Kind: unit.UnitChanged, At: time.Now(), Socket: &deactivating}
		idle := echoSocket(unit.StateIdle)
		events <- unit.Event{Kind: unit.UnitChanged, At: time.Now(), Socket: &idle}
		return nil
	}
	tm := startFlow(t, Config{Manager: mgr, Select: "echo.socket"})
	waitScreen(t, tm, "[active]", "echo.service active (running)  pid 4242")

	tm.Type("x")
	waitScreen(t, tm, "echo.service deactivating -> inactive", "echo.socket active -> idle", "[idle]", "stop service echo.service: done")

	final := quit(t, tm)
	if len(stopped) != 1 || stopped[0] != "echo.service" {
		t.Errorf("StopUnit calls %v, want [echo.service]", stopped)
	}
	if s := final.units.get(rowKey{unit: "echo.socket"}).sock.State; s != unit.StateIdle {
		t.Errorf("final state %q, want idle", s)
	}
}

func TestFlowDisconnectAndResize(t *testing.T) {
	mgr, events := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(), Sockets: []unit.Socket{echoSocket(unit.StateIdle)}})
	tm := startFlow(t, Config{Manager: mgr})
	waitScreen(t, tm, "echo.socket", "connected")

	events <- unit.Event{Kind: unit.Disconnected, At: time.Now(), Err: errContext("read: EOF")}
	waitScreen(t, tm, "reconnecting", "error: disconnected from the manager: read: EOF")
	events <- unit.Event{Kind: unit.Reconnected, At: time.Now(), Sockets: []unit.Socket{echoSocket(unit.StateIdle)}}
	waitScreen(t, tm, "reconnected: 1 socket unit")

	tm.Send(tea.WindowSizeMsg{Width: 40, Height: 10})
	waitScreen(t, tm, "terminal too small", "40x10")
	tm.Send(tea.WindowSizeMsg{Width: 80, Height: 20})
	waitScreen(t, tm, "socktui · sandbox manager")
	final := quit(t, tm)
	if v := final.View(); !bytes.Contains([]byte(ansi.Strip(v)), []byte("echo.socket")) {
		t.Errorf("final view lacks the unit:\n%s", v)
	}
}

type errContext string

func (e errContext) Error() string { return string(e) }
