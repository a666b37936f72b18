package systemdbus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
)

// nobody is the unprivileged caller of the system tests.
const nobody = 65534

// startSystemProbe boots a system sandbox with probe.socket (listening on a
// free loopback port at boot) and its service, and returns it with the port.
func startSystemProbe(t *testing.T) (*sandbox.System, int) {
	t.Helper()
	port := sandboxtest.FreePort(t)
	s := sandboxtest.StartSystem(t, sandbox.SystemOptions{Units: map[string]string{
		"probe.socket":                         fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:%d\n", port),
		"probe.service":                        "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
		sandbox.SystemTarget + ".d/probe.conf": "[Unit]\nWants=probe.socket\n",
	}})
	return s, port
}

// connectSystem connects to s's system manager as uid: root on its private
// socket, anyone else through its system bus, each through a relay run in
// the manager's namespaces (sandbox.System.Dial) as uid.
func connectSystem(t *testing.T, s *sandbox.System, uid int) *systemdbus.Client {
	t.Helper()
	path, bus := "/run/systemd/private", false
	if uid != 0 {
		path, bus = "/run/dbus/system_bus_socket", true
	}
	dial := func(ctx context.Context) (*dbus.Conn, error) {
		rwc, err := s.Dial(ctx, path, uid, uid)
		if err != nil {
			return nil, err
		}
		conn, err := dbus.NewConn(rwc, systemdbus.ConnOptions()...)
		if err != nil {
			rwc.Close()
			return nil, err
		}
		if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(uid))}); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := systemdbus.Connect(ctx, systemdbus.Options{System: true, Dial: dial, DialBus: bus})
	if err != nil {
		t.Fatalf("connecting to the system manager as uid %d: %v", uid, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSystemManagerActions lists, stops and starts a socket of a real
// system manager as root, and as an unprivileged user over the system bus:
// the listing works, the actions are refused with ErrPermission in words
// and leave the socket as it was.
func TestSystemManagerActions(t *testing.T) {
	s, port := startSystemProbe(t)
	ctx := testCtx(t)
	state := func() string { return sandboxtest.SystemProperty(t, s, "probe.socket", "ActiveState") }

	root := connectSystem(t, s, 0)
	if root.Manager() != "system" {
		t.Errorf("Manager() = %q, want system", root.Manager())
	}
	socks, err := root.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{"probe.socket"}, All: true})
	if err != nil {
		t.Fatalf("ListSockets as root: %v", err)
	}
	want := fmt.Sprintf("127.0.0.1:%d", port)
	if len(socks) != 1 || socks[0].Unit != "probe.socket" || len(socks[0].Listen) != 1 ||
		socks[0].Listen[0].Address != want || socks[0].ActiveState != "active" {
		t.Fatalf("ListSockets(probe.socket) as root = %+v, want the one socket, active, on %s", socks, want)
	}
	if ls := sandboxtest.SystemSystemctl(t, s, "list-sockets", "--all", "--no-pager"); !strings.Contains(ls, want) ||
		!strings.Contains(ls, "probe.socket") {
		t.Errorf("systemctl --system list-sockets does not agree: %s", ls)
	}

	if err := root.StopUnit(ctx, "probe.socket"); err != nil {
		t.Fatalf("StopUnit as root: %v", err)
	}
	if st := state(); st != "inactive" {
		t.Errorf("probe.socket after a stop as root: %s, want inactive", st)
	}

	user := connectSystem(t, s, nobody)
	socks, err = user.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{"probe.socket"}, All: true})
	if err != nil || len(socks) != 1 || socks[0].ActiveState != "inactive" {
		t.Errorf("ListSockets as nobody over the bus = %+v, %v; want probe.socket, inactive", socks, err)
	}
	begin := time.Now()
	err = user.StartUnit(ctx, "probe.socket")
	t.Logf("refused start took %v", time.Since(begin))
	assertPermission(t, "StartUnit as nobody", err)
	if st := state(); st != "inactive" {
		t.Errorf("probe.socket after a refused start: %s, want inactive", st)
	}

	if err := root.StartUnit(ctx, "probe.socket"); err != nil {
		t.Fatalf("StartUnit as root: %v", err)
	}
	if st := state(); st != "active" {
		t.Errorf("probe.socket after a start as root: %s, want active", st)
	}
	assertPermission(t, "StopUnit as nobody", user.StopUnit(ctx, "probe.socket"))
	if st := state(); st != "active" {
		t.Errorf("probe.socket after a refused stop: %s, want active", st)
	}
}

// assertPermission fails t unless err is a permission error that says so
// in words and says what to do.
func assertPermission(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, systemdbus.ErrPermission) {
		t.Fatalf("%s: %v, want ErrPermission", what, err)
	}
	for _, w := range []string{"permission denied", "probe.socket", "root"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
	t.Logf("%s: %v", what, err)
}
