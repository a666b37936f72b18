package echo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/workloads/echo"
)

// childEnv makes the test binary run echo.Main instead of the tests. The
// child sets LISTEN_PID to its own pid first, as go-systemd's activation
// fixtures do (FIX_LISTEN_PID), since the parent cannot know it in advance.
const childEnv = "SOCKTUI_ECHO_TEST_CHILD"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == echo.Subcommand {
		// The test binary standing in for socktui: `echo.test echo-server
		// FLAGS`, as the units of TestUnitsInSandbox run it, bare and in
		// the image built from it.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		code := echo.Main(ctx, os.Args[2:], os.Stderr)
		stop()
		os.Exit(code)
	}
	if os.Getenv(childEnv) == "1" {
		if os.Getenv("LISTEN_FDS") != "" {
			os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		code := echo.Main(ctx, os.Args[1:], os.Stderr)
		stop()
		os.Exit(code)
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// child is an echo server process started with sockets passed as by
// systemd.
type child struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// fd is a socket (or other file) to pass to a child, with its name.
type fd struct {
	file *os.File
	name string
}

// startChild runs the echo server (this test binary re-executed) with fds
// passed through ExtraFiles and LISTEN_FDS/LISTEN_FDNAMES, and args as its
// flags. The parent's copies of the fds are closed once the child runs. The
// child is stopped when the test ends.
func startChild(t *testing.T, fds []fd, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if len(fds) > 0 {
		names := make([]string, len(fds))
		for i, f := range fds {
			cmd.ExtraFiles = append(cmd.ExtraFiles, f.file)
			names[i] = f.name
		}
		cmd.Env = append(cmd.Env, "LISTEN_FDS="+strconv.Itoa(len(fds)), "LISTEN_FDNAMES="+strings.Join(names, ":"))
	}
	return start(t, cmd, fds)
}

func start(t *testing.T, cmd *exec.Cmd, fds []fd) *child {
	t.Helper()
	c := &child{cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = c.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the echo server: %v", err)
	}
	for _, f := range fds {
		f.file.Close()
	}
	go func() { _ = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// wait waits up to timeout for the child to exit and returns its exit code,
// failing the test if it does not exit.
func (c *child) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("the echo server did not exit within %v; log:\n%s", timeout, c.log)
		return -1
	}
}

func (c *child) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, requires exit status 0 and returns the final counters
// logged by the server.
func (c *child) stop(t *testing.T) map[string]int {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if code := c.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; log:\n%s", code, c.log)
	}
	return finalStats(t, c.log.String())
}

var statRE = regexp.MustCompile(`([a-z][a-z ]*?) (\d+)(?:,|$)`)

// finalStats parses the counters from the server's last log line
// ("stopping: open 0, accepted 3, ...").
func finalStats(t *testing.T, log string) map[string]int {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		_, rest, ok := strings.Cut(lines[i], ": open ")
		if !ok {
			continue
		}
		stats := map[string]int{}
		for _, m := range statRE.FindAllStringSubmatch("open "+rest, -1) {
			stats[strings.TrimSpace(m[1])], _ = strconv.Atoi(m[2])
		}
		return stats
	}
	t.Fatalf("no counters in the log:\n%s", log)
	return nil
}

// fileOf returns a dup of a listener's or packet conn's fd as an *os.File
// and closes the original. Unix listeners keep their socket file.
func fileOf(t *testing.T, c io.Closer) *os.File {
	t.Helper()
	if ul, ok := c.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	f, err := c.(interface{ File() (*os.File, error) }).File()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	return f
}

func listenStream(t *testing.T, network, addr string) (fd, string) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	a := l.Addr().String()
	return fd{fileOf(t, l), network}, a
}

func listenPacket(t *testing.T, network, addr string) (fd, string) {
	t.Helper()
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	a := c.LocalAddr().String()
	return fd{fileOf(t, c), network}, a
}

// shortDir is a temporary folder with a path short enough for unix sockets
// (t.TempDir's can exceed the 108-byte limit).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "echo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// dial connects to addr; the sockets listen before the child starts, so no
// retry is needed.
func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads exactly len(msg) bytes back (or one
// message, for packet-oriented conns), with a deadline.
func roundTrip(c net.Conn, msg []byte) ([]byte, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(msg)+1)
	switch c.(type) {
	case *net.UDPConn:
		n, err := c.Read(got)
		return got[:n], err
	case *net.UnixConn:
		if c.RemoteAddr() != nil && c.RemoteAddr().Network() != "unix" {
			n, err := c.Read(got)
			return got[:n], err
		}
	}
	_, err := io.ReadFull(c, got[:len(msg)])
	return got[:len(msg)], err
}

func mustEcho(t *testing.T, what string, c net.Conn, msg []byte) {
	t.Helper()
	got, err := roundTrip(c, msg)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("%s: echoed %d bytes %.40q, want %d bytes %.40q", what, len(got), got, len(msg), msg)
	}
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isClosedByPeer reports whether err says the peer closed or reset the
// connection.
func isClosedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// vsockListener binds a vsock stream socket to VMADDR_CID_ANY (which works
// on these hosts even though nothing can connect: no loopback transport).
func vsockListener(t *testing.T) (fd, uint32) {
	t.Helper()
	s, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("vsock socket: %v", err)
	}
	if err := unix.Bind(s, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: unix.VMADDR_PORT_ANY}); err != nil {
		unix.Close(s)
		t.Fatalf("vsock bind: %v", err)
	}
	if err := unix.Listen(s, 16); err != nil {
		unix.Close(s)
		t.Fatalf("vsock listen: %v", err)
	}
	sa, err := unix.Getsockname(s)
	if err != nil {
		t.Fatal(err)
	}
	return fd{os.NewFile(uintptr(s), "vsock"), "vsock"}, sa.(*unix.SockaddrVM).Port
}

func dirPath(dir, name string) string { return filepath.Join(dir, name) }
