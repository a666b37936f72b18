package sandbox

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupsFile, in the sandbox folder, lists the sandbox's cgroup folders, one
// a line. It is written before they are made, so that a sandbox torn at any
// point can be reaped.
const cgroupsFile = "cgroups"

// cgroupPlan is the sandbox's cgroup: one folder in every mounted hierarchy
// this process is in (the v1 controllers, the named name=systemd hierarchy
// and the v2 one on a hybrid host; the v2 one alone on a unified host), all
// with the same name, each at the root of its hierarchy as mounted here.
//
// Not under this process's own cgroup: that is often another manager's unit
// (a test run from a sandbox's service, or /init.scope of a manager whose
// root is the hierarchy's root), and a manager migrates everything below its
// unit's folder in the systemd hierarchy into that unit's folder in the v1
// controllers (seen: a sandbox's manager pulled back into /init.scope in
// cpu, memory and pids).
//
// Each folder is named like a slice, socktui-sandbox-NNN-HEX.slice, and holds
// the manager in user@UID.service and the sandbox's journald in
// systemd-journald.service, so that the manager's units run in
// /socktui-sandbox-NNN-HEX.slice/user@UID.service/app.slice/NAME.service.
// journald reads that path as a user manager's unit (cg_path_get_user_unit
// skips the leading *.slice folders, then user@UID.service), so the entries
// of the sandbox's services carry _SYSTEMD_USER_UNIT=NAME.service as on a
// real user session, while every sandbox keeps a cgroup of its own (measured
// 2026-12-02, systemd 252 on a hybrid host: _SYSTEMD_USER_UNIT=NAME.service,
// _SYSTEMD_UNIT=user@0.service, _SYSTEMD_USER_SLICE=app.slice). A folder
// shared by sandboxes, as user.slice/user-0.slice/user@0.service would be,
// lets one manager's stop kill another's units.
type cgroupPlan []cgroupFolder

type cgroupFolder struct {
	hierarchy        // the parent: the hierarchy's root
	path      string // the sandbox's folder below it, NAME.slice
	uid       int    // the manager's user, for user@UID.service
}

// manager and journald name the folders below the sandbox's slice.
func (f cgroupFolder) manager() string {
	return filepath.Join(f.path, fmt.Sprintf("user@%d.service", f.uid))
}
func (f cgroupFolder) journald() string { return filepath.Join(f.path, "systemd-journald.service") }

// planCgroups names the sandbox's cgroup after the sandbox folder dir plus a
// random suffix (never reused, see reap) and records the folders in dir,
// before any exists, so that a sandbox torn at any point can be reaped. uid
// is the user the manager runs as.
func planCgroups(dir string, uid int) (cgroupPlan, error) {
	return newCgroupPlan(dir, ".slice", uid, nil)
}

// newCgroupPlan names a folder at the root of every mounted hierarchy this
// process is in after dir, a random suffix (never reused, see reap) and
// ext, and records the folders in dir before any exists. check, when not
// nil, refuses a hierarchy the sandbox cannot use; uid is the manager's
// user.
func newCgroupPlan(dir, ext string, uid int, check func(hierarchy) error) (cgroupPlan, error) {
	hs, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, errors.New("no mounted cgroup hierarchy found in /proc/self/cgroup and /proc/self/mountinfo")
	}
	if check != nil {
		for _, h := range hs {
			if err := check(h); err != nil {
				return nil, err
			}
		}
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := filepath.Base(dir) + "-" + hex.EncodeToString(suffix) + ext
	var plan cgroupPlan
	var top []string
	for _, h := range hs {
		f := cgroupFolder{hierarchy: h, path: filepath.Join(h.path, name), uid: uid}
		plan = append(plan, f)
		top = append(top, f.path)
	}
	if err := os.WriteFile(filepath.Join(dir, cgroupsFile), []byte(strings.Join(top, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	return plan, nil
}

// managers lists the manager's folders, one per hierarchy.
func (p cgroupPlan) managers() []string {
	var out []string
	for _, f := range p {
		out = append(out, f.manager())
	}
	return out
}

// journaldProcs lists the cgroup.procs files journald writes its PID to.
func (p cgroupPlan) journaldProcs() []string {
	var out []string
	for _, f := range p {
		out = append(out, filepath.Join(f.journald(), "cgroup.procs"))
	}
	return out
}

// join makes the folders and moves pid, the manager, into its folders. A
// folder stays empty only between its mkdir and the write of pid: a manager
// whose root is the hierarchy's root may trim it then, so a folder that
// vanished is made again (it held nothing, so making it again is no reuse).
// The journald folders are made here too; journald joins them itself.
func (p cgroupPlan) join(pid int) error {
	for _, f := range p {
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			again := attempt > 0
			if err = f.make(f.path, again); err == nil {
				if err = f.make(f.journald(), again); err == nil {
					err = f.make(f.manager(), again)
				}
			}
			if err == nil {
				err = os.WriteFile(filepath.Join(f.manager(), "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
			}
			// ENODEV: the folder is being removed under the write.
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENODEV) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("moving the manager into its cgroup %s: %w", f.manager(), err)
		}
	}
	return nil
}

// make makes the folder path (f.path or one below it); again allows it to
// exist already, which on the first try would mean another's cgroup of that
// name. A new v1 cpuset folder starts with no CPUs and no memory nodes, which
// no process may join, so it gets its parent's.
func (f cgroupFolder) make(path string, again bool) error {
	if err := os.Mkdir(path, 0o755); err != nil && !(again && errors.Is(err, fs.ErrExist)) {
		return err
	}
	if !f.v1 {
		return nil
	}
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		if _, err := os.Stat(filepath.Join(path, file)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if _, err := os.Stat(path); err != nil {
					return err // trimmed: make it again
				}
			}
			continue // not the cpuset hierarchy
		}
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), file))
		if err == nil {
			err = os.WriteFile(filepath.Join(path, file), b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("copying %s down: %w", file, err)
		}
	}
	return nil
}

// hierarchy is where one cgroup hierarchy is mounted.
type hierarchy struct {
	path string // for example /sys/fs/cgroup/unified
	v1   bool
}

// ownCgroups finds the mount point of every hierarchy this process is in
// (/proc/self/cgroup) that is mounted here (/proc/self/mountinfo). A
// hierarchy with no mount is skipped: nothing, systemd included, can place
// processes in it.
func ownCgroups() ([]hierarchy, error) {
	type mount struct {
		point string
		opts  map[string]bool // super options: the controllers, name=...
		v2    bool
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mounts []mount
	for _, line := range strings.Split(string(mi), "\n") {
		// ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPER
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		m := mount{point: unescapeMount(f[4]), opts: map[string]bool{}, v2: g[0] == "cgroup2"}
		for _, o := range strings.Split(g[2], ",") {
			m.opts[o] = true
		}
		mounts = append(mounts, m)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	var out []hierarchy
	sc := bufio.NewScanner(bytes.NewReader(cg))
	for sc.Scan() {
		// ID:CONTROLLERS:PATH; v2 is 0::PATH.
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		v2 := f[0] == "0" && f[1] == ""
	mounts:
		for _, m := range mounts {
			if m.v2 != v2 {
				continue
			}
			for _, c := range strings.Split(f[1], ",") {
				if !v2 && !m.opts[c] {
					continue mounts
				}
			}
			out = append(out, hierarchy{path: m.point, v1: !v2})
			break
		}
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// recordedCgroups reads the cgroup folders listed in the sandbox folder dir.
func recordedCgroups(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, cgroupsFile))
	return strings.Fields(string(b))
}

// cgroupProcs lists the processes in folder and all its descendant cgroups
// (the manager's units are below it).
func cgroupProcs(folder string) []int {
	var pids []int
	_ = filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		for _, s := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(s); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// removeCgroup removes folder and the cgroups the manager left below it
// (app.slice and the like, after a manager that was killed), children before
// parents. A cgroup whose last process has just died may report EBUSY for a
// moment; it is retried for up to two seconds.
func removeCgroup(folder string) error {
	var dirs []string
	_ = filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deadline := time.Now().Add(2 * time.Second)
	// WalkDir visits a folder before its children: remove in reverse.
	for i := len(dirs) - 1; i >= 0; i-- {
		for {
			err := syscall.Rmdir(dirs[i])
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				return fmt.Errorf("removing cgroup %s: %w", dirs[i], err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}
