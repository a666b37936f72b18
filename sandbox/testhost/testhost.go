// Package testhost makes a "remote host" on this machine for tests of
// socktui over ssh: a network namespace of its own (ip netns add) joined to
// this one by a veth pair on a /30 from 10.231.0.0/16 that the test host
// picks, an sshd (Debian's openssh-server) listening only on the namespace's
// end of that pair, with a host key, a client key pair, known_hosts and an
// ssh_config made for it, and a private systemd user manager (a
// sandbox.Sandbox) started inside the namespace, so that the manager's units
// listen on the test host's own loopback, which this machine cannot reach
// except through ssh.
//
// Logins see the manager as their user manager: sshd_config's SetEnv gives
// every session XDG_RUNTIME_DIR (the sandbox's) and a PATH that starts with
// BinDir, where a test may put programs (the socktui binary, for a remote
// probe). sshd runs in a mount namespace of its own whose /run is a private
// tmpfs (it needs /run/sshd, which the host must not get).
//
// The only addresses involved are the pair's two and loopback. Close tears
// everything down by PID (the manager through sandbox.Close, then every
// process left in the namespace: sshd and its sessions), deletes the
// namespace, which takes the veth pair with it, and removes the folder. A
// test host left by a killed process is reaped by the next Start.
package testhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/sandbox"
)

// ErrUnavailable is wrapped by Start's errors when this machine cannot make
// a test host (not root, no sshd, no ip), as opposed to a start that failed.
var ErrUnavailable = errors.New("test host unavailable")

// dirPrefix names the test hosts' folders; the reaper looks for it.
const dirPrefix = "socktui-testhost-"

// nsPrefix names the network namespaces (ip netns add NAME).
const nsPrefix = "socktui-th-"

// Options tune Start. The zero value is ready to use.
type Options struct {
	// TempDir is where the test host's folder is made; os.TempDir() when
	// empty.
	TempDir string
	// Sandbox are the options of the user manager inside.
	Sandbox sandbox.Options
}

// Host is a running test host.
type Host struct {
	// Dir holds the host's files: keys, configs, logs, BinDir.
	Dir string
	// Netns is the network namespace's name (/run/netns/NAME).
	Netns string
	// Addr is the test host's address (the namespace's end of the veth
	// pair), where sshd listens; PeerAddr is this machine's end.
	Addr, PeerAddr netip.Addr
	// Port is sshd's port on Addr.
	Port int
	// Alias is the test host's name in SSHConfig ("socktui-testhost");
	// Addr works as well.
	Alias string
	// SSHConfig is an ssh_config for this host: user root, the test's
	// identity, its own known_hosts, StrictHostKeyChecking yes, BatchMode.
	// Pass it as `ssh -F SSHConfig`.
	SSHConfig string
	// Identity is the client's private key; KnownHosts the client's
	// known_hosts, holding the host's key for [Addr]:Port.
	Identity, KnownHosts string
	// HostKey is sshd's private host key (HostKey+".pub" its public key).
	HostKey string
	// BinDir is first in the PATH of every login.
	BinDir string
	// Sandbox is the user manager inside, the one a login reaches
	// through XDG_RUNTIME_DIR.
	Sandbox *sandbox.Sandbox

	vethHost string // this machine's end of the pair
	sshdConf string

	mu       sync.Mutex
	sshd     *exec.Cmd
	sshdDone chan struct{}
	closing  sync.Once
	closeErr error
}

// Available reports whether this process can make a test host, with an
// error that says why not.
func Available() error {
	if err := sandbox.Available(); err != nil {
		return err
	}
	for _, c := range []struct{ cmd, pkg string }{
		{"sshd", "openssh-server"}, {"ssh", "openssh-client"}, {"ssh-keygen", "openssh-client"},
		{"ip", "iproute2"}, {"nsenter", "util-linux"}, {"unshare", "util-linux"},
	} {
		if _, err := lookPath(c.cmd); err != nil {
			return fmt.Errorf("%w: %s is not installed (apt-get install %s)", ErrUnavailable, c.cmd, c.pkg)
		}
	}
	return nil
}

func lookPath(cmd string) (string, error) {
	if p, err := exec.LookPath(cmd); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", cmd)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", exec.ErrNotFound
}

// Start makes a test host and returns once sshd accepts logins and the user
// manager inside is connectable. ctx bounds only the start.
func Start(ctx context.Context, opts Options) (*Host, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	tmp := opts.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	ReapStale(tmp)
	h, err := create(tmp)
	if err != nil {
		return nil, err
	}
	if err := h.start(ctx, opts); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// create reserves a subnet and a namespace name (ip netns add fails on a
// name taken, so the name is the lock) and makes the folder.
func create(tmp string) (*Host, error) {
	for range 50 {
		n := 1 + rand.IntN(254)
		name := nsPrefix + strconv.Itoa(n)
		if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
			continue
		}
		if subnetInUse(n) {
			continue
		}
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			if bytes.Contains(out, []byte("File exists")) {
				continue
			}
			return nil, fmt.Errorf("testhost: ip netns add %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
		dir := filepath.Join(tmp, dirPrefix+strconv.Itoa(n))
		os.RemoveAll(dir) // a stale one whose namespace is gone
		if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
			exec.Command("ip", "netns", "del", name).Run()
			return nil, fmt.Errorf("testhost: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "owner"), fmt.Appendf(nil, "%d %s\n", os.Getpid(), name), 0o644); err != nil {
			exec.Command("ip", "netns", "del", name).Run()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("testhost: %w", err)
		}
		return &Host{
			Dir:      dir,
			Netns:    name,
			PeerAddr: netip.AddrFrom4([4]byte{10, 231, byte(n), 1}),
			Addr:     netip.AddrFrom4([4]byte{10, 231, byte(n), 2}),
			Port:     2200 + n,
			Alias:    "socktui-testhost",
			BinDir:   filepath.Join(dir, "bin"),
			vethHost: vethOf(name),
		}, nil
	}
	return nil, errors.New("testhost: no free subnet in 10.231.0.0/16")
}

// vethOf is the name of this machine's end of the veth pair of the
// namespace name, "" for a name not made by create.
func vethOf(name string) string {
	n, ok := subnetNumber(name)
	if !ok {
		return ""
	}
	return fmt.Sprintf("sktth%dh", n)
}

// subnetNumber is N of the namespace name made by create, whose pair is
// on 10.231.N.0/30.
func subnetNumber(name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, nsPrefix))
	if err != nil || !strings.HasPrefix(name, nsPrefix) || n < 0 || n > 255 {
		return 0, false
	}
	return n, true
}

// Veth is this machine's end of the veth pair.
func (h *Host) Veth() string { return h.vethHost }

// subnetInUse reports whether an interface of this namespace has an address
// in 10.231.n.0/24.
func subnetInUse(n int) bool {
	out, _ := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	return bytes.Contains(out, fmt.Appendf(nil, " 10.231.%d.", n))
}

func (h *Host) nsPath() string { return filepath.Join("/run/netns", h.Netns) }

func (h *Host) start(ctx context.Context, opts Options) error {
	n := h.Addr.As4()[2]
	vethNS := fmt.Sprintf("sktth%dn", n)
	for _, args := range [][]string{
		{"link", "add", h.vethHost, "type", "veth", "peer", "name", vethNS, "netns", h.Netns},
		{"addr", "add", h.PeerAddr.String() + "/30", "dev", h.vethHost},
		{"link", "set", h.vethHost, "up"},
		{"-n", h.Netns, "addr", "add", h.Addr.String() + "/30", "dev", vethNS},
		{"-n", h.Netns, "link", "set", vethNS, "up"},
		{"-n", h.Netns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("testhost: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	// The user manager, started from a thread in the namespace: its
	// processes (and so its units' listeners) are born there.
	sopts := opts.Sandbox
	if sopts.TempDir == "" {
		sopts.TempDir = opts.TempDir
	}
	var sb *sandbox.Sandbox
	if err := inNetns(h.nsPath(), func() error {
		var err error
		sb, err = sandbox.Start(ctx, sopts)
		return err
	}); err != nil {
		return fmt.Errorf("testhost: the user manager: %w", err)
	}
	h.Sandbox = sb
	if err := h.keys(); err != nil {
		return err
	}
	return h.StartSSHD(ctx)
}

// inNetns runs fn on an OS thread that is in the network namespace at path;
// the processes fn starts are born there. The thread goes back to this
// process's namespace afterwards, or is discarded when it cannot.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Left locked: the thread ends with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// keys makes the host key, the client's key pair, authorized_keys,
// known_hosts, sshd_config and ssh_config.
func (h *Host) keys() error {
	h.HostKey = filepath.Join(h.Dir, "ssh_host_ed25519_key")
	h.Identity = filepath.Join(h.Dir, "id_ed25519")
	h.KnownHosts = filepath.Join(h.Dir, "known_hosts")
	h.SSHConfig = filepath.Join(h.Dir, "ssh_config")
	h.sshdConf = filepath.Join(h.Dir, "sshd_config")
	for _, k := range []string{h.HostKey, h.Identity} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "socktui-testhost", "-f", k).CombinedOutput(); err != nil {
			return fmt.Errorf("testhost: ssh-keygen: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	pub, err := os.ReadFile(h.Identity + ".pub")
	if err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	authorized := filepath.Join(h.Dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o600); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	hostPub, err := os.ReadFile(h.HostKey + ".pub")
	if err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	if err := h.WriteKnownHosts(hostPub); err != nil {
		return err
	}
	path := h.BinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	sshd := "# Written by socktui's testhost for one test.\n" + SSHDConfig(h.Addr, h.Port, h.HostKey, authorized) +
		fmt.Sprintf(`AllowTcpForwarding yes
PidFile none
LogLevel VERBOSE
SetEnv XDG_RUNTIME_DIR=%s PATH=%s
`, h.Sandbox.RuntimeDir, path)
	if err := os.WriteFile(h.sshdConf, []byte(sshd), 0o644); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	client := "# Written by socktui's testhost for one test.\n" + h.SSHConfigEntry(h.Alias, h.Addr.String())
	if err := os.WriteFile(h.SSHConfig, []byte(client), 0o644); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	return nil
}

// SSHDConfig is the start of a test sshd's sshd_config: it listens on
// addr:port only, with hostKey, and lets in root by the keys in
// authorizedKeys only (no password, no PAM), forwards unix sockets (what
// socktui's ssh transport rides on) and takes many sessions at once. A
// test appends its own lines (PidFile, SetEnv, ...).
func SSHDConfig(addr netip.Addr, port int, hostKey, authorizedKeys string) string {
	return fmt.Sprintf(`ListenAddress %s
HostKey %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowStreamLocalForwarding yes
MaxSessions 100
MaxStartups 100
`, netip.AddrPortFrom(addr, uint16(port)), hostKey, authorizedKeys)
}

// SSHConfigEntry is the ssh_config entry that reaches the host as root
// with its client key and known_hosts, non-interactively (BatchMode,
// StrictHostKeyChecking), under the host patterns names: "Host NAMES" and
// its options, each line ending in a newline. SSHConfig holds one for
// Alias and Addr; a test that names several hosts in one config file
// writes one entry each.
func (h *Host) SSHConfigEntry(names ...string) string {
	return fmt.Sprintf(`Host %s
  HostName %s
  Port %d
  User root
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  KexAlgorithms curve25519-sha256
`, strings.Join(names, " "), h.Addr, h.Port, h.Identity, h.KnownHosts)
}

// processesWith lists the live processes whose command line holds needle,
// each as "PID: ARGS".
func processesWith(needle string) []string {
	var found []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), needle) {
			found = append(found, d.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

// WaitNoProcessesWith waits until no live process's command line holds
// needle (for example a test's ssh config path: the ssh clients that use
// it), polling every 50 ms, and returns nil then, or after timeout the
// processes still there, each as "PID: ARGS". Tests use it to check that
// no ssh client was left.
func WaitNoProcessesWith(needle string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		left := processesWith(needle)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WriteKnownHosts replaces the client's known_hosts with pub (a public key
// line, "TYPE BASE64 [COMMENT]") for [Addr]:Port: a test writes another
// key there to see a host key mismatch.
func (h *Host) WriteKnownHosts(pub []byte) error {
	line := fmt.Sprintf("[%s]:%d %s\n", h.Addr, h.Port, bytes.TrimSpace(pub))
	if err := os.WriteFile(h.KnownHosts, []byte(line), 0o644); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	return nil
}

// Target is the host as socktui --host takes it: root@ADDR:PORT.
func (h *Host) Target() string { return fmt.Sprintf("root@%s:%d", h.Addr, h.Port) }

// SSHCommand is the ssh client command line for this host's config
// ("ssh -F SSHConfig"), as SOCKTUI_SSH takes it.
func (h *Host) SSHCommand() string { return "ssh -F " + h.SSHConfig }

// SSH returns `ssh -F SSHConfig Alias ARGS...`. Remote commands go through
// the remote user's shell, as with any ssh.
func (h *Host) SSH(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ssh", append([]string{"-F", h.SSHConfig, h.Alias}, args...)...)
}

// StartSSHD starts sshd (again, after StopSSHD) and waits until it listens.
func (h *Host) StartSSHD(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sshd != nil {
		return errors.New("testhost: sshd is running")
	}
	sshd, err := lookPath("sshd")
	if err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(h.Dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	defer logf.Close()
	// nsenter, unshare and sh all exec: the PID is sshd's.
	cmd := exec.Command("nsenter", "--net="+h.nsPath(), "unshare", "-m", "--propagation", "private",
		"/bin/sh", "-c", `mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec "$0" -D -e -f "$1"`,
		sshd, h.sshdConf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testhost: starting sshd: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	h.sshd, h.sshdDone = cmd, done
	// Ready once it listens: its log says so.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, _ := os.ReadFile(logf.Name()); bytes.Contains(b, fmt.Appendf(nil, "Server listening on %s port %d", h.Addr, h.Port)) &&
			h.listening() {
			return nil
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logf.Name())
			h.sshd = nil
			return fmt.Errorf("testhost: sshd exited: %s", lastLines(b, 10))
		case <-ctx.Done():
			return fmt.Errorf("testhost: sshd did not listen: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// listening reports whether sshd's port takes connections in the
// namespace (ss from inside it).
func (h *Host) listening() bool {
	out, _ := exec.Command("nsenter", "--net="+h.nsPath(), "ss", "-Hltn", "src", h.Addr.String()).Output()
	return bytes.Contains(out, fmt.Appendf(nil, ":%d ", h.Port))
}

// StopSSHD stops sshd and every session it started (each login is a
// process of its own that outlives the listener): existing connections
// drop, new ones are refused.
func (h *Host) StopSSHD() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sshd != nil {
		_ = h.sshd.Process.Kill()
		<-h.sshdDone
		h.sshd = nil
	}
	for _, pid := range h.processes() {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "sshd" {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// LinkDown takes this machine's end of the veth pair down: the network to
// the test host is cut, as a cable pulled (open connections hang; new ones
// fail with "No route to host"). Taking the link down removes the route
// to the pair's /30, so LinkDown also adds an unreachable route for it:
// without one, packets for the test host would leave by the default
// route, towards a network no test may reach. LinkUp brings it back.
func (h *Host) LinkDown() error {
	if err := h.link("down"); err != nil {
		return err
	}
	return ipRun("route", "replace", "unreachable", subnetOf(h.Addr), "metric", cutMetric)
}

// LinkUp brings the veth pair back up after LinkDown.
func (h *Host) LinkUp() error {
	dropCutRoute(h.Addr)
	return h.link("up")
}

// cutMetric is the metric of LinkDown's unreachable route: worse than the
// link's own route (metric 0), so it never wins while the link is up.
const cutMetric = "4000"

// subnetOf is the /30 of the veth pair that addr belongs to.
func subnetOf(addr netip.Addr) string { return netip.PrefixFrom(addr, 30).Masked().String() }

// dropCutRoute removes LinkDown's route for addr's /30, if there is one.
func dropCutRoute(addr netip.Addr) {
	_ = exec.Command("ip", "route", "del", "unreachable", subnetOf(addr), "metric", cutMetric).Run()
}

func ipRun(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("testhost: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func (h *Host) link(state string) error { return ipRun("link", "set", h.vethHost, state) }

// processes lists the live processes in the test host's network
// namespace, by PID.
func (h *Host) processes() []int {
	var st unix.Stat_t
	if err := unix.Stat(h.nsPath(), &st); err != nil {
		return nil
	}
	return processesInNetns(st.Ino)
}

func processesInNetns(ino uint64) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) == nil && st.Ino == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Processes lists the live processes in the namespace; empty after Close.
// Tests use it to check that nothing was left.
func (h *Host) Processes() []int { return h.processes() }

// Close stops the user manager, sshd and everything left in the namespace,
// deletes the namespace (and with it the veth pair) and removes the folder.
// It is idempotent.
func (h *Host) Close() error {
	h.closing.Do(func() { h.closeErr = h.close() })
	return h.closeErr
}

func (h *Host) close() error {
	var errs []error
	if h.Sandbox != nil {
		if err := h.Sandbox.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	_ = h.StopSSHD()
	if err := reap(h.Dir, h.Netns); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// reap kills every process in namespace name by PID, deletes the namespace
// and the folder dir.
func reap(dir, name string) error {
	var st unix.Stat_t
	if unix.Stat(filepath.Join("/run/netns", name), &st) == nil {
		for range 3 {
			pids := processesInNetns(st.Ino)
			if len(pids) == 0 {
				break
			}
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if left := processesInNetns(st.Ino); len(left) > 0 {
			return fmt.Errorf("testhost: processes %v in %s survived SIGKILL", left, name)
		}
		// Deleting one end of the pair deletes both at once; the
		// namespace's deletion would take it too, but asynchronously.
		if link := vethOf(name); link != "" {
			_ = exec.Command("ip", "link", "del", link).Run()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			return fmt.Errorf("testhost: ip netns del %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
	}
	if n, ok := subnetNumber(name); ok {
		dropCutRoute(netip.AddrFrom4([4]byte{10, 231, byte(n), 2}))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	return nil
}

// ReapStale removes test hosts under tmp whose owning process is gone: it
// kills what is left in their namespaces, deletes the namespaces and
// removes the folders. Best effort.
func ReapStale(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			continue
		}
		var owner int
		var name string
		fmt.Sscan(string(b), &owner, &name)
		if owner > 0 && syscall.Kill(owner, 0) == nil || !strings.HasPrefix(name, nsPrefix) {
			continue
		}
		_ = reap(d, name)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
