package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Stack is the systemd and Podman a sandbox's manager runs: this host's
// (StackHost, the zero value), or another distribution's, from a root
// filesystem that is the root of the manager's mount namespace.
type Stack string

const (
	// StackHost is this host's systemd and Podman (on the build machines,
	// Debian 12: systemd 252, Podman 4.3).
	StackHost Stack = ""
	// StackTrixie is Debian 13 (trixie): systemd 257 and Podman 5.4 with
	// Quadlet, from the root filesystem `make modern-stack` sets up
	// (scripts/modern-stack.sh, TrixieRoot).
	StackTrixie Stack = "trixie"
)

// String is the stack's name for test names and messages.
func (st Stack) String() string {
	if st == StackHost {
		return "host"
	}
	return string(st)
}

// The trixie stack (measured 2026-12-02 on a Debian 12 host, hybrid
// cgroups, kernel 6.18; environment.md, "A modern stack"):
//
//   - Its root filesystem is unpacked once, by scripts/modern-stack.sh, into
//     TrixieRoot(), which every sandbox shares read-only as the lower layer
//     of an overlay of its own (upper and work folders in the sandbox
//     folder), mounted in the sandbox's mount namespace only. Mounting it
//     costs a few milliseconds; unpacking the 300 MB tree from its 110 MB
//     tarball took about 5 s, and as much disk, per sandbox. The overlay is a mount
//     point of its own, which `podman build` needs of its root.
//   - The namespace's shell (stackScript) mounts a fresh proc, an rbind of
//     /sys (never a cgroup2 mount over ROOT/sys/fs/cgroup: Podman would then
//     make folders in the host's v2 tree), a private tmpfs /dev with the
//     host's harmless nodes bound in, a /dev/net/tun of its own that every
//     user may open (rootless pasta needs it; the host's is 0600 and stays
//     so) and a devpts of its own, a tmpfs /run
//     holding run/systemd/system, and Podman's storage on a folder of the
//     sandbox (an overlay upper layer cannot hold overlay layers), then
//     makes the overlay the namespace's root with pivot_root (not chroot:
//     the kernel refuses a chrooted process a user namespace, so rootless
//     Podman and pasta could not run; seen: "cannot clone: Operation not
//     permitted"), drops the host's root, and execs trixie's systemd
//     --user. The manager logs to
//     /dev/kmsg, a FIFO read into manager.log: with --log-target=console
//     systemd 257 closes stderr and writes to /dev/console. The reader
//     holds the FIFO open for writing too, so that it never reads an end
//     of file: a manager re-executing closes /dev/kmsg, and its new self's
//     open would block for a reader that had gone (seen).
//   - Paths are the same inside and outside: the host's temporary folder
//     (os.TempDir, which holds the sandbox folder, the test binaries, the
//     tests' own folders and Podman build contexts) is bound at its own
//     path in the root, so RuntimeDir, Home, a unit file's ListenStream= or
//     ExecStart= and a socket's path name the same file on both sides, and
//     a client outside (socktui) reaches the manager at PrivateSocket as it
//     does the host stack's.
//   - The stack's own tools (systemctl, podman, quadlet, ...) run through
//     Command, and through the wrappers in BinDir, which Env puts first in
//     PATH: each moves itself into the sandbox's tools cgroup (a fresh one
//     beside the manager's, so that Podman's --cgroups=split can never move
//     a host process), then enters the namespace and root with nsenter.
//   - Podman runs with runc (crun refuses hybrid cgroups), cgroupfs, file
//     events and rlimits as on the host (ContainersConf), and
//     PODMAN_IGNORE_CGROUPSV1_WARNING=1.

// stackFile, in a stack's root, names its versions (scripts/modern-stack.sh
// writes it last).
const stackFile = ".socktui-stack"

// toolsFolder is the cgroup, below the sandbox's slice, of every process a
// client runs in the trixie stack (Command, BinDir's wrappers) and of the
// manager's log reader.
const toolsFolder = "socktui-tools.scope"

// stackTools are the programs BinDir holds wrappers for.
var stackTools = []string{"systemctl", "systemd-run", "systemd-analyze", "journalctl", "busctl", "podman", "quadlet"}

// TrixieRoot is the shared, read-only root filesystem of StackTrixie:
// $SOCKTUI_CACHE/trixie-root, /var/cache/socktui/trixie-root by default.
func TrixieRoot() string {
	cache := os.Getenv("SOCKTUI_CACHE")
	if cache == "" {
		cache = "/var/cache/socktui"
	}
	return filepath.Join(cache, "trixie-root")
}

// stackRoot checks that st can run here and returns its shared root ("" for
// StackHost) and its versions.
func stackRoot(st Stack) (root, version string, err error) {
	switch st {
	case StackHost:
		return "", "", nil
	case StackTrixie:
	default:
		return "", "", fmt.Errorf("sandbox: unknown stack %q", st)
	}
	root = TrixieRoot()
	b, err := os.ReadFile(filepath.Join(root, stackFile))
	if err != nil {
		return "", "", fmt.Errorf("%w: the %s stack is not set up (%v): run make modern-stack", ErrUnavailable, st, err)
	}
	for _, tool := range []string{"nsenter", "pivot_root"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", "", fmt.Errorf("%w: %s is not installed (Debian: apt-get install util-linux coreutils)", ErrUnavailable, tool)
		}
	}
	return root, strings.TrimSpace(string(b)), nil
}

// stackLayout makes the folders of the sandbox's root in dir: the overlay's
// mount point, upper and work folders, Podman's storage and the log FIFO.
func stackLayout(dir string) error {
	for _, d := range []string{"root", "stack/upper", "stack/work", "stack/containers", "bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return syscall.Mkfifo(filepath.Join(dir, "stack", "kmsg"), 0o600)
}

// stackPath is the PATH inside the stack.
const stackPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// stackEnv is the environment of the manager and of every tool run in the
// stack: nothing of the host's but what names the sandbox.
func (s *Sandbox) stackEnv() []string {
	return []string{"PATH=" + stackPath, "LANG=C.UTF-8",
		"HOME=" + s.Home, "XDG_RUNTIME_DIR=" + s.RuntimeDir, "CONTAINERS_CONF=" + s.ContainersConfPath,
		"PODMAN_IGNORE_CGROUPSV1_WARNING=1", MarkerEnv + "=" + s.Dir}
}

// stackScript is the namespace's shell for the trixie stack: `sh -c
// stackScript LOWER DIR BINDS TOOLSPROCS -- ENV...`. Like startScript it
// first waits for "go" on fd 3. Every mount is in the sandbox's namespace,
// private from the start (Go makes it so before exec; the shell again).
const stackScript = `read -r go <&3 && [ "$go" = go ] && exec 3<&- || exit 1
set -e
lower=$0 dir=$1 binds=$2 procs=$3
shift 4
root=$dir/root
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/stack/upper,workdir=$dir/stack/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount -t tmpfs -o mode=0755,nosuid dev "$root/dev"
for n in null zero full random urandom tty fuse; do
	if [ -c "/dev/$n" ]; then
		touch "$root/dev/$n"
		mount --bind "/dev/$n" "$root/dev/$n"
	fi
done
mkdir "$root/dev/net"
mknod -m 0666 "$root/dev/net/tun" c 10 200
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
touch "$root/dev/kmsg"
mount --bind "$dir/stack/kmsg" "$root/dev/kmsg"
# A subshell, not sh -c … cat: pivot_root below changes the root of every
# process of the namespace, and a program exec'd just before it could load
# the new root's libc (seen: cat: symbol lookup error … __tunable_is_initialized).
# A fork needs no loader; "0" in cgroup.procs moves the writer itself.
(for f in $procs; do echo 0 >"$f" || exit 1; done; exec 3<>"$dir/stack/kmsg"
while IFS= read -r l <&3; do printf '%s\n' "$l"; done) >>"$dir/manager.log" 2>&1 &
mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
mkdir -p "$root/run/systemd/system"
for b in $binds; do
	mkdir -p "$root$b"
	mount --bind "$b" "$root$b"
done
mkdir -p "$root/var/lib/containers"
mount --bind "$dir/stack/containers" "$root/var/lib/containers"
cd "$root"
mkdir -p .socktui-old-root
pivot_root . .socktui-old-root
umount -l /.socktui-old-root
rmdir /.socktui-old-root
exec /usr/bin/env -i "$@" /usr/lib/systemd/systemd --user --log-target=kmsg`

// stackArgs are the namespace shell's arguments for the trixie stack.
func (s *Sandbox) stackArgs(lower string, plan cgroupPlan) []string {
	binds := []string{filepath.Clean(os.TempDir())}
	if parent := filepath.Dir(s.Dir); !strings.HasPrefix(parent+"/", binds[0]+"/") {
		binds = append(binds, parent)
	}
	procs := strings.Join(plan.toolsProcs(), " ")
	args := []string{"-c", stackScript, lower, s.Dir, strings.Join(binds, " "), procs, "--"}
	return append(args, s.stackEnv()...)
}

// makeTools makes the tools cgroup below the sandbox's slice in every
// hierarchy (its cpuset gets the slice's CPUs and memory nodes).
func (p cgroupPlan) makeTools() error {
	for _, f := range p {
		if err := f.make(filepath.Join(f.path, toolsFolder), false); err != nil {
			return fmt.Errorf("making the tools cgroup: %w", err)
		}
	}
	return nil
}

// toolsProcs lists the tools cgroup's cgroup.procs files.
func (p cgroupPlan) toolsProcs() []string {
	var out []string
	for _, f := range p {
		out = append(out, filepath.Join(f.path, toolsFolder, "cgroup.procs"))
	}
	return out
}

// toolWrapper is BinDir's in-stack: `in-stack PROGRAM ARGS...`, or called
// through a link named after the program. It moves itself into the tools
// cgroup in every hierarchy (and fails if it cannot: it must never run
// Podman in a host's cgroup), then runs PROGRAM in the stack's namespace
// and root (nsenter's --root is the manager's) with the
// stack's environment, in the caller's folder when the root has it (else
// in /).
const toolWrapper = `#!/bin/sh
# Written by socktui's sandbox: runs a program of the sandbox's stack.
tool=${0##*/}
if [ "$tool" = in-stack ]; then tool=$1; shift; fi
case $tool in quadlet) tool=/usr/libexec/podman/quadlet ;; esac
for f in %s; do echo $$ >"$f" || exit 125; done
exec nsenter -t %d -m -r -w -- /usr/bin/env -i %s ${TERM:+TERM="$TERM"} ${NO_COLOR:+NO_COLOR="$NO_COLOR"} \
	/bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$PWD" "$tool" "$@"
`

// writeTools writes BinDir's wrappers, once the manager's PID is known.
func (s *Sandbox) writeTools(plan cgroupPlan) error {
	var procs, env []string
	for _, p := range plan.toolsProcs() {
		procs = append(procs, quoteSh(p))
	}
	for _, kv := range s.stackEnv() {
		env = append(env, quoteSh(kv))
	}
	wrapper := filepath.Join(s.BinDir, "in-stack")
	body := fmt.Sprintf(toolWrapper, strings.Join(procs, " "), s.ManagerPID(), strings.Join(env, " "))
	if err := os.WriteFile(wrapper, []byte(body), 0o755); err != nil {
		return err
	}
	for _, tool := range stackTools {
		if err := os.Symlink("in-stack", filepath.Join(s.BinDir, tool)); err != nil {
			return err
		}
	}
	return nil
}

// stackCommand is Command in the trixie stack: name (a program of the
// stack, looked up in its PATH) through BinDir's wrapper.
func (s *Sandbox) stackCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, "in-stack"), append([]string{name}, args...)...)
	cmd.Env = s.Env()
	return cmd
}

// stopStack, once the manager of a trixie sandbox has exited, kills what is
// left of the sandbox (the log reader, a tool a client left running) by PID
// and waits up to five seconds for it to be gone. The last process of the
// mount namespace takes the namespace's mounts (the overlay, the rbind of
// /sys) with it as it exits, which can take longer than reap waits.
func (s *Sandbox) stopStack() {
	if s.BinDir == "" {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := Processes(s.Dir)
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quoteSh quotes s for a POSIX shell.
func quoteSh(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
