package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestRootlessSandbox checks rootless mode end to end: the manager runs as
// the sandbox's user in cgroups delegated to it, journald as root, the
// namespace has a /dev/net/tun the user may open while the host's is
// unchanged, a socket unit made by the user (systemd-run as the user) starts
// its service as the user, and Close leaves no process, cgroup, folder,
// user or change on the host (StartRootless's cleanups assert the last two).
func TestRootlessSandbox(t *testing.T) {
	hostTun, _ := os.Stat("/dev/net/tun")
	s := sandboxtest.StartRootless(t)
	u := s.User
	if u == nil || u.UID == 0 {
		t.Fatalf("rootless sandbox has user %+v, want an unprivileged one", u)
	}
	t.Logf("user %s (%d:%d, groups %v), ready in %v", u.Name, u.UID, u.GID, u.Groups, s.StartupTime)
	if got := processUID(t, s.ManagerPID()); got != u.UID {
		t.Errorf("the manager runs as UID %d, want %s's %d", got, u.Name, u.UID)
	}
	for _, d := range []string{s.Home, s.RuntimeDir} {
		if fi, err := os.Stat(d); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(u.UID) {
			t.Errorf("%s is not %s's (%v)", d, u.Name, err)
		}
	}
	// The manager's folder is delegated; the slice above it stays root's.
	for _, cg := range s.Cgroups {
		fi, err := os.Stat(filepath.Join(cg, "cgroup.procs"))
		if err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(u.UID) {
			t.Errorf("%s/cgroup.procs is not delegated to %s (%v)", cg, u.Name, err)
		}
		if fi, err := os.Stat(filepath.Dir(cg)); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("the sandbox's slice %s is not root's (%v)", filepath.Dir(cg), err)
		}
	}
	if s.JournalDir != "" {
		journald := 0
		for _, pid := range sandbox.Processes(s.Dir) {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "systemd-journal" {
				journald = pid
			}
		}
		if journald == 0 {
			t.Errorf("no systemd-journald among the sandbox's processes")
		} else if got := processUID(t, journald); got != 0 {
			t.Errorf("the sandbox's journald runs as UID %d, want root", got)
		}
	}
	// /proc/PID/root resolves in the manager's mount namespace.
	tun, err := os.Stat(fmt.Sprintf("/proc/%d/root/dev/net/tun", s.ManagerPID()))
	if err != nil || tun.Mode()&0o777 != 0o666 || tun.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the namespace's /dev/net/tun = %v (%v), want a 0666 character device", tun, err)
	}
	if after, _ := os.Stat("/dev/net/tun"); hostTun != nil && (after == nil || after.Mode() != hostTun.Mode()) {
		t.Errorf("the host's /dev/net/tun changed: %v -> %v", hostTun.Mode(), after)
	}

	// Rootless Podman's pause process, whose namespaces every podman joins,
	// was made in the manager's mount namespace (its own is a copy): so a
	// podman run from outside gets the namespace's /dev/net/tun.
	if _, err := exec.LookPath("podman"); err == nil {
		b, err := os.ReadFile(filepath.Join(s.RuntimeDir, "libpod", "tmp", "pause.pid"))
		pause, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || !alive(pause) {
			t.Errorf("no live rootless Podman pause process (%v, pid %d)", err, pause)
		} else if tun, err := os.Stat(fmt.Sprintf("/proc/%d/root/dev/net/tun", pause)); err != nil || tun.Mode()&0o777 != 0o666 {
			t.Errorf("the pause process's /dev/net/tun = %v (%v), want the namespace's 0666 node", tun, err)
		}
	}

	port := sandboxtest.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Command(ctx, "systemd-run", "--user", "--unit", "rootless-check",
		"--socket-property=ListenStream=127.0.0.1:"+strconv.Itoa(port), "/bin/sleep", "infinity").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-run --user as %s: %v\n%s", u.Name, err, out)
	}
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	pid := waitMainPID(t, s, "rootless-check.service")
	if got := processUID(t, pid); got != u.UID {
		t.Errorf("the activated service runs as UID %d, want %d", got, u.UID)
	}
	assertInSandboxCgroup(t, s, pid, "rootless-check.service")
	procs := sandbox.Processes(s.Dir)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertNothingLeft(t, s, procs)
}

// TestRootlessStaleReap kills a process that holds a rootless sandbox: its
// manager must follow (the parent-death signal survives the drop to the
// user), and the next ReapStale must remove the sandbox's folder, cgroups
// and user.
func TestRootlessStaleReap(t *testing.T) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	sandboxtest.HostUntouched(t)
	tmp := t.TempDir()
	// The sandbox's user must reach its home below tmp.
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SOCKTUI_ROOTLESS_HOLDER="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir, name string
	var manager int
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "holding %s %s %d", &dir, &name, &manager); err == nil {
			break
		}
		t.Logf("holder: %s", sc.Text())
	}
	if manager == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the holder never reported its sandbox (%v)", sc.Err())
	}
	u := &sandbox.User{Name: name, UID: processUID(t, manager)}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for alive(manager) {
		if time.Now().After(deadline) {
			t.Fatalf("the manager %d outlived its killed parent by 30 s", manager)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sandbox.ReapStale(tmp)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the stale sandbox %s remains (%v)", dir, err)
	}
	sandboxtest.UserGone(t, u, filepath.Join(dir, "home"))
}

// TestMain runs the holder of TestRootlessStaleReap when asked to, else the
// tests.
func TestMain(m *testing.M) {
	if tmp := os.Getenv("SOCKTUI_ROOTLESS_HOLDER"); tmp != "" {
		holdRootless(tmp)
	}
	os.Exit(m.Run())
}

// holdRootless is TestRootlessStaleReap's holder process: it starts a
// rootless sandbox below tmp, says so, and waits to be killed.
func holdRootless(tmp string) {
	s, err := sandbox.Start(context.Background(), sandbox.Options{Rootless: true, TempDir: tmp})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("holding %s %s %d\n", s.Dir, s.User.Name, s.ManagerPID())
	select {}
}

func alive(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(st), ") Z ")
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

func waitMainPID(t *testing.T, s *sandbox.Sandbox, service string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := s.Systemctl(context.Background(), "show", "-p", "MainPID", "--value", service).Output()
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && pid > 0 {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no main process after 30 s (%v)", service, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
