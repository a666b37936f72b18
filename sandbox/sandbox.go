// Package sandbox starts a private systemd user manager ("systemd --user") in
// its own mount namespace, with its own XDG_RUNTIME_DIR and HOME in a
// temporary folder, for `socktui demo` and for tests on hosts that have no
// user session (see the README's "Sandbox" section).
//
// The host is never touched: /run/systemd is a tmpfs inside the namespace,
// every file lives under one temporary folder, the manager runs in a cgroup of
// its own (so its units live under that cgroup, not beside other sandboxes'
// units), and Close stops the manager, every process it started (services,
// conmon, containers) and removes the cgroup and the folder. A sandbox left
// behind by a process that was killed is reaped by the next Start.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ContainersConf is the containers.conf the sandbox hands to Podman through
// CONTAINERS_CONF: runc instead of crun, cgroupfs and file events because no
// system systemd runs, and rlimits within the hard limits of a process that
// lacks CAP_SYS_RESOURCE.
const ContainersConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "journald"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`

// MarkerEnv is set in the manager's environment, so every process it starts
// inherits it; Close and the stale-sandbox reaper find leftovers by it.
const MarkerEnv = "SOCKTUI_SANDBOX"

// dirPrefix names the temporary folders; the reaper looks for it.
const dirPrefix = "socktui-sandbox-"

// ErrUnavailable is wrapped by Start's errors when this host cannot run a
// sandbox at all (not root, no systemd binary), as opposed to a start that
// failed.
var ErrUnavailable = errors.New("sandbox unavailable")

// Options tune Start. The zero value is ready to use.
type Options struct {
	// ReadyTimeout bounds the wait for the manager's private socket;
	// 30 s when zero (well under a second when idle; a machine starting a
	// dozen sandboxes at once on two cores was seen to pass 10 s).
	ReadyTimeout time.Duration
	// TempDir is where the sandbox folder is made; os.TempDir() when empty.
	TempDir string
	// SystemdPath is the systemd binary; looked up in PATH and /lib/systemd
	// when empty.
	SystemdPath string
	// Rootless runs the manager as a new unprivileged user made for the
	// sandbox (with subordinate UID and GID ranges, for rootless Podman),
	// removed by Close; see rootless.go. Start still needs root.
	Rootless bool
	// Stack is the systemd and Podman the manager runs: this host's when
	// empty, or StackTrixie's (systemd 257, Podman 5.4) in a root of its own; see
	// modern.go. Not with Rootless.
	Stack Stack
}

// Sandbox is a running private user manager. Its methods are safe for
// concurrent use.
type Sandbox struct {
	// Dir is the temporary folder that holds everything below.
	Dir string
	// RuntimeDir is the manager's XDG_RUNTIME_DIR.
	RuntimeDir string
	// Home is the manager's HOME.
	Home string
	// ContainersConfPath is the containers.conf file, set as CONTAINERS_CONF.
	ContainersConfPath string
	// StartupTime is how long Start took from exec to a connectable socket.
	StartupTime time.Duration
	// Cgroups are the manager's own cgroup folders, one below the root of
	// every mounted hierarchy this process is in (for example
	// /sys/fs/cgroup/unified/socktui-sandbox-123-9f3a1c2e.slice/user@0.service),
	// all with the same two last names. The manager takes its cgroup as its
	// root, so its units run in <folder>/app.slice/NAME.service; the parent
	// slice, the sandbox's own, also holds its journald (see cgroupPlan).
	Cgroups []string
	// JournalDir is the sandbox's journal, for `journalctl -D`: the
	// journald of the sandbox writes the entries of every unit there (with
	// _SYSTEMD_USER_UNIT, as on a user session). Empty when this host has
	// no systemd-journald. JournalDirIn(RuntimeDir) finds it again.
	JournalDir string
	// User is the unprivileged user the manager runs as in rootless mode
	// (Options.Rootless), nil when it runs as root. It owns RuntimeDir,
	// Home and the manager's cgroups; Command and Systemctl run as it.
	User *User
	// Stack is the stack the manager runs (Options.Stack), and
	// StackVersion its versions in words ("" for StackHost).
	Stack        Stack
	StackVersion string
	// BinDir, in StackTrixie only, holds wrappers that run the stack's
	// own systemctl, podman, quadlet, ... (see Command); Env puts it
	// first in PATH.
	BinDir string

	manager
}

// Available reports whether this process can start a sandbox, with an error
// that says why not and what to do. It does no I/O beyond looking up files.
func Available() error {
	_, err := preflight(Options{})
	return err
}

func preflight(opts Options) (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: a private user manager needs root to create a mount namespace; "+
			"run as root, or log in with a user session so $XDG_RUNTIME_DIR/systemd/private exists", ErrUnavailable)
	}
	if opts.SystemdPath != "" {
		return opts.SystemdPath, nil
	}
	if p, err := exec.LookPath("systemd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/lib/systemd/systemd", "/usr/lib/systemd/systemd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no systemd binary found; install it (Debian: apt-get install systemd dbus-user-session)", ErrUnavailable)
}

// Start starts a private user manager and returns once its private D-Bus
// socket accepts connections. The manager receives SIGTERM if the calling
// process dies, and stops everything it started; Close does the same and
// also removes the sandbox folder. ctx bounds only the start.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	systemd, err := preflight(opts)
	if err != nil {
		return nil, err
	}
	if opts.Rootless {
		if err := rootlessPreflight(); err != nil {
			return nil, err
		}
	}
	stackLower, stackVersion, err := stackRoot(opts.Stack)
	if err == nil && opts.Stack != StackHost && opts.Rootless {
		err = fmt.Errorf("sandbox: the %s stack has no rootless mode", opts.Stack)
	}
	if err != nil {
		return nil, err
	}
	dir, err := newSandboxDir(opts.TempDir, dirPrefix)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		Dir:                dir,
		RuntimeDir:         filepath.Join(dir, "run"),
		Home:               filepath.Join(dir, "home"),
		ContainersConfPath: filepath.Join(dir, "containers.conf"),
		Stack:              opts.Stack,
		StackVersion:       stackVersion,
	}
	if stackLower != "" {
		s.BinDir = filepath.Join(dir, "bin")
		if err := stackLayout(dir); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	if err := s.layout(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	managerUID := os.Geteuid()
	if opts.Rootless {
		// The user must reach RuntimeDir and Home through dir, which
		// stays root's (it holds the records reap trusts).
		err := reachable(dir)
		if err == nil {
			err = os.Chmod(dir, 0o711)
		}
		if err == nil {
			s.User, err = createUser(dir, s.Home)
		}
		if err == nil {
			if err = s.User.chown(s.Home); err == nil {
				err = s.User.chown(s.RuntimeDir)
			}
		}
		if err == nil {
			systemd, err = writeWrapper(dir, systemd, s.User)
		}
		if err != nil {
			_ = reap(dir)
			return nil, fmt.Errorf("sandbox: rootless: %w", err)
		}
		managerUID = s.User.UID
	}
	cgroups, err := planCgroups(dir, managerUID)
	if err != nil {
		_ = reap(dir)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s.Cgroups = cgroups.managers()
	journald := findJournald()
	if stackLower != "" {
		journald = "" // the stack's journal is not set up (yet)
	}
	logDir := filepath.Join(s.RuntimeDir, journalFolder)
	journaldConfPath := filepath.Join(dir, "journald.conf")
	if journald != "" {
		s.JournalDir = filepath.Join(logDir, "journal")
		if err := os.MkdirAll(s.JournalDir, 0o755); err == nil {
			err = os.WriteFile(journaldConfPath, []byte(journaldConf), 0o644)
		}
		if err != nil {
			_ = reap(dir)
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	// The shell runs inside the new mount namespace. It first waits, with
	// no child process, until this process has moved it into the sandbox's
	// cgroups and says "go" on fd 3 (EOF: this process died, give up):
	// systemd takes the cgroup it starts in as its root, so its units land
	// under the sandbox's cgroup instead of at /app.slice, shared with every
	// other sandbox on the machine. The folders are made only then, by
	// cgroups.join, so that they are empty for no longer than a mkdir: a
	// manager whose root is a hierarchy's root trims every empty cgroup of
	// it when it exits (seen: a folder made just before exec vanished).
	// CLONE_INTO_CGROUP (SysProcAttr.CgroupFD) would reach only the v2
	// hierarchy of a hybrid host. Then the shell sets up /run/systemd and
	// the journal and becomes the manager (startScript). Go makes the
	// namespace's mounts private before exec.
	args := []string{"-c", startScript, systemd, journald, logDir, journaldConfPath,
		filepath.Join(dir, journaldPIDFile), journaldScript}
	args = append(args, cgroups.journaldProcs()...)
	if stackLower != "" {
		args = s.stackArgs(stackLower, cgroups)
	}
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = append(s.Env(), MarkerEnv+"="+s.Dir)
	cmd.Dir = s.Home
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS,
		Pdeathsig:    syscall.SIGTERM,
		Setpgid:      true,
	}
	begin := time.Now()
	goAhead, err := s.start(cmd, dir)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sandbox: starting %s: %w", systemd, err)
	}
	defer goAhead.Close()
	if err := cgroups.join(cmd.Process.Pid); err != nil {
		s.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if s.User != nil {
		if err := cgroups.delegate(s.User); err != nil {
			s.Close()
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	if stackLower != "" {
		if err := cgroups.makeTools(); err == nil {
			err = s.writeTools(cgroups)
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}

	if err := s.waitReady(ctx, goAhead, opts.ReadyTimeout); err != nil {
		log := s.logTail()
		s.Close()
		return nil, fmt.Errorf("sandbox: %w%s", err, log)
	}
	s.StartupTime = time.Since(begin)
	if s.User != nil {
		s.startPodmanPause(ctx)
	}
	return s, nil
}

// managerConf is the manager's user.conf: a unit that ignores SIGTERM must
// not hold Close for systemd's default 90 s.
const managerConf = `[Manager]
DefaultTimeoutStopSec=3s
`

func (s *Sandbox) layout() error {
	conf := filepath.Join(s.Home, ".config", "systemd")
	for _, d := range []string{s.RuntimeDir, s.Home, conf} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(conf, "user.conf"), []byte(managerConf), 0o644); err != nil {
		return err
	}
	return os.WriteFile(s.ContainersConfPath, []byte(ContainersConf), 0o644)
}

// waitReady waits until the private socket accepts connections.
func (s *Sandbox) waitReady(ctx context.Context, goAhead *os.File, timeout time.Duration) error {
	return s.manager.waitReady(ctx, goAhead, timeout, "systemd --user", "start", "open "+s.PrivateSocket(),
		func(context.Context, *string) (bool, error) { return socketAccepts(s.PrivateSocket()), nil })
}

// socketAccepts reports whether the unix socket at path accepts a
// connection (which it closes at once).
func socketAccepts(path string) bool {
	c, err := net.Dial("unix", path)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *Sandbox) logTail() string { return logTail(s.ManagerLog(30)) }

// PrivateSocket is the path of the manager's private D-Bus socket, the one
// `systemctl --user` uses.
func (s *Sandbox) PrivateSocket() string {
	return filepath.Join(s.RuntimeDir, "systemd", "private")
}

// ManagerPID is the process ID of the sandbox's systemd manager.
func (s *Sandbox) ManagerPID() int { return s.cmd.Process.Pid }

// BusAddress is the D-Bus address of PrivateSocket.
func (s *Sandbox) BusAddress() string { return "unix:path=" + s.PrivateSocket() }

// Env is the environment under which a client reaches the sandbox's manager
// as its user manager: os.Environ with XDG_RUNTIME_DIR, HOME and
// CONTAINERS_CONF replaced (and, in rootless mode, USER and LOGNAME: the
// sandbox's user), and any session bus address, notify socket, inherited
// sockets and sandbox marker removed. A client of a rootless sandbox also
// needs to run as its user: see Command and AsUser.
func (s *Sandbox) Env() []string {
	set := map[string]string{
		"XDG_RUNTIME_DIR": s.RuntimeDir,
		"HOME":            s.Home,
		"CONTAINERS_CONF": s.ContainersConfPath,
	}
	keys := []string{"XDG_RUNTIME_DIR", "HOME", "CONTAINERS_CONF"}
	if s.User != nil {
		set["USER"], set["LOGNAME"] = s.User.Name, s.User.Name
		keys = append(keys, "USER", "LOGNAME")
	}
	if s.BinDir != "" {
		set["PATH"] = s.BinDir + string(os.PathListSeparator) + os.Getenv("PATH")
		keys = append(keys, "PATH")
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; ok || k == MarkerEnv || k == "DBUS_SESSION_BUS_ADDRESS" ||
			k == "NOTIFY_SOCKET" || strings.HasPrefix(k, "LISTEN_") {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}

// Command returns name ARGS as a client of the sandbox's manager: with Env,
// and in rootless mode run as the sandbox's user (the credentials setpriv
// --reuid --regid --init-groups would set), outside the manager's mount
// namespace as a user's login shell is. In a sandbox of another stack
// (StackTrixie), name is that stack's program, run in the manager's
// namespace and root (see BinDir). The arguments go to the program as
// data, never through a shell.
func (s *Sandbox) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if s.BinDir != "" {
		return s.stackCommand(ctx, name, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = s.Env()
	if s.User != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.User.credential()}
	}
	return cmd
}

// Systemctl returns `systemctl --user ARGS...` set up to talk to this
// sandbox's manager (see Command). The arguments go to systemctl as data,
// never through a shell.
func (s *Sandbox) Systemctl(ctx context.Context, args ...string) *exec.Cmd {
	return s.Command(ctx, "systemctl", append([]string{"--user"}, args...)...)
}

// Close stops the manager (SIGTERM: a user manager then runs exit.target,
// stopping every unit), waits for it, stops the sandbox's journald, kills
// anything of the sandbox still running, and removes the sandbox's cgroups
// and folder (the journal with it). It is idempotent;
// later calls return the first call's result.
func (s *Sandbox) Close() error {
	return s.closeOnce(s.close)
}

func (s *Sandbox) close() error {
	s.stop(syscall.SIGTERM, func(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) })
	s.stopJournald()
	s.stopStack()
	return reap(s.Dir)
}

// ReapStale removes sandboxes under tmp whose owning process is gone (for
// example a test binary that was killed): it kills their leftover processes
// and removes their users and folders, and it removes the users of rootless
// sandboxes whose folder is gone. Errors are ignored: it is best effort.
func ReapStale(tmp string) {
	defer reapStaleUsers()
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			// Being created right now, or a torn folder: leave young ones.
			if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Minute {
				_ = reap(d)
			}
			continue
		}
		var owner int
		fmt.Sscan(string(b), &owner)
		if owner > 0 && syscall.Kill(owner, 0) == nil {
			continue
		}
		_ = reap(d)
	}
}

// reap kills every process that belongs to the sandbox in dir (see
// Processes), by PID, then removes its cgroups bottom-up and dir. The cgroups
// are never killed through cgroup.kill: on this kernel a cgroup once killed
// so SIGKILLs whatever is later spawned into it (and the names are never
// reused anyway). When a cgroup cannot be removed, dir (with its list of
// cgroups) stays for a later ReapStale.
func reap(dir string) error {
	for range 3 {
		pids := Processes(dir)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := Processes(dir); len(left) > 0 {
		return fmt.Errorf("sandbox: processes %v survived SIGKILL", left)
	}
	for _, cg := range recordedCgroups(dir) {
		if err := removeCgroup(cg); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	if err := removeUser(dir); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("sandbox: removing %s: %w", dir, err)
	}
	return nil
}

// Processes lists the live processes of the sandbox whose folder is dir: those
// with MarkerEnv=dir in their environment, those in the sandbox's cgroups
// (while dir still lists them), those of a rootless sandbox's user (its UID
// or one of its subordinate UIDs, while the user exists), and all their
// descendants. Tests use it to assert that Close left nothing behind.
func Processes(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	var marked []int
	marker := []byte(MarkerEnv + "=" + dir + "\x00")
	var owned func(uid int) bool
	if u, ok := userOf(dir); ok {
		owned = userUIDs(u)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			// Fields after the command name, which is in parentheses.
			if i := bytes.LastIndexByte(st, ')'); i > 0 {
				f := strings.Fields(string(st[i+1:]))
				if len(f) > 1 && f[0] != "Z" {
					parent[pid], _ = strconv.Atoi(f[1])
				} else {
					continue // zombie: already dead, only waiting to be reaped
				}
			}
		}
		if owned != nil {
			if uid, ok := realUID(e.Name()); ok && owned(uid) {
				if _, live := parent[pid]; live {
					marked = append(marked, pid)
				}
			}
		}
		if env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ")); err == nil &&
			bytes.Contains(append(env, 0), marker) {
			marked = append(marked, pid)
		}
	}
	for _, cg := range recordedCgroups(dir) {
		for _, pid := range cgroupProcs(cg) {
			if _, live := parent[pid]; live {
				marked = append(marked, pid)
			}
		}
	}
	in := map[int]bool{}
	for _, p := range marked {
		in[p] = true
	}
	// Add descendants until nothing changes (process trees are shallow).
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if !in[pid] && in[pp] {
				in[pid] = true
				changed = true
			}
		}
	}
	out := make([]int, 0, len(in))
	for p := range in {
		out = append(out, p)
	}
	return out
}
