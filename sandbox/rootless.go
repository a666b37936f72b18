package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Rootless mode (Options.Rootless): the manager runs as a throwaway
// unprivileged user made for the sandbox, as on a normal user's machine with
// rootless Podman, the setting of Podman's socket activation tutorial.
// Measured here (Debian 12, systemd 252, Podman 4.3.1, a hybrid cgroup host):
//
//   - The user is made with useradd, which gives it /etc/subuid and
//     /etc/subgid ranges (65536 IDs) for rootless Podman's user namespace
//     (newuidmap, Debian's uidmap). Its HOME is the sandbox's Home; its
//     name (socktui-sbx-HEX) is recorded in the sandbox folder before
//     useradd runs, so that Close and the stale reaper remove it with its
//     files. It is in the systemd-journal group when there is one, so that
//     it reads the sandbox's journal as the first user of a Debian machine
//     does.
//   - Its manager's cgroup folders (user@UID.service, see cgroupPlan) are
//     chowned to it, as systemd delegates user@UID.service to a user; the
//     sandbox's slice above them, and journald's folder, stay root's.
//   - The namespace's shell (startScript) runs as root up to its last line:
//     it mounts /run/systemd, starts the sandbox's journald as root (a
//     journald of the user's own could not read the cgroups and
//     credentials of other processes), and execs managerWrapper as its
//     systemd. The wrapper gives the namespace a /dev/net/tun the user may
//     open (rootless Podman's slirp4netns needs it; the host's is 0600 and
//     is never changed: the namespace gets a tmpfs on /dev/net with a 0666
//     node of its own), then drops to the user with setpriv and execs
//     systemd --user. A credential change clears the parent-death signal,
//     so setpriv sets it again after it.
//   - Rootless Podman keeps its user and mount namespaces alive in a pause
//     process that every later podman joins. Start makes it as a unit of
//     the manager (startPodmanPause), so inside the sandbox's mount
//     namespace and cgroup: a podman a client runs from outside (Command)
//     and one that a unit runs then see the same /dev/net/tun, /run/systemd
//     and journal. (Made from outside, by nsenter, it stayed in the
//     caller's cgroup, which the user's manager may not move it out of.)

// userPrefix names the sandboxes' users; the stale reaper looks for it.
const userPrefix = "socktui-sbx-"

// userFile, in the sandbox folder, holds the name of the sandbox's user.
const userFile = "user"

// wrapperFile, in the sandbox folder, is managerWrapper.
const wrapperFile = "manager-as-user"

// User is the unprivileged user a rootless sandbox's manager runs as.
type User struct {
	Name     string
	UID, GID int
	// Groups are the user's supplementary groups (from /etc/group).
	Groups []int
}

// credential is u as an exec credential: what setpriv --reuid --regid
// --init-groups sets.
func (u *User) credential() *syscall.Credential {
	c := &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}
	for _, g := range u.Groups {
		c.Groups = append(c.Groups, uint32(g))
	}
	return c
}

// rootlessPreflight checks for the commands rootless mode runs.
func rootlessPreflight() error {
	for _, c := range []struct{ cmd, pkg string }{
		{"useradd", "passwd"}, {"userdel", "passwd"}, {"setpriv", "util-linux"},
		{"newuidmap", "uidmap"}, {"newgidmap", "uidmap"},
	} {
		if _, err := exec.LookPath(c.cmd); err != nil {
			return fmt.Errorf("%w: a rootless sandbox needs %s (apt-get install %s)", ErrUnavailable, c.cmd, c.pkg)
		}
	}
	return nil
}

// usersLock serializes the sandboxes' useradd and userdel across processes:
// useradd fails, rather than waits, when another holds /etc/passwd's lock.
func usersLock() (unlock func(), err error) {
	dir := "/run/lock"
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = os.TempDir()
	}
	f, err := os.OpenFile(filepath.Join(dir, "socktui-sandbox-users.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// shadowTool runs useradd or userdel under usersLock, retrying while
// another program holds the password or group file's lock (exit 1 or 10).
func shadowTool(name string, args ...string) error {
	unlock, err := usersLock()
	if err != nil {
		return fmt.Errorf("locking the user database: %w", err)
	}
	defer unlock()
	for attempt := 0; ; attempt++ {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		var ee *exec.ExitError
		if attempt < 20 && errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 10) &&
			bytes.Contains(out, []byte("lock")) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// reachable checks that every folder above dir lets others through (x for
// others), so that the sandbox's user reaches its HOME below dir.
func reachable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the sandbox's user cannot reach its home below %s (mode %v): "+
				"give the sandbox a TempDir others may enter", d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// createUser makes the sandbox's user with home as its HOME (which exists)
// and records its name in dir first.
func createUser(dir, home string) (*User, error) {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := userPrefix + hex.EncodeToString(suffix)
	if err := os.WriteFile(filepath.Join(dir, userFile), []byte(name+"\n"), 0o644); err != nil {
		return nil, err
	}
	args := []string{"--home-dir", home, "--no-create-home", "--shell", "/bin/sh",
		"--comment", "socktui sandbox " + dir}
	if _, err := user.LookupGroup("systemd-journal"); err == nil {
		args = append(args, "--groups", "systemd-journal")
	}
	if err := shadowTool("useradd", append(args, name)...); err != nil {
		return nil, err
	}
	u, ok := userOf(dir)
	if !ok {
		return nil, fmt.Errorf("user %s is not in the user database after useradd", name)
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if _, _, ok := subIDs(f, name); !ok {
			return nil, fmt.Errorf("useradd gave %s no range in %s (rootless Podman needs one)", name, f)
		}
	}
	return u, nil
}

// userOf is the user recorded in the sandbox folder dir, when it exists and
// its HOME is dir's home folder (never another user a file names).
func userOf(dir string) (*User, bool) {
	b, err := os.ReadFile(filepath.Join(dir, userFile))
	if err != nil {
		return nil, false
	}
	name := strings.TrimSpace(string(b))
	if !strings.HasPrefix(name, userPrefix) {
		return nil, false
	}
	pw, err := user.Lookup(name)
	if err != nil || filepath.Clean(pw.HomeDir) != filepath.Join(dir, "home") {
		return nil, false
	}
	u := &User{Name: name}
	u.UID, _ = strconv.Atoi(pw.Uid)
	u.GID, _ = strconv.Atoi(pw.Gid)
	if u.UID <= 0 {
		return nil, false
	}
	gids, _ := pw.GroupIds()
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			u.Groups = append(u.Groups, n)
		}
	}
	return u, true
}

// subIDs finds name's range in /etc/subuid or /etc/subgid (file).
func subIDs(file, name string) (start, count int, ok bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) == 3 && p[0] == name {
			s, err1 := strconv.Atoi(p[1])
			c, err2 := strconv.Atoi(p[2])
			if err1 == nil && err2 == nil && c > 0 {
				return s, c, true
			}
		}
	}
	return 0, 0, false
}

// userUIDs reports whether a process's real UID belongs to u: its own, or
// one of its subordinate IDs (the containers' users).
func userUIDs(u *User) func(uid int) bool {
	start, count, ok := subIDs("/etc/subuid", u.Name)
	return func(uid int) bool {
		return uid == u.UID || (ok && uid >= start && uid < start+count)
	}
}

// realUID reads a process's real UID from /proc/PID/status.
func realUID(pid string) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, err := strconv.Atoi(f[0])
				return n, err == nil
			}
		}
	}
	return 0, false
}

// removeUser deletes the sandbox's user (dir's) once none of its processes
// is left; nothing when dir records none. Its files are in dir, which the
// caller removes.
func removeUser(dir string) error {
	u, ok := userOf(dir)
	if !ok {
		return nil
	}
	return shadowTool("userdel", u.Name)
}

// reapStaleUsers removes the sandboxes' users whose sandbox folder is gone
// (a process killed between removing the folder and the user, or a folder
// removed by hand), after killing their processes. Best effort.
func reapStaleUsers() {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || !strings.HasPrefix(f[0], userPrefix) || filepath.Base(f[5]) != "home" {
			continue
		}
		dir := filepath.Dir(f[5])
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		uid, err := strconv.Atoi(f[2])
		if err != nil || uid <= 0 {
			continue
		}
		owned := userUIDs(&User{Name: f[0], UID: uid})
		for range 3 {
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				if n, ok := realUID(e.Name()); ok && owned(n) {
					pid, _ := strconv.Atoi(e.Name())
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = shadowTool("userdel", f[0])
	}
}

// chown gives path and everything below it to u.
func (u *User) chown(path string) error {
	return filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, u.UID, u.GID)
	})
}

// delegate chowns the manager's cgroup folders, and the files in them, to
// u, so that its manager may make its units' cgroups below them and move
// processes there. The sandbox's slice and journald's folder stay root's.
func (p cgroupPlan) delegate(u *User) error {
	for _, f := range p {
		if err := u.chown(f.manager()); err != nil {
			return fmt.Errorf("delegating cgroup %s: %w", f.manager(), err)
		}
	}
	return nil
}

// managerWrapper is the script the namespace's shell execs as its systemd
// in rootless mode (see the top of this file): `WRAPPER --user`.
func managerWrapper(systemd string, u *User) string {
	return fmt.Sprintf(`#!/bin/sh
# socktui's rootless sandbox: root in the sandbox's mount namespace until the
# exec, then the manager of user %[1]s.
# Rootless Podman wants / shared (else it warns on every run); the
# namespace's mounts are private to it already, so this reaches no host mount.
mount --make-rshared / || echo "sandbox: / stays a private mount" >&2
if [ -d /dev/net ]; then
	mount -t tmpfs -o mode=0755,nosuid,noexec tmpfs /dev/net &&
	mknod -m 0666 /dev/net/tun c 10 200 ||
	echo "sandbox: no /dev/net/tun the user may open: rootless networking (slirp4netns) will fail" >&2
fi
exec setpriv --reuid=%[2]d --regid=%[3]d --init-groups --pdeathsig=TERM -- %[4]s "$@"
`, u.Name, u.UID, u.GID, shellQuote(systemd))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeWrapper writes managerWrapper into the sandbox folder and returns its
// path.
func writeWrapper(dir, systemd string, u *User) (string, error) {
	p := filepath.Join(dir, wrapperFile)
	return p, os.WriteFile(p, []byte(managerWrapper(systemd, u)), 0o755)
}

// startPodmanPause makes rootless Podman's pause process inside the
// sandbox's mount namespace and cgroup (see the top of this file), when
// Podman is installed: `podman unshare true` as a transient service of the
// manager, whose units run in its namespace. Podman moves the pause process
// into a scope of its own (podman-pause-*.scope) over the session bus, so
// that it outlives the service; the manager stops it on exit. A failure is
// only noted in the manager's log: bare units work without it.
func (s *Sandbox) startPodmanPause(ctx context.Context) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// systemd-run --wait, and Podman's move to a scope, need the session
	// bus, whose socket (dbus.socket, from dbus-user-session) the manager
	// opens during its start-up jobs, after its private socket.
	note := func(format string, args ...any) {
		if f, err := os.OpenFile(filepath.Join(s.Dir, "manager.log"), os.O_APPEND|os.O_WRONLY, 0); err == nil {
			fmt.Fprintf(f, "sandbox: rootless Podman's pause process: "+format+"\n", args...)
			f.Close()
		}
	}
	bus := filepath.Join(s.RuntimeDir, "bus")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if fi, err := os.Stat(bus); err == nil && fi.Mode()&fs.ModeSocket != 0 {
			break
		}
		if time.Now().After(deadline) {
			note("no session bus at %s after 5 s (apt-get install dbus-user-session)", bus)
			return
		}
	}
	cmd := s.Command(ctx, "systemd-run", "--user", "--quiet", "--wait", "--collect",
		"--unit", "socktui-podman-pause", "--", podman, "unshare", "true")
	if out, err := cmd.CombinedOutput(); err != nil {
		note("podman unshare as a unit: %v: %s", err, out)
	}
}

// AsUser returns argv prefixed so that it runs as the sandbox's user
// (`setpriv --reuid=UID --regid=GID --init-groups --`), for a command line
// run by another program such as tmux; argv itself for a root sandbox.
// Command does the same for a process this one starts.
func (s *Sandbox) AsUser(argv ...string) []string {
	if s.User == nil {
		return argv
	}
	return append([]string{"setpriv", "--reuid=" + strconv.Itoa(s.User.UID),
		"--regid=" + strconv.Itoa(s.User.GID), "--init-groups", "--"}, argv...)
}
