// Package remote reaches another host's systemd manager over ssh, for
// `socktui --host [USER@]HOST[:PORT]`, with nothing installed on that host
// but sshd and systemd.
//
// It runs the system ssh client (OpenSSH's `ssh`), not a Go ssh library,
// so that a host is reached exactly as the user's own `ssh HOST` reaches
// it: ~/.ssh/config (Host aliases, User, Port, IdentityFile, ProxyJump,
// ProxyCommand), the agent, known_hosts and its CA keys. Per host it runs
// one master connection (`ssh -N -o ControlMaster=yes`, a control socket
// in a private folder of this process), and everything else rides on it
// without a new handshake:
//
//   - D-Bus: the manager's private socket on the remote host
//     ($XDG_RUNTIME_DIR/systemd/private, /run/systemd/private with
//     System) is forwarded to a local unix socket (`ssh -O forward -L`,
//     a direct-streamlocal channel per connection), and godbus talks to it
//     as it talks to the local manager, authenticating (EXTERNAL) as the
//     remote user's UID. systemctl -H cannot reach a user manager at all
//     (systemd issue 24261); this needs no remote program.
//   - Probes of stream endpoints (DialContext): forwarded the same way to
//     the remote host's own loopback or unix socket path, so a probe never
//     crosses the network to a public address.
//   - Commands (Command): `journalctl -o json`, `socktui probe --json`,
//     each argument quoted for the remote shell.
//
// ssh always runs with BatchMode=yes: a password, passphrase or unknown
// host key prompt can never hide behind the UI's alternate screen; it
// fails, and Open's error says why in words (ErrAuth, ErrHostKey,
// ErrUnreachable). ServerAliveInterval makes a cut network end the master
// within a few seconds; the next dial starts a new one (reconnecting).
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
)

// Sentinel errors Open and the dials wrap, for callers that branch on why
// a host cannot be reached.
var (
	// ErrAuth: the host refused every credential ssh may use without a
	// prompt.
	ErrAuth = errors.New("ssh authentication failed")
	// ErrHostKey: the host's key is unknown or does not match known_hosts.
	ErrHostKey = errors.New("ssh host key verification failed")
	// ErrUnreachable: no connection to the host (timeout, refused, no route,
	// unknown name) or it dropped.
	ErrUnreachable = errors.New("host unreachable")
)

// Target is a host as --host names it: [USER@]HOST[:PORT]. HOST may be an
// alias of ~/.ssh/config; User and Port, when empty, come from there.
type Target struct {
	User string
	Host string
	Port int
}

// ParseTarget reads [USER@]HOST[:PORT]; an IPv6 address with a port is
// written [ADDR]:PORT. A host or user that ssh would read as an option
// (a leading '-') or that holds spaces or control characters is refused.
func ParseTarget(s string) (Target, error) {
	var t Target
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		t.User, rest = rest[:i], rest[i+1:]
		if t.User == "" {
			return Target{}, fmt.Errorf("host %q: empty user before @", s)
		}
	}
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Target{}, fmt.Errorf("host %q: no ] after [", s)
		}
		host, after := rest[1:end], rest[end+1:]
		t.Host = host
		if after != "" {
			if !strings.HasPrefix(after, ":") {
				return Target{}, fmt.Errorf("host %q: want [ADDR]:PORT", s)
			}
			p, err := parsePort(after[1:])
			if err != nil {
				return Target{}, fmt.Errorf("host %q: %v", s, err)
			}
			t.Port = p
		}
	case strings.Count(rest, ":") == 1:
		host, port, _ := strings.Cut(rest, ":")
		p, err := parsePort(port)
		if err != nil {
			return Target{}, fmt.Errorf("host %q: %v", s, err)
		}
		t.Host, t.Port = host, p
	default:
		t.Host = rest // a name, or an IPv6 address without a port
		if strings.Contains(rest, ":") && net.ParseIP(rest) == nil {
			return Target{}, fmt.Errorf("host %q: %q is neither a name nor an IPv6 address; a port is written HOST:PORT or [ADDR]:PORT", s, rest)
		}
	}
	if t.Host == "" {
		return Target{}, fmt.Errorf("host %q: no host name", s)
	}
	for _, f := range []string{t.User, t.Host} {
		if strings.HasPrefix(f, "-") {
			return Target{}, fmt.Errorf("host %q: a name may not begin with '-'", s)
		}
		if strings.ContainsFunc(f, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }) {
			return Target{}, fmt.Errorf("host %q: spaces, slashes and control characters are not allowed", s)
		}
	}
	return t, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return p, nil
}

// String is the target as ParseTarget reads it.
func (t Target) String() string {
	s := t.Host
	if t.Port != 0 {
		if strings.Contains(s, ":") {
			s = "[" + s + "]"
		}
		s += ":" + strconv.Itoa(t.Port)
	}
	if t.User != "" {
		s = t.User + "@" + s
	}
	return s
}

// Options tune Open.
type Options struct {
	// SSH is the ssh client command line, ["ssh"] when empty; extra words
	// are options placed before socktui's own (["ssh", "-F", "CONFIG"],
	// from SOCKTUI_SSH).
	SSH []string
	// System reaches the system manager instead of the user manager.
	System bool
	// TempDir is where the private folder of control and forwarded
	// sockets is made; os.TempDir() when empty.
	TempDir string
	// ConnectTimeout bounds a connection to the host (ssh's
	// ConnectTimeout) and the login after it; 10 s when zero.
	ConnectTimeout time.Duration
	// AliveInterval is ssh's ServerAliveInterval: three of them without an
	// answer end the connection; 1 s when zero.
	AliveInterval time.Duration
}

// Host is one remote host. Its methods are safe for concurrent use.
type Host struct {
	target Target
	opts   Options
	dir    string // private folder: ctl (the control socket), f1, f2... (forwards)

	// From the first login: the remote user's UID and its
	// XDG_RUNTIME_DIR (/run/user/UID when unset).
	uid        int
	runtimeDir string

	mu     sync.Mutex
	master *exec.Cmd
	// run is master's exit (set with master), also read without mu,
	// which ensure holds while it logs in: MasterDown never waits for a
	// login.
	run      atomic.Pointer[masterRun]
	stderr   *capped
	forwards map[string]string // remote target -> local socket, for master
	next     int
	closed   bool
}

// Open connects to t's host and returns once ssh is logged in and the
// remote user is known. Its error says in words why a host cannot be
// reached: wrapping ErrAuth, ErrHostKey or ErrUnreachable with ssh's own
// message.
func Open(ctx context.Context, t Target, opts Options) (*Host, error) {
	if len(opts.SSH) == 0 {
		opts.SSH = []string{"ssh"}
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	if opts.AliveInterval <= 0 {
		opts.AliveInterval = time.Second
	}
	tmp := opts.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	dir, err := os.MkdirTemp(tmp, "socktui-ssh-")
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t, err)
	}
	h := &Host{target: t, opts: opts, dir: dir}
	if err := h.ensure(ctx); err != nil {
		h.Close()
		return nil, err
	}
	out, err := h.Output(ctx, "sh", "-c", `id -u; printf '%s\n' "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"`)
	if err != nil {
		h.Close()
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		h.Close()
		return nil, fmt.Errorf("ssh %s: the remote shell printed %q, not a UID and a folder", t, termtext.Clean(string(out)))
	}
	if h.uid, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil {
		h.Close()
		return nil, fmt.Errorf("ssh %s: the remote UID %q is not a number", t, termtext.Clean(lines[0]))
	}
	h.runtimeDir = strings.TrimSpace(lines[1])
	return h, nil
}

// Target is the host as given to Open.
func (h *Host) Target() Target { return h.target }

// String is the target's name, for messages and the HOST column.
func (h *Host) String() string { return h.target.String() }

// UID is the remote user's UID.
func (h *Host) UID() int { return h.uid }

// RuntimeDir is the remote user's XDG_RUNTIME_DIR (/run/user/UID when its
// logins have none).
func (h *Host) RuntimeDir() string { return h.runtimeDir }

// PrivateSocket is the remote manager's private socket.
func (h *Host) PrivateSocket() string {
	if h.opts.System {
		return "/run/systemd/private"
	}
	return h.runtimeDir + "/systemd/private"
}

// baseArgs are ssh's arguments before the destination: the user's extra
// words, then socktui's options (on the command line, they beat any
// config file's).
func (h *Host) baseArgs(extra ...string) []string {
	args := append([]string{}, h.opts.SSH[1:]...)
	args = append(args,
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout="+strconv.Itoa(max(1, int(h.opts.ConnectTimeout/time.Second))),
		"-o", "ServerAliveInterval="+strconv.Itoa(max(1, int(h.opts.AliveInterval/time.Second))),
		"-o", "ServerAliveCountMax=3",
		"-o", "ControlPath="+filepath.Join(h.dir, "ctl"),
		"-o", "ClearAllForwardings=no",
		"-x", "-a",
	)
	if h.target.Port != 0 {
		args = append(args, "-p", strconv.Itoa(h.target.Port))
	}
	if h.target.User != "" {
		args = append(args, "-l", h.target.User)
	}
	return append(args, extra...)
}

// ensure starts the master connection when none runs, and waits until it
// is logged in.
func (h *Host) ensure(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("ssh %s: closed: %w", h.target, ErrUnreachable)
	}
	if h.master != nil {
		select {
		case <-h.run.Load().done:
		default:
			return nil // running
		}
	}
	ctl := filepath.Join(h.dir, "ctl")
	os.Remove(ctl) // a master killed hard leaves its socket
	args := h.baseArgs("-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-o", "ExitOnForwardFailure=yes", "--", h.target.Host)
	cmd := exec.Command(h.opts.SSH[0], args...)
	stderr := &capped{max: 4 << 10}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ssh %s: starting %s: %w", h.target, h.opts.SSH[0], err)
	}
	done := make(chan struct{})
	run := &masterRun{done: done}
	go func() {
		_ = cmd.Wait()
		run.err = h.sshError(stderr.String(), cmd.ProcessState)
		close(done)
	}()
	h.master, h.stderr = cmd, stderr
	h.run.Store(run)
	h.forwards = map[string]string{}

	// Logged in once the control socket takes connections.
	ctx, cancel := context.WithTimeout(ctx, h.opts.ConnectTimeout+5*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", ctl); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			return h.sshError(stderr.String(), cmd.ProcessState)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return fmt.Errorf("ssh %s: no login within %v: %w", h.target, h.opts.ConnectTimeout+5*time.Second, ErrUnreachable)
		case <-tick.C:
		}
	}
}

// sshError words what ssh said when it gave up.
func (h *Host) sshError(stderr string, st *os.ProcessState) error {
	msg := strings.TrimSuffix(strings.TrimSpace(termtext.Clean(lastLine(stderr))), ".")
	all := stderr
	if msg == "" {
		msg = fmt.Sprintf("ssh exited (%v)", st)
	}
	switch {
	case strings.Contains(all, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		return fmt.Errorf("ssh %s: the host's key does not match the one in known_hosts (%s): if the host was reinstalled, remove the old key with ssh-keygen -R; otherwise someone may be impersonating it: %w",
			h.target, msg, ErrHostKey)
	case strings.Contains(all, "Host key verification failed"), strings.Contains(all, "No ") && strings.Contains(all, "host key is known"):
		return fmt.Errorf("ssh %s: the host's key is not in known_hosts (%s): connect once with ssh %s to check and accept it (socktui never asks, BatchMode=yes): %w",
			h.target, msg, h.target.Host, ErrHostKey)
	case strings.Contains(all, "Permission denied"), strings.Contains(all, "Too many authentication failures"):
		return fmt.Errorf("ssh %s: the host refused every key ssh tried (%s): socktui runs ssh with BatchMode=yes, so it cannot ask for a password or passphrase: load a key with ssh-add or name one in ~/.ssh/config: %w",
			h.target, msg, ErrAuth)
	}
	return fmt.Errorf("ssh %s: %s: %w", h.target, msg, ErrUnreachable)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "@@@") {
			return l
		}
	}
	return ""
}

// forward returns a local unix socket forwarded to remote (host:port on
// the remote side, or a path there), made once per master.
func (h *Host) forward(ctx context.Context, remote string) (string, error) {
	if err := h.ensure(ctx); err != nil {
		return "", err
	}
	h.mu.Lock()
	if p, ok := h.forwards[remote]; ok {
		h.mu.Unlock()
		return p, nil
	}
	h.next++
	local := filepath.Join(h.dir, "f"+strconv.Itoa(h.next))
	h.mu.Unlock()
	args := h.baseArgs("-O", "forward", "-L", local+":"+remote, "--", h.target.Host)
	cmd := exec.CommandContext(ctx, h.opts.SSH[0], args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		// The master ended meanwhile (a cut network): ssh's reason, not
		// the control socket's "No such file or directory".
		if _, why := h.MasterDown(); why() != nil {
			return "", why()
		}
		return "", fmt.Errorf("ssh %s: forwarding %s: %v: %s: %w", h.target, termtext.Clean(remote), err,
			termtext.Clean(strings.TrimSpace(string(out))), ErrUnreachable)
	}
	h.mu.Lock()
	if p, ok := h.forwards[remote]; ok {
		h.mu.Unlock()
		os.Remove(local)
		return p, nil
	}
	h.forwards[remote] = local
	h.mu.Unlock()
	return local, nil
}

// DialDBus connects to the remote manager's private socket through the
// master connection and authenticates as the remote user, for
// systemdbus.Options.Dial (peer to peer: DialBus false). It starts a new
// master when the last one ended (reconnecting).
func (h *Host) DialDBus(ctx context.Context) (*dbus.Conn, error) {
	local, err := h.forward(ctx, h.PrivateSocket())
	if err != nil {
		return nil, err
	}
	conn, err := dbus.Dial("unix:path="+local, systemdbus.ConnOptions()...)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", h.target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.ConnectTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(h.uid))}) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		conn.Close()
		<-errc
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		// sshd could not reach the socket: the forward's connection
		// closes before the manager's first word.
		return nil, fmt.Errorf("ssh %s: the %s manager at %s did not answer (%v): %w", h.target, h.manager(),
			termtext.Clean(h.PrivateSocket()), err, systemdbus.ErrNoManager)
	}
	return conn, nil
}

func (h *Host) manager() string {
	if h.opts.System {
		return "system"
	}
	return "user"
}

// DialContext connects to a stream endpoint on the remote host itself,
// through the master connection: network tcp4 or tcp6 with a loopback
// address ("127.0.0.1:3000", "[::1]:3000"), or unix with a path. Anything
// else is refused: a probe targets the host's loopback only. The local end
// connects at once; when the remote end refuses, the connection closes
// before its first byte.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var remote string
	switch network {
	case "tcp", "tcp4", "tcp6":
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("ssh %s: %s %s: only loopback addresses are probed on a remote host", h.target, network, address)
		}
		remote = address
		if ap.Addr().Is6() {
			remote = "[" + ap.Addr().String() + "]:" + strconv.Itoa(int(ap.Port()))
		}
	case "unix":
		if !strings.HasPrefix(address, "/") {
			return nil, fmt.Errorf("ssh %s: unix %s: ssh forwards socket paths only, not abstract addresses", h.target, address)
		}
		remote = address
	default:
		return nil, fmt.Errorf("ssh %s: %s cannot be forwarded by ssh", h.target, network)
	}
	local, err := h.forward(ctx, remote)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", local)
}

// Command returns name ARGS run on the remote host over the master
// connection (a new connection when the master is gone). Each word is
// quoted for the remote user's shell, which ssh always runs it through.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	words := make([]string, 0, 1+len(args))
	for _, w := range append([]string{name}, args...) {
		words = append(words, ShellQuote(w))
	}
	sshArgs := h.baseArgs("-T", "-o", "ControlMaster=no", "--", h.target.Host, strings.Join(words, " "))
	cmd := exec.CommandContext(ctx, h.opts.SSH[0], sshArgs...)
	cmd.WaitDelay = time.Second
	return cmd
}

// Output runs name ARGS remotely and returns its standard output; its
// error holds ssh's or the command's last words on standard error.
func (h *Host) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := h.Command(ctx, name, args...)
	stderr := &capped{max: 4 << 10}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 255 {
			return out, h.sshError(stderr.String(), ee.ProcessState)
		}
		return out, fmt.Errorf("ssh %s: %s: %v: %s", h.target, name, err, termtext.Clean(lastLine(stderr.String())))
	}
	return out, nil
}

// MasterDown returns a channel that is closed when the master connection
// running now has ended (at once when none runs), and a function that
// then says why in ssh's words ("Timeout, server ... not responding"),
// as Open's errors do. A dropped D-Bus connection is noticed before ssh
// has exited: this tells a cut network from a manager gone away.
func (h *Host) MasterDown() (<-chan struct{}, func() error) {
	run := h.run.Load()
	if run == nil {
		closed := make(chan struct{})
		close(closed)
		return closed, func() error { return nil }
	}
	return run.done, func() error {
		select {
		case <-run.done:
			return run.err
		default:
			return nil
		}
	}
}

// masterRun is one master connection's exit: err is set before done is
// closed.
type masterRun struct {
	done chan struct{}
	err  error
}

// Connected reports whether the master connection is up.
func (h *Host) Connected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.master == nil {
		return false
	}
	select {
	case <-h.run.Load().done:
		return false
	default:
		return true
	}
}

// Close ends the master connection (and with it every forward and
// command riding on it) and removes the private folder. Idempotent.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	m, run := h.master, h.run.Load()
	h.mu.Unlock()
	if m != nil {
		done := run.done
		_ = syscall.Kill(-m.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-m.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	return os.RemoveAll(h.dir)
}

// ShellQuote quotes s for a POSIX shell: one word, nothing expanded.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@%+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}
