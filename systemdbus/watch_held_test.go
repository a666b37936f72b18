package systemdbus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// propsSignal is a PropertiesChanged of unit name on iface.
func propsSignal(name, iface string, changed map[string]any) *dbus.Signal {
	m := map[string]dbus.Variant{}
	for k, v := range changed {
		m[k] = dbus.MakeVariant(v)
	}
	return &dbus.Signal{Path: unitPath(name), Name: propsIface + ".PropertiesChanged", Body: []any{iface, m, []string{}}}
}

// TestWatchAppliesBothHalvesOfAChange: systemd sends a unit's change as a
// PropertiesChanged of its type's interface and then one of the Unit
// interface; the watch emits the socket once both are applied. A failed
// service starting again sends Result=success first: applied alone, it
// read as a failure with the reason "success".
func TestWatchAppliesBothHalvesOfAChange(t *testing.T) {
	out := make(chan unit.Event, 10)
	w := &watcher{ctx: context.Background(), out: out, reasons: map[string]string{}, failures: map[string]int{}}
	sk := unit.Socket{Unit: "a.socket", ActiveState: unit.Active, SubState: "listening", Triggers: []string{"a.service"},
		Services: []unit.Service{{Unit: "a.service", ActiveState: unit.Failed, SubState: "failed", Result: "exit-code"}}}
	sk.Derive()
	w.reset(&listing{sockets: []unit.Socket{sk}, seq: map[string]dbus.Sequence{}, files: map[string]string{}})

	for _, sig := range []*dbus.Signal{
		propsSignal("a.service", serviceIface, map[string]any{"Result": "success", "MainPID": uint32(0)}),
		propsSignal("a.service", unitIface, map[string]any{"ActiveState": "activating", "SubState": "start"}),
		propsSignal("a.service", serviceIface, map[string]any{"Result": "success", "MainPID": uint32(42)}),
		propsSignal("a.service", unitIface, map[string]any{"ActiveState": "active", "SubState": "running"}),
		propsSignal("a.socket", socketIface, map[string]any{"Result": "success"}),
		propsSignal("a.socket", unitIface, map[string]any{"ActiveState": "active", "SubState": "running"}),
	} {
		if err := w.handle(sig); err != nil {
			t.Fatal(err)
		}
	}
	close(out)
	var got []string
	for ev := range out {
		s := ev.Socket
		got = append(got, fmt.Sprintf("%s %s %s/%s pid %d", s.State, s.Reason, s.Services[0].ActiveState, s.Services[0].Result, s.Services[0].MainPID))
	}
	want := []string{
		"activating  activating/success pid 0",
		"active  active/success pid 42",
		"active  active/success pid 42", // the socket's own change: listening -> running
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWatchRestartOfAFailedServiceIsNoFailure: on a real manager, a
// service that failed and then starts (and stays up) is never shown as a
// new failure on the way: no event says failed with the reason "success".
func TestWatchRestartOfAFailedServiceIsNoFailure(t *testing.T) {
	s := sandboxtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	flag := filepath.Join(t.TempDir(), "ok")
	sandboxtest.InstallUnits(t, s, map[string]string{
		"rs.socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t)),
		"rs.service": fmt.Sprintf("[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c 'test -e %s || exit 3; exec sleep infinity'\n", flag),
	})
	sandboxtest.Systemctl(t, s, "start", "rs.socket")
	c, err := Connect(ctx, Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events := c.Watch(ctx)
	svcOf := func(ev unit.Event) (unit.Service, bool) {
		if ev.Kind != unit.UnitChanged || ev.Unit != "rs.socket" || len(ev.Socket.Services) != 1 {
			return unit.Service{}, false
		}
		return ev.Socket.Services[0], true
	}
	until := func(what string, done func(unit.Event) bool) {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.Socket != nil && ev.Socket.State == unit.StateFailed && strings.HasSuffix(ev.Socket.Reason, ": success") {
					t.Errorf("a failure whose reason is success: %+v", *ev.Socket)
				}
				if done(ev) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no event: %s", what)
			}
		}
	}
	until("the snapshot", func(ev unit.Event) bool { return ev.Kind == unit.Snapshot })
	sandboxtest.Systemctl(t, s, "start", "--no-block", "rs.service")
	until("rs.service failed", func(ev unit.Event) bool {
		svc, ok := svcOf(ev)
		return ok && svc.ActiveState == unit.Failed && svc.Result == "exit-code"
	})
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sandboxtest.Systemctl(t, s, "start", "--no-block", "rs.service")
		until("rs.service up", func(ev unit.Event) bool {
			svc, ok := svcOf(ev)
			return ok && svc.ActiveState == unit.Active
		})
		sandboxtest.Systemctl(t, s, "stop", "rs.service")
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		sandboxtest.Systemctl(t, s, "start", "--no-block", "rs.service")
		until("rs.service failed again", func(ev unit.Event) bool {
			svc, ok := svcOf(ev)
			return ok && svc.ActiveState == unit.Failed
		})
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWatchIgnoresTheEndOfAnEarlierReload: a Reloading(false) whose
// Reloading(true) came before the watch connected ends a reload the
// listing already saw (systemd answers Reload before it signals the end):
// no listing again, no Snapshot. One after a Reloading(true) is a reload
// the watch must follow (not exercised here: it lists over D-Bus).
func TestWatchIgnoresTheEndOfAnEarlierReload(t *testing.T) {
	out := make(chan unit.Event, 1)
	// No session: a listing would panic.
	w := &watcher{ctx: context.Background(), out: out}
	w.reset(&listing{seq: map[string]dbus.Sequence{}, files: map[string]string{}})
	end := &dbus.Signal{Path: managerPath, Name: managerIface + ".Reloading", Body: []any{false}}
	if err := w.handle(end); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-out:
		t.Errorf("an event for the end of an earlier reload: %+v", ev)
	default:
	}
	if err := w.handle(&dbus.Signal{Path: managerPath, Name: managerIface + ".Reloading", Body: []any{true}}); err != nil || !w.reloading {
		t.Errorf("Reloading(true): %v, reloading %v", err, w.reloading)
	}
}
