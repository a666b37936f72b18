package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A system sandbox is this host's systemd booted as PID 1 of a PID, mount
// and UTS namespace of its own, in container mode (container=socktui), with
// a private /run, /dev, /sys/fs/cgroup and hostname, a read-only /etc, /sys
// and /proc/sys, and a unit search path of its own folder only: a real
// system manager for `socktui --system`, on a machine where PID 1 is not
// systemd. Measured here (systemd 252, hybrid cgroups, kernel 6.18): it
// boots to "running", with its name on its bus, in 0.2-0.3 s, and Close
// takes about 0.1 s.
//
// Each point below guards against a hazard that was checked by hand (the
// cgroup tmpfs and the extra hierarchies were hit):
//   - PID: systemd-shutdown's kill(-1, SIGTERM) and its reboot() reach only
//     the namespace (reboot() in a child PID namespace ends its init); the
//     start script refuses to exec systemd unless it is PID 1.
//   - Mount, private from the first command: every mount systemd makes stays
//     inside. The host's cgroup tmpfs is never shared: systemd remounts
//     /sys/fs/cgroup read-only (a superblock remount, so the host's too, seen)
//     and makes folders and symlinks in it; it gets a tmpfs of its own with
//     binds of the host's hierarchies in it.
//   - /proc/cgroups is a copy that marks the controllers with no mounted
//     hierarchy disabled: systemd would mount them (net_cls, perf_event,
//     hugetlb here), which adds hierarchies the whole machine sees in
//     /proc/*/cgroup while it runs (seen).
//   - /sys (but for the cgroup hierarchies), /proc/sys and /etc are
//     read-only: PID 1 raises host-wide sysctls, and enabling a unit writes
//     to /etc/systemd/system. /dev is a tmpfs with binds of the harmless
//     devices; /dev/console and /dev/kmsg are the sandbox's log file.
//   - UTS: the hostname systemd sets (from /etc/hostname) is the
//     namespace's.
//   - SYSTEMD_UNIT_PATH has no trailing colon, and the generator paths are an
//     empty folder: none of sysinit.target's units (tmpfiles, udev,
//     remount-fs, journald) or the host's generated units can load.
//
// The network namespace is the host's, so the sandbox's sockets are on the
// host's loopback (probes reach them as on a real host; PID 1 only brings
// lo up, which it already is).
const systemDirPrefix = dirPrefix + "system-"

// SystemTarget is the unit a system sandbox boots into. It pulls in
// dbus.socket; a drop-in in SystemOptions.Units
// (SystemTarget+".d/NAME.conf" with Wants=) adds a test's units to the
// boot, or a test starts them after it.
const SystemTarget = "socktui-system.target"

// systemUnits are the units every system sandbox has: its boot target, the
// slice the manager puts services in, the system bus, socket-activated as
// on Debian, so that an unprivileged caller reaches the manager through
// dbus-daemon (the private socket is root's) and systemd's polkit check,
// and empty stand-ins (stubTargets) for the targets that units with
// default dependencies need, a transient socket's for one.
var systemUnits = map[string]string{
	SystemTarget: `[Unit]
Description=socktui's system sandbox
DefaultDependencies=no
Wants=dbus.socket
`,
	"system.slice": `[Unit]
Description=System Slice
DefaultDependencies=no
`,
	"dbus.socket": `[Unit]
Description=D-Bus System Message Bus Socket
DefaultDependencies=no
[Socket]
ListenStream=/run/dbus/system_bus_socket
`,
	"dbus.service": `[Unit]
Description=D-Bus System Message Bus
DefaultDependencies=no
Requires=dbus.socket
[Service]
ExecStart=/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
`,
}

// stubTargets are the targets default dependencies name (sysinit.target,
// basic.target and the like), each empty: their real versions pull in
// tmpfiles, udev and the rest of a boot, which would touch the host.
var stubTargets = []string{"sysinit.target", "basic.target", "sockets.target", "paths.target",
	"timers.target", "slices.target", "shutdown.target", "network.target", "multi-user.target"}

// SystemOptions tune StartSystem. The zero value is ready to use.
type SystemOptions struct {
	// ReadyTimeout bounds the wait for the manager to boot and own its
	// name on the system bus; 30 s when zero.
	ReadyTimeout time.Duration
	// TempDir is where the sandbox folder is made; os.TempDir() when empty.
	// It must stay visible in the namespace (it is not hidden: the
	// namespace's /tmp is the host's).
	TempDir string
	// SystemdPath is the systemd binary (see Options.SystemdPath).
	SystemdPath string
	// Units are more unit files (name -> contents) put in the unit folder
	// before boot; a unit should say DefaultDependencies=no, as nothing of
	// sysinit.target exists. Units wanted by SystemTarget (a drop-in
	// socktui-system.target.d/*.conf with Wants=) start at boot.
	Units map[string]string
}

// System is a running system sandbox. Its methods are safe for concurrent
// use.
type System struct {
	// Dir is the temporary folder that holds everything below.
	Dir string
	// UnitDir is the manager's only unit folder (SYSTEMD_UNIT_PATH), at
	// the same path inside the namespace as outside.
	UnitDir string
	// RunDir is the namespace's /run, seen from the host.
	RunDir string
	// StartupTime is how long StartSystem took from exec to a manager
	// that has booted and owns its name on the bus.
	StartupTime time.Duration
	// Cgroups are the manager's cgroup folders, one below the root of
	// every mounted hierarchy; its units run in <folder>/system.slice.
	Cgroups []string

	manager
}

// SystemAvailable reports whether this process can start a system sandbox,
// with an error wrapping ErrUnavailable that says why not.
func SystemAvailable() error {
	_, err := systemPreflight(SystemOptions{})
	return err
}

func systemPreflight(opts SystemOptions) (string, error) {
	systemd, err := preflight(Options{SystemdPath: opts.SystemdPath})
	if err != nil {
		return "", err
	}
	for cmd, pkg := range map[string]string{"dbus-daemon": "dbus", "nsenter": "util-linux", "setpriv": "util-linux", "socat": "socat"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return "", fmt.Errorf("%w: a system sandbox needs %s (apt-get install %s)", ErrUnavailable, cmd, pkg)
		}
	}
	if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
		return "", fmt.Errorf("%w: no PID namespaces here (%v)", ErrUnavailable, err)
	}
	if b, err := os.ReadFile("/etc/machine-id"); err != nil || len(bytes.TrimSpace(b)) != 32 {
		// Without one, systemd boots as a first boot and applies presets.
		return "", fmt.Errorf("%w: /etc/machine-id is missing or empty (run systemd-machine-id-setup)", ErrUnavailable)
	}
	return systemd, nil
}

// StartSystem boots a system sandbox and returns once its manager has
// finished booting (SystemState running or degraded) and owns
// org.freedesktop.systemd1 on its system bus. The manager is SIGKILLed if
// the calling process dies (killing PID 1 ends its namespace); Close stops
// it and removes everything. A sandbox left behind by a killed process is
// reaped by the next Start or StartSystem (ReapStale). ctx bounds only the
// start.
func StartSystem(ctx context.Context, opts SystemOptions) (*System, error) {
	systemd, err := systemPreflight(opts)
	if err != nil {
		return nil, err
	}
	dir, err := newSandboxDir(opts.TempDir, systemDirPrefix)
	if err != nil {
		return nil, err
	}
	s := &System{
		Dir:     dir,
		UnitDir: filepath.Join(dir, "units"),
		RunDir:  filepath.Join(dir, "run"),
	}
	if err := s.layout(opts.Units); err != nil {
		_ = reap(dir)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	plan, err := planSystemCgroups(dir)
	if err != nil {
		_ = reap(dir)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	for _, f := range plan {
		s.Cgroups = append(s.Cgroups, f.path)
	}
	var hierarchies []string
	for _, f := range plan {
		hierarchies = append(hierarchies, f.hierarchy.path)
	}
	cmd := exec.Command("/bin/sh", "-c", systemScript, dir, systemd, strings.Join(hierarchies, " "))
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", MarkerEnv + "=" + dir}
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL,
	}
	begin := time.Now()
	goAhead, err := s.start(cmd, dir)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sandbox: starting the system manager: %w", err)
	}
	defer goAhead.Close()
	if err := plan.joinSystem(cmd.Process.Pid); err != nil {
		s.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if err := s.waitReady(ctx, goAhead, opts.ReadyTimeout); err != nil {
		log := s.logTail()
		s.Close()
		return nil, fmt.Errorf("sandbox: %w%s", err, log)
	}
	s.StartupTime = time.Since(begin)
	return s, nil
}

// systemScript is the namespace's shell: `sh -c systemScript DIR SYSTEMD
// HIERARCHIES`. It waits for "go" on fd 3 (sent once this process
// has moved it into its cgroups), checks that it is PID 1 of its namespace,
// makes the mounts described at systemDirPrefix, and becomes systemd.
const systemScript = `read -r go <&3 && [ "$go" = go ] && exec 3<&- || exit 1
set -e
dir=$0 systemd=$1 hierarchies=$2
[ "$$" = 1 ] || { echo "not PID 1 of a PID namespace: refusing to boot systemd" >&2; exit 1; }
mount --make-rprivate /
mount -t tmpfs -o mode=0755,nosuid,nodev,noexec cgroup "$dir/cg"
for h in $hierarchies; do
	n=${h#/sys/fs/cgroup/}
	mkdir -p "$dir/cg/$n"
	mount --bind "$h" "$dir/cg/$n"
done
mount --move "$dir/cg" /sys/fs/cgroup
mount --bind /sys /sys
mount -o remount,bind,ro /sys
mount -t proc proc /proc
mount --bind "$dir/proc-cgroups" /proc/cgroups
for p in /proc/sys /proc/sysrq-trigger /proc/cgroups; do
	[ -e "$p" ] || continue
	mount --bind "$p" "$p"
	mount -o remount,bind,ro "$p"
done
mount -t tmpfs -o mode=0755,nosuid dev "$dir/dev"
for n in null zero full random urandom tty; do
	touch "$dir/dev/$n"
	mount --bind "/dev/$n" "$dir/dev/$n"
done
for n in console kmsg; do
	touch "$dir/dev/$n"
	mount --bind "$dir/manager.log" "$dir/dev/$n"
done
mkdir "$dir/dev/pts" "$dir/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$dir/dev/pts"
ln -s pts/ptmx "$dir/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$dir/dev/shm"
ln -s /proc/self/fd "$dir/dev/fd"
mount --move "$dir/dev" /dev
mount --bind "$dir/run" /run
mount --rbind /etc /etc
mount -o remount,bind,ro /etc
exec /usr/bin/env -i container=socktui SYSTEMD_UNIT_PATH="$dir/units" \
	SYSTEMD_GENERATOR_PATH="$dir/none" SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$dir/none" \
	SOCKTUI_SANDBOX="$dir" "$systemd" --unit=` + SystemTarget + ` --log-target=kmsg --show-status=no </dev/null`

func (s *System) layout(extra map[string]string) error {
	for _, d := range []string{s.UnitDir, s.RunDir, filepath.Join(s.Dir, "none"),
		filepath.Join(s.Dir, "cg"), filepath.Join(s.Dir, "dev")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// RunDir is the namespace's /run: an unprivileged caller there must
	// reach /run/dbus, whatever the umask.
	if err := os.Chmod(s.RunDir, 0o755); err != nil {
		return err
	}
	files := map[string]string{}
	for _, name := range stubTargets {
		files[name] = "[Unit]\nDescription=socktui's empty " + name + "\nDefaultDependencies=no\n"
	}
	for name, body := range systemUnits {
		files[name] = body
	}
	for name, body := range extra {
		files[name] = body
	}
	for name, body := range files {
		p := filepath.Join(s.UnitDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	cg, err := maskedProcCgroups()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "proc-cgroups"), cg, 0o644); err != nil {
		return err
	}
	return os.WriteFile(s.logPath(), nil, 0o644)
}

// maskedProcCgroups is /proc/cgroups with the controllers that have no
// mounted hierarchy here marked disabled, for the namespace's /proc/cgroups
// (see systemDirPrefix).
func maskedProcCgroups() ([]byte, error) {
	b, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, err
	}
	mounted, err := mountedControllers()
	if err != nil {
		return nil, err
	}
	return maskProcCgroups(b, mounted), nil
}

// maskProcCgroups rewrites the /proc/cgroups table procCgroups ("#subsys_name
// hierarchy num_cgroups enabled" and a line per controller) with enabled 0
// for every controller not in mounted. Other lines pass unchanged.
func maskProcCgroups(procCgroups []byte, mounted map[string]bool) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(string(procCgroups)), "\n") {
		if f := strings.Fields(line); len(f) == 4 && !strings.HasPrefix(f[0], "#") {
			if !mounted[f[0]] {
				f[3] = "0"
			}
			line = strings.Join(f, "\t")
		}
		out.WriteString(line + "\n")
	}
	return out.Bytes()
}

// mountedControllers are the v1 controllers of the cgroup hierarchies
// mounted in this mount namespace.
func mountedControllers() (map[string]bool, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(mi), "\n") {
		_, post, ok := strings.Cut(line, " - ")
		g := strings.Fields(post)
		if !ok || len(g) < 3 || g[0] != "cgroup" {
			continue
		}
		for _, o := range strings.Split(g[2], ",") {
			out[o] = true
		}
	}
	return out, nil
}

// planSystemCgroups names the sandbox's cgroup, one folder at the root of
// every mounted hierarchy, after dir plus a random suffix (never reused),
// and records the folders in dir before any exists (see planCgroups).
func planSystemCgroups(dir string) (cgroupPlan, error) {
	return newCgroupPlan(dir, "", 0, func(h hierarchy) error {
		if !strings.HasPrefix(h.path, "/sys/fs/cgroup/") || strings.Contains(strings.TrimPrefix(h.path, "/sys/fs/cgroup/"), "/") {
			return fmt.Errorf("%w: a system sandbox needs every cgroup hierarchy mounted at /sys/fs/cgroup/NAME (found %s)",
				ErrUnavailable, h.path)
		}
		return nil
	})
}

// joinSystem makes the folders and moves pid into them. systemd, as PID 1
// of a container, takes the folder it starts in as its root and moves
// itself into init.scope below it.
func (p cgroupPlan) joinSystem(pid int) error {
	for _, f := range p {
		if err := f.make(f.path, false); err != nil {
			return fmt.Errorf("making the system manager's cgroup %s: %w", f.path, err)
		}
		if err := os.WriteFile(filepath.Join(f.path, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("moving the system manager into its cgroup %s: %w", f.path, err)
		}
	}
	return nil
}

func (s *System) logPath() string { return filepath.Join(s.Dir, managerLog) }

// ManagerLog returns the last n lines of what the manager and the
// namespace's shell wrote (systemd logs to its /dev/kmsg, this file).
func (s *System) ManagerLog(n int) string {
	b, _ := os.ReadFile(s.logPath())
	return lastLines(string(b), n)
}

func (s *System) logTail() string { return logTail(s.ManagerLog(30)) }

// waitReady waits until the private socket accepts connections, the boot
// has ended and the manager owns its name on the system bus.
func (s *System) waitReady(ctx context.Context, goAhead *os.File, timeout time.Duration) error {
	return s.manager.waitReady(ctx, goAhead, timeout, "the system manager", "boot", "open "+s.PrivateSocket(), s.ready)
}

func (s *System) ready(ctx context.Context, stage *string) (bool, error) {
	if !socketAccepts(s.PrivateSocket()) {
		return false, nil
	}
	*stage = "finish booting"
	out, err := s.Systemctl(ctx, "show", "-p", "SystemState", "--value").Output()
	st := strings.TrimSpace(string(out))
	if err != nil || (st != "running" && st != "degraded") {
		return false, nil
	}
	*stage = "own org.freedesktop.systemd1 on its system bus"
	out, err = s.Command(ctx, "busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "NameHasOwner", "s", "org.freedesktop.systemd1").Output()
	return err == nil && strings.TrimSpace(string(out)) == "b true", nil
}

// PID is the manager's process ID, as this process sees it (it is 1 in
// its namespace).
func (s *System) PID() int { return s.cmd.Process.Pid }

// PrivateSocket is the path, seen from the host, of the manager's private
// socket (/run/systemd/private inside). The manager refuses connections
// from processes outside its PID namespace on it: it requires the peer's
// PID, which such a peer has none of there (measured: the connection is
// closed at once). Connect through Dial, or run the client with Command.
func (s *System) PrivateSocket() string { return filepath.Join(s.RunDir, "systemd", "private") }

// BusAddress is the D-Bus address, seen from the host, of the sandbox's
// system bus (/run/dbus/system_bus_socket inside). Like PrivateSocket it
// is for clients run with Command or Dial; from outside the PID namespace
// the manager cannot tell a caller's PID, which its checks need.
func (s *System) BusAddress() string {
	return "unix:path=" + filepath.Join(s.RunDir, "dbus", "system_bus_socket")
}

// Command returns name ARGS run in the manager's mount, UTS and PID
// namespaces (nsenter), where /run/systemd/private and
// /run/dbus/system_bus_socket are the manager's at their usual paths, as
// root, with this process's environment less its D-Bus addresses, notify
// socket, inherited sockets and sandbox marker. The arguments go to the
// program as data, never through a shell. Wrap name with AsUser to run it
// as another user.
func (s *System) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	nsArgs := []string{"-t", strconv.Itoa(s.PID()), "-m", "-u", "-p", "--", name}
	cmd := exec.CommandContext(ctx, "nsenter", append(nsArgs, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == MarkerEnv || k == "NOTIFY_SOCKET" || strings.HasPrefix(k, "DBUS_") || strings.HasPrefix(k, "LISTEN_") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = env
	return cmd
}

// Systemctl returns `systemctl --system ARGS...` run with Command.
func (s *System) Systemctl(ctx context.Context, args ...string) *exec.Cmd {
	return s.Command(ctx, "systemctl", append([]string{"--system"}, args...)...)
}

// AsUser returns the command line that runs name ARGS as uid and gid with
// no supplementary groups (setpriv), for Command: an unprivileged caller.
func AsUser(uid, gid int, name string, args ...string) (string, []string) {
	return "setpriv", append([]string{"--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid),
		"--clear-groups", "--", name}, args...)
}

// Dial connects to the unix socket at path as the namespace sees it (for
// example /run/systemd/private) through a relay (socat) run in the
// manager's namespaces with Command, as uid and gid (0, 0: root), and
// returns the relay's stdio as the connection: the manager sees the relay
// as its peer. Closing the connection ends the relay. ctx bounds only the
// start of the relay.
func (s *System) Dial(ctx context.Context, path string, uid, gid int) (io.ReadWriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name, args := "socat", []string{"STDIO", "UNIX-CONNECT:" + path}
	if uid != 0 || gid != 0 {
		name, args = AsUser(uid, gid, name, args...)
	}
	cmd := s.Command(context.Background(), name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sandbox: starting a relay to %s: %w", path, err)
	}
	return &relay{cmd: cmd, r: r, w: w, stderr: &stderr}, nil
}

// relay is a connection through a relay process's stdio.
type relay struct {
	cmd    *exec.Cmd
	r      io.Reader
	w      io.WriteCloser
	stderr *bytes.Buffer
	once   sync.Once
}

func (c *relay) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *relay) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close ends the relay: it closes its stdin, on which socat exits within
// half a second, and waits for it; after two seconds it kills nsenter. The
// relay must be gone before the manager halts: systemd-shutdown waits ten
// seconds for a process of its namespace that is not its child (nsenter's
// child is not) once it has signalled it (measured).
func (c *relay) Close() error {
	c.once.Do(func() {
		c.w.Close()
		done := make(chan struct{})
		go func() { _ = c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	})
	return nil
}

// Close halts the manager (SIGRTMIN+13: an immediate halt, which in a
// container stops every process of the namespace and ends it), SIGKILLs
// it after ten seconds, kills whatever of the sandbox is left by PID, and
// removes its cgroups bottom-up and its folder. It is idempotent; later
// calls return the first call's result.
func (s *System) Close() error {
	return s.closeOnce(s.close)
}

// sigrtmin is glibc's SIGRTMIN, the one systemd's signal numbers count
// from (the kernel's 32 and 33 are glibc's own).
const sigrtmin = 34

func (s *System) close() error {
	s.stop(syscall.Signal(sigrtmin+13), func(p *os.Process) { _ = p.Kill() })
	err := reap(s.Dir)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return err
}
