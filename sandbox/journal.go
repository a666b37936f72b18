package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The sandbox's journal: a systemd-journald of its own, started in the
// manager's mount namespace before the manager, so that the stdout and
// stderr of every unit (and of podman, conmon and the containers below them)
// land in a journal that socktui reads from outside with `journalctl -D
// JournalDir`. Measured here (systemd 252): with /run/systemd a tmpfs,
// /run/systemd/journal made and a folder of the sandbox bound on /run/log,
// journald opens /run/systemd/journal/{stdout,socket,dev-log} and writes
// /run/log/journal/MACHINE-ID/system.journal; units' output carries
// _SYSTEMD_USER_UNIT because of the manager's cgroup name (see cgroupPlan).

// journalFolder, in the manager's XDG_RUNTIME_DIR, is bound on /run/log in the
// sandbox's namespace; its journal subfolder is the journal.
const journalFolder = "socktui-log"

// journaldPIDFile, in the sandbox folder, holds journald's PID for Close.
const journaldPIDFile = "journald.pid"

// journaldConf is the sandbox journald's drop-in, copied to
// /run/systemd/journald.conf.d (a tmpfs of the namespace, read after the
// host's /etc/systemd/journald.conf). Every line keeps journald off the host:
// Storage=volatile, or a host with /var/log/journal (this one has it) would
// get the sandbox's entries on a flush; no kernel log (the host's, not the
// sandbox's); nothing to the host's syslog, wall or console. The rate limit
// is off so that a unit that floods its log reaches the reader as it would
// with a generous limit (tests and benchmarks flood on purpose); the bound is
// RuntimeMaxUse, after which journald drops the oldest files.
const journaldConf = `[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
RuntimeMaxUse=256M
`

// journaldScript runs in the background of the namespace's shell, as
// `sh -c journaldScript JOURNALD PROCS...`: it moves itself into the
// sandbox's journald cgroup folders (a failure only leaves journald in the
// manager's, said in the manager's log), then becomes journald with SIGTERM
// as its parent-death signal (its parent is the manager, which the shell
// becomes) and without CAP_AUDIT_CONTROL (systemd 252's journald turns the
// kernel's audit on, for the whole machine, when it may).
const journaldScript = `for f; do echo $$ >"$f" || echo "sandbox: systemd-journald stays in the manager's cgroup" >&2; done
if command -v setpriv >/dev/null; then exec setpriv --pdeathsig TERM --bounding-set -audit_control "$0"; fi
exec "$0"`

// startScript is the namespace's shell: `sh -c startScript SYSTEMD JOURNALD
// LOGDIR CONF PIDFILE JOURNALDSCRIPT PROCS...` (JOURNALD empty: no journal).
// It waits for "go" on fd 3 (see Start), hides the host's /run/systemd
// behind a tmpfs holding the "system" folder that makes systemd believe it
// was booted with systemd, starts journald and waits (at most 30 s) for its
// stdout socket, and becomes the manager (exec keeps the PID, and so the
// cgroups). /dev/log: a symbolic link (to /run/systemd/journal/dev-log on a
// host with systemd) already reaches the sandbox's journald through the
// tmpfs; a real socket (another syslog daemon's) gets journald's bound over
// it; when there is none, syslog(3) from a unit goes nowhere.
const startScript = `read -r go <&3 && [ "$go" = go ] && exec 3<&- &&
mkdir -p /run/systemd && mount -t tmpfs -o mode=0755 tmpfs /run/systemd && mkdir -p /run/systemd/system || exit 1
systemd=$0 journald=$1 log=$2 conf=$3 pidfile=$4 jscript=$5
shift 5
if [ -n "$journald" ]; then
	mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log &&
	cp "$conf" /run/systemd/journald.conf.d/socktui-sandbox.conf &&
	mount --bind "$log" /run/log || exit 1
	sh -c "$jscript" "$journald" "$@" &
	jpid=$!
	echo "$jpid" >"$pidfile"
	n=0
	while [ ! -S /run/systemd/journal/stdout ]; do
		if ! kill -0 "$jpid" 2>/dev/null || [ "$n" -ge 3000 ]; then
			echo "sandbox: systemd-journald did not open /run/systemd/journal/stdout" >&2
			exit 1
		fi
		n=$((n + 1))
		sleep 0.01
	done
	if [ -S /dev/log ] && [ ! -L /dev/log ]; then mount --bind /run/systemd/journal/dev-log /dev/log || exit 1; fi
	exec "$systemd" --user --log-target=journal
fi
exec "$systemd" --user`

// findJournald is the journald binary, "" when this host has none (the
// sandbox then has no journal: JournalDir is empty).
func findJournald() string {
	for _, p := range []string{"/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// JournalDirIn is the journal folder of the socktui sandbox whose manager
// has XDG_RUNTIME_DIR runtimeDir, for `journalctl -D`; "" when runtimeDir
// is not a sandbox's or its sandbox has no journal. This is how a client
// that only knows the manager (XDG_RUNTIME_DIR) finds the sandbox's journal.
func JournalDirIn(runtimeDir string) string {
	if runtimeDir == "" {
		return ""
	}
	d := filepath.Join(runtimeDir, journalFolder, "journal")
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		return d
	}
	return ""
}

// stopJournald ends the sandbox's journald once the manager has exited: its
// parent-death signal has already asked it to; it gets SIGTERM again (no
// setpriv) and up to three seconds to close its files, after which reap
// kills it.
func (s *Sandbox) stopJournald() {
	b, err := os.ReadFile(filepath.Join(s.Dir, journaldPIDFile))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	ours := func() bool {
		for _, p := range Processes(s.Dir) {
			if p == pid {
				return true
			}
		}
		return false
	}
	if !ours() {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(3 * time.Second)
	for ours() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// ManagerLog is the end of what the sandbox's manager said: its own
// messages go to the sandbox's journal when it has one (systemd --user
// --log-target=journal, so that `socktui logs` shows "Started …" and
// "Failed with result …" beside the services' lines), whatever it wrote
// before or without a journal to manager.log. At most about lines lines of
// each, for a failed test's or start's report; "" when both are empty.
func (s *Sandbox) ManagerLog(lines int) string {
	var parts []string
	if b, err := os.ReadFile(filepath.Join(s.Dir, "manager.log")); err == nil {
		if l := lastLines(string(b), lines); l != "" {
			parts = append(parts, l)
		}
	}
	if s.JournalDir != "" && s.cmd != nil && s.cmd.Process != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, "journalctl", "-D", s.JournalDir, "--no-pager", "-q",
			"-o", "short-precise", "-n", strconv.Itoa(lines), "_PID="+strconv.Itoa(s.cmd.Process.Pid)).Output()
		if l := lastLines(string(out), lines); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "\n")
}

// lastLines is the last n lines of text, trimmed.
func lastLines(text string, n int) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	ls := strings.Split(text, "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
