package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
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
