package sandboxtest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/socktui/socktui/sandbox"
)

// HostUntouched records the host's state that a sandbox must never change —
// the cgroups of PID 1 and of this process, and the mount tables of both
// (/proc/1/mountinfo, /proc/self/mountinfo) — and fails t at its end, in a
// cleanup that runs after those registered later (a sandbox's Close), unless
// they are the same. Mounts that rootful Podman run by other processes makes
// in the host's namespace while the test runs (container storage and network
// namespaces, see ignoredMount) are left out of the comparison.
func HostUntouched(t testing.TB) {
	t.Helper()
	before := hostState(t)
	t.Cleanup(func() {
		after := hostState(t)
		for _, k := range []string{"/proc/1/cgroup", "/proc/self/cgroup"} {
			if moved := cgroupMoves(before[k], after[k]); len(moved) > 0 {
				t.Errorf("%s changed during the test: %s\nbefore:\n%s\nafter:\n%s",
					k, strings.Join(moved, "; "), before[k], after[k])
			}
		}
		for _, k := range []string{"/proc/1/mountinfo", "/proc/self/mountinfo"} {
			if added, removed := lineDiff(before[k], after[k]); len(added)+len(removed) > 0 {
				t.Errorf("the host's mount table (%s) changed during the test:\nadded:\n%s\nremoved:\n%s",
					k, strings.Join(added, "\n"), strings.Join(removed, "\n"))
			}
		}
	})
}

// cgroupMoves compares two readings of a /proc/PID/cgroup file and
// names each hierarchy, present in both, whose cgroup differs. A v1
// hierarchy that exists in only one reading is no move: the kernel lists
// a hierarchy only while it is mounted somewhere, and a system manager
// in a sandbox mounts the controllers the host left unmounted
// (net_cls, perf_event, hugetlb here) in its own namespace, so they
// appear and vanish with it while PID 1 stays where it was.
func cgroupMoves(before, after string) []string {
	parse := func(s string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			// ID:CONTROLLERS:PATH; the ID may change, the controllers not.
			if _, rest, ok := strings.Cut(line, ":"); ok {
				if ctl, path, ok := strings.Cut(rest, ":"); ok {
					m[ctl] = path
				}
			}
		}
		return m
	}
	b, a := parse(before), parse(after)
	var moved []string
	for ctl, was := range b {
		if now, ok := a[ctl]; ok && now != was {
			name := ctl
			if name == "" {
				name = "unified"
			}
			moved = append(moved, fmt.Sprintf("%s: %s -> %s", name, was, now))
		}
	}
	slices.Sort(moved)
	return moved
}

func hostState(t testing.TB) map[string]string {
	t.Helper()
	st := map[string]string{}
	for _, k := range []string{"/proc/1/cgroup", "/proc/self/cgroup"} {
		b, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		st[k] = string(b)
	}
	for _, k := range []string{"/proc/1/mountinfo", "/proc/self/mountinfo"} {
		b, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if m, ok := mountOf(line); ok && !ignoredMount(m) {
				lines = append(lines, m.String())
			}
		}
		slices.Sort(lines)
		st[k] = strings.Join(lines, "\n")
	}
	return st
}

// mount is one line of mountinfo without its IDs.
type mount struct{ root, point, opts, fstype, source, super string }

func (m mount) String() string {
	return fmt.Sprintf("%s on %s type %s (%s; %s; root %s)", m.source, m.point, m.fstype, m.opts, m.super, m.root)
}

func mountOf(line string) (mount, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	f, g := strings.Fields(pre), strings.Fields(post)
	if !ok || len(f) < 6 || len(g) < 3 {
		return mount{}, false
	}
	return mount{root: f[3], point: f[4], opts: f[5], fstype: g[0], source: g[1], super: g[2]}, true
}

// ignoredMount reports mounts that rootful Podman, run by a test's process
// outside any sandbox, makes and removes in the host's namespace while
// other tests run: container storage, its run folder, network namespaces.
func ignoredMount(m mount) bool {
	for _, p := range []string{"/var/lib/containers/", "/run/containers/", "/run/netns/", "/run/user/0/netns/"} {
		if strings.HasPrefix(m.point+"/", p) {
			return true
		}
	}
	return false
}

func lineDiff(before, after string) (added, removed []string) {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	for _, l := range a {
		if !slices.Contains(b, l) {
			added = append(added, l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			removed = append(removed, l)
		}
	}
	return added, removed
}

// UserGone fails t unless the rootless sandbox's user u is gone: no entry in
// the user and group databases (getent), none in /etc/subuid and
// /etc/subgid, no home folder, no process running as it.
func UserGone(t testing.TB, u *sandbox.User, home string) {
	t.Helper()
	if u == nil {
		t.Errorf("the rootless sandbox has no user")
		return
	}
	for _, db := range []string{"passwd", "group"} {
		if out, err := exec.Command("getent", db, u.Name).Output(); err == nil || len(out) > 0 {
			t.Errorf("getent %s %s still finds %q after Close", db, u.Name, bytes.TrimSpace(out))
		}
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("reading %s: %v", f, err)
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, u.Name+":") {
				t.Errorf("%s still holds %q after Close", f, line)
			}
		}
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Errorf("the user's home %s remains after Close (%v)", home, err)
	}
	if out, _ := exec.Command("getent", "passwd", fmt.Sprint(u.UID)).Output(); len(out) > 0 {
		return // the UID is already another's (a sandbox started since)
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var state, uid string
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "State:" {
				state = f[1]
			} else if len(f) > 1 && f[0] == "Uid:" {
				uid = f[1]
			}
		}
		if uid == fmt.Sprint(u.UID) && state != "Z" && state != "X" { // not dead, waiting to be reaped
			t.Errorf("process %s still runs as %s (UID %d) after Close", e.Name(), u.Name, u.UID)
		}
	}
}

// chownTree gives dir and everything below it to u.
func chownTree(dir string, u *sandbox.User) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, u.UID, u.GID)
	})
}
