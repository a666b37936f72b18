package systemdbus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// isEnabled is `systemctl --user is-enabled NAME`'s answer (it exits
// non-zero for every state but enabled ones, so only its output counts).
func isEnabled(t *testing.T, s *sandbox.Sandbox, name string) string {
	t.Helper()
	out, _ := s.Systemctl(testCtx(t), "is-enabled", name).Output()
	return strings.TrimSpace(string(out))
}

// TestEnableDisableReachSystemd enables and disables a socket unit file and
// checks each step with systemctl (is-enabled, UnitFileState, the symlink
// in sockets.target.wants), and that the manager was reloaded (the socket
// is then wanted by sockets.target).
func TestEnableDisableReachSystemd(t *testing.T) {
	s := sandboxtest.Start(t)
	c := connect(t, s)
	ctx := testCtx(t)
	dir := t.TempDir()
	sandboxtest.InstallUnits(t, s, map[string]string{
		"en.socket":     fmt.Sprintf("[Socket]\nListenStream=%s\n[Install]\nWantedBy=sockets.target\n", filepath.Join(dir, "en.sock")),
		"en.service":    "[Service]\nExecStart=/bin/sleep infinity\n",
		"static.socket": fmt.Sprintf("[Socket]\nListenStream=%s\n", filepath.Join(dir, "static.sock")),
	})
	link := filepath.Join(s.Home, ".config", "systemd", "user", "sockets.target.wants", "en.socket")
	if got := isEnabled(t, s, "en.socket"); got != "disabled" {
		t.Fatalf("before: is-enabled %q, want disabled", got)
	}

	if err := c.EnableUnitFiles(ctx, []string{"en.socket"}); err != nil {
		t.Fatalf("EnableUnitFiles: %v", err)
	}
	if got := isEnabled(t, s, "en.socket"); got != "enabled" {
		t.Errorf("after enable: is-enabled %q, want enabled", got)
	}
	if got := show(t, s, "en.socket", "UnitFileState")["UnitFileState"]; got != "enabled" {
		t.Errorf("after enable: UnitFileState %q, want enabled", got)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("after enable: %v", err)
	}
	// The reload made sockets.target want it.
	if got := show(t, s, "en.socket", "WantedBy")["WantedBy"]; !strings.Contains(got, "sockets.target") {
		t.Errorf("after enable: WantedBy %q, want sockets.target (was the manager reloaded?)", got)
	}
	if err := c.EnableUnitFiles(ctx, []string{"en.socket"}); err != nil {
		t.Errorf("enabling it again: %v, want no error", err)
	}

	changes, err := c.DisableUnitFilesChanges(ctx, []string{"en.socket"})
	if err != nil {
		t.Fatalf("DisableUnitFiles: %v", err)
	}
	if len(changes) != 1 || changes[0].Type != "unlink" || changes[0].Filename != link {
		t.Errorf("disable changes %+v, want the unlink of %s", changes, link)
	}
	if got := isEnabled(t, s, "en.socket"); got != "disabled" {
		t.Errorf("after disable: is-enabled %q, want disabled", got)
	}
	if got := show(t, s, "en.socket", "UnitFileState")["UnitFileState"]; got != "disabled" {
		t.Errorf("after disable: UnitFileState %q, want disabled", got)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after disable: the link is still there (%v)", err)
	}
	if err := c.DisableUnitFiles(ctx, []string{"en.socket"}); err != nil {
		t.Errorf("disabling it again: %v, want no error", err)
	}

	// Refusals, in words.
	if err := c.EnableUnitFiles(ctx, []string{"static.socket"}); !errors.Is(err, systemdbus.ErrNoInstallInfo) ||
		!strings.Contains(err.Error(), "[Install]") {
		t.Errorf("enabling a unit without [Install]: %v, want ErrNoInstallInfo", err)
	}
	if got := isEnabled(t, s, "static.socket"); got != "static" {
		t.Errorf("static.socket is-enabled %q, want static", got)
	}
	for _, f := range []func() error{
		func() error { return c.EnableUnitFiles(ctx, []string{"nope.socket"}) },
		func() error { return c.DisableUnitFiles(ctx, []string{"nope.socket"}) },
	} {
		if err := f(); !errors.Is(err, systemdbus.ErrNoSuchUnit) || !strings.Contains(err.Error(), "nope.socket") {
			t.Errorf("a missing unit file: %v, want ErrNoSuchUnit naming it", err)
		}
	}
	run := exec.CommandContext(ctx, "systemd-run", "--user", "--unit=tr-en", "--socket-property=ListenStream="+filepath.Join(dir, "tr.sock"), "/bin/sleep", "100")
	run.Env = s.Env()
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v\n%s", err, out)
	}
	if err := c.EnableUnitFiles(ctx, []string{"tr-en.socket"}); !errors.Is(err, systemdbus.ErrRefused) || !strings.Contains(err.Error(), "transient") {
		t.Errorf("enabling a transient unit: %v, want ErrRefused saying it is transient", err)
	}
	sandboxtest.Systemctl(t, s, "stop", "tr-en.socket")
}

// TestReloadWaitsForTheManager: a unit whose file changed needs a reload
// (NeedDaemonReload); the moment Reload returns, it no longer does, and
// the manager runs the new file.
func TestReloadWaitsForTheManager(t *testing.T) {
	s := sandboxtest.Start(t)
	c := connect(t, s)
	dir := t.TempDir()
	sandboxtest.InstallUnits(t, s, map[string]string{
		"rl.socket":  fmt.Sprintf("[Unit]\nDescription=before\n[Socket]\nListenStream=%s\n", filepath.Join(dir, "rl.sock")),
		"rl.service": "[Service]\nExecStart=/bin/sleep infinity\n",
	})
	sandboxtest.Systemctl(t, s, "start", "rl.socket")
	file := filepath.Join(s.Home, ".config", "systemd", "user", "rl.socket")
	if err := os.WriteFile(file, fmt.Appendf(nil, "[Unit]\nDescription=after\n[Socket]\nListenStream=%s\n", filepath.Join(dir, "rl.sock")), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := show(t, s, "rl.socket", "NeedDaemonReload")["NeedDaemonReload"]; got != "yes" {
		t.Fatalf("NeedDaemonReload %q before the reload, want yes", got)
	}
	if err := c.Reload(testCtx(t)); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	got := show(t, s, "rl.socket", "NeedDaemonReload", "Description")
	if got["NeedDaemonReload"] != "no" || got["Description"] != "after" {
		t.Errorf("right after Reload: %v, want NeedDaemonReload=no Description=after", got)
	}
	// The client still works after the reload.
	if sk := listOne(t, c, "rl"); sk.Description != "after" {
		t.Errorf("listing after Reload: %q, want after", sk.Description)
	}
}

// TestUnitFileStateInListings lists sockets in the unit file states
// systemd reports (enabled, disabled, static, indirect, linked, masked,
// transient; generated needs a generator in a system folder, which a test
// must not write) through each path of a listing — the codec and
// godbus, with and without the unit files — and wants systemctl's state
// for each, from all of them.
func TestUnitFileStateInListings(t *testing.T) {
	s := sandboxtest.Start(t)
	ctx := testCtx(t)
	dir := t.TempDir()
	sock := func(name, install string) string {
		return fmt.Sprintf("[Socket]\nListenStream=%s\n%s", filepath.Join(dir, name+".sock"), install)
	}
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "ufs-linked.socket"), []byte(sock("linked", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	runtimeUnits := filepath.Join(s.RuntimeDir, "systemd", "user")
	if err := os.MkdirAll(runtimeUnits, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runtimeUnits, "ufs-masked.socket"), []byte(sock("masked", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	units := map[string]string{
		"ufs-enabled.socket":  sock("enabled", "[Install]\nWantedBy=sockets.target\n"),
		"ufs-disabled.socket": sock("disabled", "[Install]\nWantedBy=sockets.target\n"),
		"ufs-static.socket":   sock("static", ""),
		"ufs-indirect.socket": sock("indirect", "[Install]\nAlso=ufs-static.socket\n"),
	}
	for name := range units {
		units[strings.TrimSuffix(name, ".socket")+".service"] = "[Service]\nExecStart=/bin/sleep infinity\n"
	}
	units["ufs-linked.service"] = "[Service]\nExecStart=/bin/sleep infinity\n"
	units["ufs-masked.service"] = "[Service]\nExecStart=/bin/sleep infinity\n"
	sandboxtest.InstallUnits(t, s, units)
	sandboxtest.Systemctl(t, s, "enable", "ufs-enabled.socket")
	sandboxtest.Systemctl(t, s, "link", filepath.Join(elsewhere, "ufs-linked.socket"))
	// A masked socket is listed while it is loaded: masked as it ran.
	sandboxtest.Systemctl(t, s, "daemon-reload")
	sandboxtest.Systemctl(t, s, "start", "ufs-masked.socket")
	sandboxtest.Systemctl(t, s, "mask", "ufs-masked.socket")
	sandboxtest.Systemctl(t, s, "daemon-reload")
	run := exec.CommandContext(ctx, "systemd-run", "--user", "--unit=ufs-transient",
		"--socket-property=ListenStream="+filepath.Join(dir, "tr.sock"), "/bin/sleep", "100")
	run.Env = s.Env()
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v\n%s", err, out)
	}
	want := map[string]string{}
	for _, st := range []string{"enabled", "disabled", "static", "indirect", "linked", "masked", "transient"} {
		want["ufs-"+st+".socket"] = st
	}
	var started []string
	for name := range want {
		if name != "ufs-masked.socket" && name != "ufs-transient.socket" { // already running
			started = append(started, name)
		}
	}
	sandboxtest.Systemctl(t, s, append([]string{"start"}, started...)...)
	for name, st := range want {
		if got := show(t, s, name, "UnitFileState")["UnitFileState"]; got != st {
			t.Fatalf("systemctl show %s: UnitFileState %q, want %q (the test's set-up)", name, got, st)
		}
	}

	fast := connect(t, s)
	slow, err := systemdbus.Connect(ctx, systemdbus.Options{Dial: func(ctx context.Context) (*dbus.Conn, error) {
		return systemdbus.DialPrivate(ctx, s.PrivateSocket())
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	for _, c := range []struct {
		name   string
		client *systemdbus.Client
		all    bool
	}{{"codec --all", fast, true}, {"codec", fast, false}, {"godbus --all", slow, true}, {"godbus", slow, false}} {
		socks, err := c.client.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{"ufs-*"}, All: c.all})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := map[string]string{}
		for _, sk := range socks {
			got[sk.Unit] = sk.UnitFileState
		}
		for name, st := range want {
			listed, ok := got[name]
			if !ok && !c.all && name == "ufs-masked.socket" {
				continue // not loaded (LoadState masked): only --all lists it
			}
			if listed != st {
				t.Errorf("%s: %s has UnitFileState %q (listed %v), want %q", c.name, name, listed, ok, st)
			}
		}
	}
	sandboxtest.Systemctl(t, s, "stop", "ufs-transient.socket", "ufs-masked.socket")
}

// fileStateIn returns a match for an event that shows name's socket with
// the unit file state st: a UnitChanged of it, or a Snapshot holding it.
func fileStateIn(name, st string) func(unit.Event) bool {
	return func(ev unit.Event) bool {
		switch ev.Kind {
		case unit.UnitChanged:
			return ev.Unit == name && ev.Socket.UnitFileState == st
		case unit.Snapshot:
			for _, sk := range ev.Sockets {
				if sk.Unit == name {
					return sk.UnitFileState == st
				}
			}
		}
		return false
	}
}

// TestWatchFollowsUnitFileState: Watch reports a socket's unit file
// state, and its change both when the enable is followed by a reload
// (EnableUnitFiles, as systemctl enable) and when it is not (the
// manager's EnableUnitFiles alone, as systemctl --no-reload, after which
// systemd signals only UnitFilesChanged).
func TestWatchFollowsUnitFileState(t *testing.T) {
	s := sandboxtest.Start(t)
	c := connect(t, s)
	ctx := testCtx(t)
	dir := t.TempDir()
	sandboxtest.InstallUnits(t, s, map[string]string{
		"wf.socket":  fmt.Sprintf("[Socket]\nListenStream=%s\n[Install]\nWantedBy=sockets.target\n", filepath.Join(dir, "wf.sock")),
		"wf.service": "[Service]\nExecStart=/bin/sleep infinity\n",
	})
	sandboxtest.Systemctl(t, s, "start", "wf.socket")
	ch := c.Watch(ctx)
	first := nextEvent(t, ch, "the first snapshot", func(ev unit.Event) bool { return ev.Kind == unit.Snapshot })
	if !fileStateIn("wf.socket", "disabled")(first) {
		t.Fatalf("the first snapshot does not show wf.socket disabled: %+v", first.Sockets)
	}

	// systemctl here writes the links itself (the host was not booted with
	// systemd): ask the manager, as systemctl --no-reload does elsewhere.
	raw, err := systemdbus.DialPrivate(ctx, s.PrivateSocket())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var install bool
	var changes []struct{ Type, Filename, Destination string }
	err = raw.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").CallWithContext(ctx,
		"org.freedesktop.systemd1.Manager.EnableUnitFiles", 0, []string{"wf.socket"}, false, false).Store(&install, &changes)
	if err != nil || len(changes) != 1 {
		t.Fatalf("EnableUnitFiles on the bus: %v %v", changes, err)
	}
	ev := nextEvent(t, ch, "wf.socket enabled without a reload", fileStateIn("wf.socket", "enabled"))
	if ev.Kind != unit.UnitChanged {
		t.Fatalf("the enable without a reload came as event %v, want UnitChanged", ev.Kind)
	}
	if ev.Socket.State != unit.StateIdle {
		t.Errorf("wf.socket is %s after the enable, want idle as before", ev.Socket.State)
	}

	if err := c.DisableUnitFiles(ctx, []string{"wf.socket"}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ch, "wf.socket disabled (with a reload)", fileStateIn("wf.socket", "disabled"))
	if err := c.EnableUnitFiles(ctx, []string{"wf.socket"}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ch, "wf.socket enabled (with a reload)", fileStateIn("wf.socket", "enabled"))
	sandboxtest.Systemctl(t, s, "stop", "wf.socket")
}
