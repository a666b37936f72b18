package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// dialManager opens a go-systemd connection to the sandbox's private socket,
// as systemctl --user does (EXTERNAL auth, no Hello).
func dialManager(t *testing.T, s *sandbox.Sandbox) *sd.Conn {
	t.Helper()
	conn, err := sd.NewConnection(func() (*dbus.Conn, error) {
		c, err := dbus.Dial(s.BusAddress())
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		t.Fatalf("connecting to %s: %v", s.PrivateSocket(), err)
	}
	t.Cleanup(conn.Close)
	return conn
}

func unitState(t *testing.T, conn *sd.Conn, unit string) (active, sub string) {
	t.Helper()
	props, err := conn.GetUnitPropertiesContext(context.Background(), unit)
	if err != nil {
		t.Fatalf("reading %s: %v", unit, err)
	}
	return props["ActiveState"].(string), props["SubState"].(string)
}

func waitState(t *testing.T, conn *sd.Conn, unit, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		active, sub := unitState(t, conn, unit)
		if active == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s (%s), want %s", unit, active, sub, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSandboxActivatesTransientSocket proves the sandbox end to end: a
// transient socket unit with a bare service is activated by a TCP connection,
// stopped, and Close leaves no process, mount or folder behind.
func TestSandboxActivatesTransientSocket(t *testing.T) {
	s := sandboxtest.Start(t)
	// Start's speed is a benchmark's business (BenchmarkSandboxStart); here
	// only that it was measured.
	if s.StartupTime <= 0 {
		t.Errorf("StartupTime = %v, want the measured start", s.StartupTime)
	}
	t.Logf("sandbox ready in %v", s.StartupTime)
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", s.ManagerPID())); err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		t.Errorf("ManagerPID %d runs %q (%v), want systemd", s.ManagerPID(), comm, err)
	}
	conn := dialManager(t, s)
	ctx := context.Background()

	port := sandboxtest.FreePort(t)
	socket, service := "sbxtest.socket", "sbxtest.service"
	done := make(chan string, 1)
	_, err := conn.StartTransientUnitAux(ctx, socket, "fail",
		[]sd.Property{
			sd.PropDescription("sandbox test socket"),
			{Name: "Listen", Value: dbus.MakeVariant([]struct{ A, B string }{{"Stream", "127.0.0.1:" + strconv.Itoa(port)}})},
		},
		[]sd.PropertyCollection{{Name: service, Properties: []sd.Property{
			sd.PropDescription("sandbox test service"),
			sd.PropExecStart([]string{"/bin/sleep", "infinity"}, false),
		}}},
		done)
	if err != nil {
		t.Fatalf("creating %s: %v", socket, err)
	}
	if r := <-done; r != "done" {
		t.Fatalf("starting %s: job %s", socket, r)
	}
	if active, sub := unitState(t, conn, socket); active != "active" || sub != "listening" {
		t.Fatalf("%s is %s/%s, want active/listening", socket, active, sub)
	}
	if active, _ := unitState(t, conn, service); active != "inactive" {
		t.Fatalf("%s is %s before any connection, want inactive", service, active)
	}

	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to the socket unit: %v", err)
	}
	c.Close()
	waitState(t, conn, service, "active")

	// The service runs in the sandbox: find it by the manager's marker.
	procs := sandbox.Processes(s.Dir)
	if len(procs) < 2 { // the manager and sleep at least
		t.Fatalf("sandbox processes = %v, want the manager and the service", procs)
	}
	// And in the sandbox's cgroup, as does the manager; the test process
	// stays where it was.
	assertInSandboxCgroup(t, s, s.ManagerPID(), "")
	assertInSandboxCgroup(t, s, mainPID(t, conn, service), service)
	if own, _ := os.ReadFile("/proc/self/cgroup"); bytes.Contains(own, []byte(sandboxCgroupName(t, s))) {
		t.Errorf("the test process was moved into the sandbox's cgroup:\n%s", own)
	}

	if _, err := conn.StopUnitContext(ctx, socket, "replace", done); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := conn.StopUnitContext(ctx, service, "replace", done); err != nil {
		t.Fatal(err)
	}
	<-done
	waitState(t, conn, service, "inactive")

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertNothingLeft(t, s, procs)
}

// TestSandboxesIsolateSameNamedUnits starts two sandboxes at once, each
// running a service of the same name, as parallel test binaries do. Each
// service must run in its own sandbox's cgroup, and stopping one must leave
// the other running: when both managers put their units at /app.slice of the
// host's hierarchies, stopping one killed the other's process too.
func TestSandboxesIsolateSameNamedUnits(t *testing.T) {
	const unit = "same-name.service"
	type started struct {
		s    *sandbox.Sandbox
		conn *sd.Conn
		pid  int
	}
	var sbx [2]started
	for i := range sbx {
		s := sandboxtest.Start(t)
		sbx[i] = started{s: s, conn: dialManager(t, s)}
	}
	for _, x := range sbx {
		done := make(chan string, 1)
		if _, err := x.conn.StartTransientUnitContext(context.Background(), unit, "fail", []sd.Property{
			sd.PropExecStart([]string{"/bin/sleep", "infinity"}, false),
		}, done); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r != "done" {
			t.Fatalf("starting %s in %s: job %s", unit, x.s.Dir, r)
		}
	}
	for i := range sbx {
		x := &sbx[i]
		waitState(t, x.conn, unit, "active")
		x.pid = mainPID(t, x.conn, unit)
		assertInSandboxCgroup(t, x.s, x.pid, unit)
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", x.pid))
		t.Logf("sandbox %d: %s is process %d in\n%s", i, unit, x.pid, cg)
	}
	if sbx[0].s.Cgroups[0] == sbx[1].s.Cgroups[0] {
		t.Fatalf("both sandboxes use the cgroup %s", sbx[0].s.Cgroups[0])
	}

	done := make(chan string, 1)
	if _, err := sbx[0].conn.StopUnitContext(context.Background(), unit, "replace", done); err != nil {
		t.Fatal(err)
	}
	<-done
	waitState(t, sbx[0].conn, unit, "inactive")
	if active, sub := unitState(t, sbx[1].conn, unit); active != "active" || sub != "running" {
		t.Errorf("stopping %s in one sandbox left the other's %s/%s, want active/running", unit, active, sub)
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sbx[1].pid)); err != nil || bytes.Contains(st, []byte(") Z ")) {
		t.Errorf("the other sandbox's process %d died with the first's unit (%v)", sbx[1].pid, err)
	}
	if got := mainPID(t, sbx[1].conn, unit); got != sbx[1].pid {
		t.Errorf("the other sandbox's %s changed main process %d -> %d", unit, sbx[1].pid, got)
	}
	for _, x := range sbx {
		if err := x.s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		assertNothingLeft(t, x.s, []int{x.pid})
	}
}

// TestSandboxJournal checks the sandbox's journal end to end: a unit's stdout
// line lands in JournalDir tagged with _SYSTEMD_USER_UNIT (as on a real user
// session, thanks to the manager's cgroup name), journald runs in the
// sandbox's own slice as the manager's child, and Close stops it and leaves
// no process, cgroup or folder.
func TestSandboxJournal(t *testing.T) {
	sandboxtest.Need(t, "journalctl", "systemd")
	s := sandboxtest.Start(t)
	if s.JournalDir == "" {
		sandboxtest.Unavailable(t, "no systemd-journald on this host (apt-get install systemd)")
	}
	if got := sandbox.JournalDirIn(s.RuntimeDir); got != s.JournalDir {
		t.Errorf("JournalDirIn(%s) = %q, want %q", s.RuntimeDir, got, s.JournalDir)
	}
	if got := sandbox.JournalDirIn(t.TempDir()); got != "" {
		t.Errorf("JournalDirIn(a plain folder) = %q, want empty", got)
	}
	conn := dialManager(t, s)
	const unit = "journal-check.service"
	token := fmt.Sprintf("journal line %d", time.Now().UnixNano())
	done := make(chan string, 1)
	if _, err := conn.StartTransientUnitContext(context.Background(), unit, "fail", []sd.Property{
		sd.PropExecStart([]string{"/bin/sh", "-c", "echo '" + token + "'; exec sleep infinity"}, false),
	}, done); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r != "done" {
		t.Fatalf("starting %s: job %s", unit, r)
	}

	var entry map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for entry == nil {
		out, err := exec.Command("journalctl", "-D", s.JournalDir, "-o", "json", "--no-pager",
			"_SYSTEMD_USER_UNIT="+unit).Output()
		if err != nil {
			t.Fatalf("journalctl -D %s: %v", s.JournalDir, err)
		}
		for _, line := range bytes.Split(out, []byte("\n")) {
			var e map[string]any
			if json.Unmarshal(line, &e) == nil && e["MESSAGE"] == token {
				entry = e
			}
		}
		if entry == nil && time.Now().After(deadline) {
			all, _ := exec.Command("journalctl", "-D", s.JournalDir, "-o", "json", "--no-pager", "-n", "20").Output()
			t.Fatalf("no entry %q of %s in %s within 10 s; the journal's last entries:\n%s", token, unit, s.JournalDir, all)
		}
		if entry == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if got := entry["_SYSTEMD_USER_UNIT"]; got != unit {
		t.Errorf("_SYSTEMD_USER_UNIT = %v, want %s (entry %v)", got, unit, entry)
	}
	if got, _ := entry["_SYSTEMD_CGROUP"].(string); !strings.HasSuffix(got, sandboxCgroupName(t, s)+"/app.slice/"+unit) {
		t.Errorf("_SYSTEMD_CGROUP = %q, want .../%s/app.slice/%s", got, sandboxCgroupName(t, s), unit)
	}
	t.Logf("entry: _SYSTEMD_USER_UNIT=%v _SYSTEMD_UNIT=%v _SYSTEMD_USER_SLICE=%v _SYSTEMD_CGROUP=%v",
		entry["_SYSTEMD_USER_UNIT"], entry["_SYSTEMD_UNIT"], entry["_SYSTEMD_USER_SLICE"], entry["_SYSTEMD_CGROUP"])

	// The manager's own messages of the unit are in the journal too, as
	// on a user session (USER_UNIT names the unit), and ManagerLog shows
	// them.
	started := "Started " + unit
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, err := exec.Command("journalctl", "-D", s.JournalDir, "-o", "cat", "--no-pager", "USER_UNIT="+unit).Output()
		if err != nil {
			t.Fatalf("journalctl -D %s USER_UNIT=%s: %v", s.JournalDir, unit, err)
		}
		if strings.Contains(string(out), started) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q from the manager in the journal within 10 s; USER_UNIT=%s entries:\n%s", started, unit, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l := s.ManagerLog(200); !strings.Contains(l, started) {
		t.Errorf("ManagerLog does not hold %q:\n%s", started, l)
	}

	journald := 0
	procs := sandbox.Processes(s.Dir)
	for _, pid := range procs {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "systemd-journal" {
			journald = pid
		}
	}
	if journald == 0 {
		t.Fatalf("no systemd-journald among the sandbox's processes %v", procs)
	}
	if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", journald)); !bytes.Contains(st, []byte(") S "+strconv.Itoa(s.ManagerPID())+" ")) &&
		!bytes.Contains(st, []byte(") R "+strconv.Itoa(s.ManagerPID())+" ")) {
		t.Errorf("journald %d is not the manager's (%d) child: %s", journald, s.ManagerPID(), st)
	}
	slice := filepath.Base(filepath.Dir(s.Cgroups[0]))
	if cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", journald)); !bytes.Contains(cg, []byte("/"+slice+"/systemd-journald.service\n")) {
		t.Errorf("journald is not in %s/systemd-journald.service:\n%s", slice, cg)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertNothingLeft(t, s, procs)
}

// TestCloseReapsEverything checks the safety net: a service that ignores
// SIGTERM and its whole process tree are gone after Close.
func TestCloseReapsEverything(t *testing.T) {
	s := sandboxtest.Start(t)
	conn := dialManager(t, s)
	done := make(chan string, 1)
	_, err := conn.StartTransientUnitContext(context.Background(), "stubborn.service", "fail", []sd.Property{
		sd.PropExecStart([]string{"/bin/sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait"}, false),
	}, done)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	waitState(t, conn, "stubborn.service", "active")
	procs := sandbox.Processes(s.Dir)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertNothingLeft(t, s, procs)
}

// TestReapStale checks that a sandbox whose owner died is reaped by the next
// Start's sweep.
func TestReapStale(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "socktui-sandbox-stale")
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	// PID 2^22+1 is above the kernel's pid_max limit: never alive.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte("4194305 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Its cgroup, as a killed manager leaves it: with its units' folders.
	cgroup := staleCgroup(t, dir)
	live := filepath.Join(tmp, "socktui-sandbox-live")
	if err := os.MkdirAll(live, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "owner"), []byte(strconv.Itoa(os.Getpid())+" 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sandbox.ReapStale(tmp)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stale sandbox %s still exists (%v)", dir, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("live sandbox %s was removed: %v", live, err)
	}
	if cgroup != "" {
		if _, err := os.Stat(cgroup); !os.IsNotExist(err) {
			t.Errorf("stale sandbox's cgroup %s still exists (%v)", cgroup, err)
		}
	}
}

// staleCgroup makes a cgroup with a unit's folder below it in the v2
// hierarchy and records it in the sandbox folder dir, or returns "" when
// this process may not make cgroups.
func staleCgroup(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return ""
	}
	for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(root, "cgroup.subtree_control")); err != nil {
			continue
		}
		cg := filepath.Join(root, filepath.Base(dir)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err := os.MkdirAll(filepath.Join(cg, "app.slice", "x.service"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			os.Remove(filepath.Join(cg, "app.slice", "x.service"))
			os.Remove(filepath.Join(cg, "app.slice"))
			os.Remove(cg)
		})
		if err := os.WriteFile(filepath.Join(dir, "cgroups"), []byte(cg+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return cg
	}
	return ""
}

func TestUnavailableSaysWhy(t *testing.T) {
	_, err := sandbox.Start(context.Background(), sandbox.Options{SystemdPath: "/nonexistent/systemd", TempDir: t.TempDir()})
	if os.Geteuid() != 0 {
		if err == nil || !strings.Contains(err.Error(), "root") {
			t.Fatalf("Start as non-root = %v, want an error that says root is needed", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/systemd") {
		t.Fatalf("Start with a missing binary = %v, want an error naming it", err)
	}
}

func assertNothingLeft(t *testing.T, s *sandbox.Sandbox, before []int) {
	t.Helper()
	if left := sandbox.Processes(s.Dir); len(left) > 0 {
		t.Errorf("processes left after Close: %v", left)
	}
	for _, pid := range before {
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !bytes.Contains(st, []byte(") Z ")) {
			t.Errorf("process %d of the sandbox still runs after Close: %s", pid, st)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mounts, []byte(s.Dir)) {
		t.Errorf("a mount under %s remains", s.Dir)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("sandbox folder %s remains (%v)", s.Dir, err)
	}
	if len(s.Cgroups) == 0 {
		t.Errorf("the sandbox recorded no cgroup")
	}
	for _, cg := range s.Cgroups {
		// The manager's folder and the sandbox's slice above it.
		for _, d := range []string{cg, filepath.Dir(cg)} {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("cgroup %s remains after Close (%v)", d, err)
			}
		}
	}
}

func mainPID(t *testing.T, conn *sd.Conn, service string) int {
	t.Helper()
	p, err := conn.GetServicePropertyContext(context.Background(), service, "MainPID")
	if err != nil {
		t.Fatalf("reading %s's MainPID: %v", service, err)
	}
	pid := int(p.Value.Value().(uint32))
	if pid == 0 {
		t.Fatalf("%s has no main process", service)
	}
	return pid
}

// sandboxCgroupName is the last two names of the manager's cgroup folder,
// socktui-sandbox-NNN-HEX.slice/user@UID.service, the same in every
// hierarchy.
func sandboxCgroupName(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	if len(s.Cgroups) == 0 {
		t.Fatal("the sandbox recorded no cgroup")
	}
	cg := s.Cgroups[0]
	return filepath.Base(filepath.Dir(cg)) + "/" + filepath.Base(cg)
}

// assertInSandboxCgroup checks, from /proc/PID/cgroup, that pid is inside
// s's cgroup, and, when unit is set, in that unit's cgroup under the
// sandbox's app.slice, in the hierarchies by which a manager tracks (and
// stops) a unit's processes: name=systemd and v2. In the v1 controllers
// (cpu, memory, ...) it is only logged: any manager whose root is a
// hierarchy's root (one started before sandboxes had cgroups, still running
// on the machine) migrates every process into its root there when it
// realizes its root slice (seen: a sandbox's service moved to 4:memory:/).
func assertInSandboxCgroup(t *testing.T, s *sandbox.Sandbox, pid int, unit string) {
	t.Helper()
	if len(s.Cgroups) == 0 {
		t.Fatal("the sandbox recorded no cgroup")
	}
	name := sandboxCgroupName(t, s)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("reading process %d's cgroups: %v", pid, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < len(s.Cgroups) {
		t.Errorf("process %d is in %d hierarchies, the sandbox made cgroups in %d:\n%s", pid, len(lines), len(s.Cgroups), b)
	}
	for _, line := range lines {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			t.Fatalf("process %d: malformed cgroup line %q", pid, line)
		}
		path := f[2]
		systemdOwned := f[1] == "name=systemd" || (f[0] == "0" && f[1] == "")
		if !strings.Contains(path+"/", "/"+name+"/") {
			if !systemdOwned {
				t.Logf("process %d is in %s, outside the sandbox's cgroup %s: moved by another manager", pid, line, name)
				continue
			}
			t.Errorf("process %d is in %s, outside the sandbox's cgroup %s", pid, line, name)
		}
		if unit != "" && systemdOwned && !strings.HasSuffix(path, "/"+name+"/app.slice/"+unit) {
			t.Errorf("process %d is in %s, want .../%s/app.slice/%s", pid, line, name, unit)
		}
	}
}

// BenchmarkSandboxStart reports how long Start takes from exec to a
// connectable private socket (goal: under 1 s), and Close.
func BenchmarkSandboxStart(b *testing.B) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(b, err.Error())
	}
	var start, stop time.Duration
	for range b.N {
		s, err := sandbox.Start(context.Background(), sandbox.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start += s.StartupTime
		t0 := time.Now()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t0)
	}
	b.ReportMetric(float64(start.Microseconds())/1000/float64(b.N), "start-ms")
	b.ReportMetric(float64(stop.Microseconds())/1000/float64(b.N), "close-ms")
}
