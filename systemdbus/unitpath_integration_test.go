package systemdbus

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// TestUnitPathIsTheManagers asks a real manager for the object paths of
// units whose names need each of bus_label_escape's rules, a leading digit
// above all ("1echo.socket" is "_31echo_2esocket"; a digit elsewhere stays),
// and wants unitPath to give the manager's path and unitName to read it
// back. systemd accepts a path with the digit left bare too, so the client
// is then run on such a socket: a listing, a start, Watch's event (signals
// come from the manager's own path) and a stop.
func TestUnitPathIsTheManagers(t *testing.T) {
	s := sandboxtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	names := []string{"1echo.socket", "0.socket", "9-lives@2.socket", "a1.socket", `x\x2dy.socket`, "a_b:c.socket"}
	units := map[string]string{"digits.service": "[Service]\nExecStart=/bin/sleep infinity\n"}
	for i, n := range names {
		units[n] = fmt.Sprintf("[Socket]\nListenStream=%s\nService=digits.service\n", filepath.Join(dir, fmt.Sprint(i)))
	}
	sandboxtest.InstallUnits(t, s, units)
	c, err := Connect(ctx, Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ses, err := c.session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var p dbus.ObjectPath
		if err := ses.object(managerPath).CallWithContext(ctx, managerIface+".LoadUnit", 0, n).Store(&p); err != nil {
			t.Fatalf("LoadUnit(%s): %v", n, err)
		}
		if got := unitPath(n); got != p {
			t.Errorf("unitPath(%q) = %s, the manager says %s", n, got, p)
		}
		if got, ok := unitName(p); !ok || got != n {
			t.Errorf("unitName(%s) = %q, %v; want %q", p, got, ok, n)
		}
	}

	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	ch := c.Watch(wctx)
	if ev := <-ch; ev.Kind != unit.Snapshot {
		t.Fatalf("first event %+v, want Snapshot", ev)
	}
	const name = "1echo.socket"
	if err := c.StartUnit(ctx, name); err != nil {
		t.Fatalf("StartUnit(%s): %v", name, err)
	}
	for ev := range ch {
		if (ev.Kind == unit.UnitChanged || ev.Kind == unit.UnitAdded) && ev.Unit == name && ev.Socket.State == unit.StateIdle {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("no event of %s listening: %v", name, ctx.Err())
	}
	socks, err := c.ListSockets(ctx, ListOptions{Patterns: []string{name}})
	if err != nil || len(socks) != 1 || socks[0].State != unit.StateIdle || len(socks[0].Listen) != 1 ||
		len(socks[0].Services) != 1 || socks[0].Services[0].Unit != "digits.service" {
		t.Errorf("ListSockets(%s) = %+v, %v; want it idle, with its listener and digits.service", name, socks, err)
	}
	if err := c.StopUnit(ctx, name); err != nil {
		t.Errorf("StopUnit(%s): %v", name, err)
	}
}
