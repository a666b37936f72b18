package sandboxtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
)

// StartSystem boots a system sandbox (sandbox.StartSystem) for t with opts
// and registers its Close with t.Cleanup. It fails t (in CI) or skips it
// when this host cannot run one. When the test ends, after Close, it fails
// t unless the host is as it was (HostUntouched, plus its hostname and the
// release agent of the name=systemd hierarchy) and nothing of the sandbox
// is left (no process, no folder, no cgroup).
func StartSystem(t testing.TB, opts sandbox.SystemOptions) *sandbox.System {
	t.Helper()
	if err := sandbox.SystemAvailable(); err != nil {
		Unavailable(t, err.Error())
	}
	// Cleanups run last registered first: these after Close.
	HostUntouched(t)
	hostname, _ := os.Hostname()
	agent := releaseAgent()
	cgroupRoot := cgroupRootEntries()
	pid1Cgroups, _ := os.ReadFile("/proc/1/cgroup")
	var s *sandbox.System
	t.Cleanup(func() {
		if e := cgroupRootEntries(); e != cgroupRoot {
			t.Errorf("the host's /sys/fs/cgroup changed during the test:\nbefore: %s\nafter:  %s", cgroupRoot, e)
		}
		if h, _ := os.Hostname(); h != hostname {
			t.Errorf("the host's hostname changed during the test: %q, was %q", h, hostname)
		}
		if a := releaseAgent(); a != agent {
			t.Errorf("the name=systemd hierarchy's release_agent changed during the test: %q, was %q", a, agent)
		}
		if s == nil {
			return
		}
		if left := sandbox.Processes(s.Dir); len(left) > 0 {
			t.Errorf("processes %v of the system sandbox are left after Close", left)
		}
		for _, p := range append([]string{s.Dir}, s.Cgroups...) {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s remains after Close (%v)", p, err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := sandbox.StartSystem(ctx, opts)
	if err != nil {
		if errors.Is(err, sandbox.ErrUnavailable) {
			Unavailable(t, err.Error())
		}
		t.Fatalf("starting the system sandbox: %v", err)
	}
	// While it runs too, not only once it has gone: a v1 hierarchy the
	// manager mounted would show in every process's /proc/PID/cgroup,
	// failing other tests' HostUntouched, and vanish when it ends.
	if now, _ := os.ReadFile("/proc/1/cgroup"); string(now) != string(pid1Cgroups) {
		t.Errorf("/proc/1/cgroup changed when the system manager booted:\nbefore:\n%s\nafter:\n%s", pid1Cgroups, now)
	}
	t.Logf("system manager booted in %v (PID %d, %s)", s.StartupTime.Round(time.Millisecond), s.PID(), s.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			if l := s.ManagerLog(40); l != "" {
				t.Logf("the system manager's log, last lines:\n%s", l)
			}
		}
		begin := time.Now()
		if err := s.Close(); err != nil {
			t.Errorf("closing the system sandbox: %v", err)
		}
		t.Logf("system sandbox closed in %v", time.Since(begin).Round(time.Millisecond))
	})
	return s
}

// SystemSystemctl runs `systemctl --system ARGS...` in s's namespaces
// within a minute and returns its output; a failure fails t with the output.
func SystemSystemctl(t testing.TB, s *sandbox.System, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Systemctl(ctx, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl --system %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// SystemProperty is one property of unit on s's manager (systemctl show
// -p NAME --value), of the manager itself when unit is "".
func SystemProperty(t testing.TB, s *sandbox.System, unit, name string) string {
	t.Helper()
	args := []string{"show", "-p", name, "--value"}
	if unit != "" {
		args = append(args, unit)
	}
	return strings.TrimSpace(SystemSystemctl(t, s, args...))
}

// cgroupRootEntries lists the entries of the host's /sys/fs/cgroup, with
// their types: a manager that shared it made folders and symlinks there.
func cgroupRootEntries() string {
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, e := range ents {
		out = append(out, e.Name()+":"+e.Type().String())
	}
	return strings.Join(out, " ")
}

// releaseAgent is the release agent of the name=systemd hierarchy, "" when
// there is none (a unified host).
func releaseAgent() string {
	b, _ := os.ReadFile("/sys/fs/cgroup/systemd/release_agent")
	return strings.TrimSpace(string(b))
}
