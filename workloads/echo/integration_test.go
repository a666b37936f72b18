package echo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/elfdeps"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// TestUnitsInSandbox installs the echo units in a private systemd user
// manager, in both modes, and checks socket activation end to end with
// socat as the client: every endpoint echoes, the service starts on the
// first connection, exits when idle while the socket keeps listening, comes
// back on the next connection, and stopping it leaves nothing running.
func TestUnitsInSandbox(t *testing.T) {
	sandboxtest.Need(t, "socat", "socat")
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")

	t.Run("bare", func(t *testing.T) {
		testUnits(t, s, echo.Spec{Mode: echo.ModeBare, Binary: bin})
	})
	t.Run("container", func(t *testing.T) {
		tag := echotest.Image(t, s, bin, "test")
		if ok, err := echo.ImageExists(context.Background(), tag, s.Env()); err != nil || !ok {
			t.Fatalf("ImageExists(%s) = %v, %v after BuildImage", tag, ok, err)
		}
		testUnits(t, s, echo.Spec{Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir})
	})

	// The demo's shape: socktui serves as its hidden subcommand, and the
	// image is built from it. This test binary stands in for socktui
	// (TestMain serves echo.Subcommand); built with cgo, as here, it is
	// dynamically linked, so its image must carry the loader and libc.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bare, subcommand of the running binary", func(t *testing.T) {
		testUnits(t, s, echo.Spec{Name: fmt.Sprintf("socktui-echo-test-self-%d", os.Getpid()),
			Mode: echo.ModeBare, Binary: self, BinaryArgs: []string{echo.Subcommand}})
	})
	t.Run("container, image of the running binary", func(t *testing.T) {
		files, err := elfdeps.Needs(self)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s needs from the host: %v", filepath.Base(self), files)
		tag := echotest.Image(t, s, self, "self", echo.Subcommand)
		testUnits(t, s, echo.Spec{Name: fmt.Sprintf("socktui-echo-test-self-ctr-%d", os.Getpid()),
			Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir})
	})
}

func testUnits(t *testing.T, s *sandbox.Sandbox, spec echo.Spec) {
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("socktui-echo-test-%s-%d", spec.Mode, os.Getpid())
	}
	spec.Port = freeDualPort(t)
	spec.UnixDir = filepath.Join(s.Home, "echo-"+string(spec.Mode))
	spec.VsockPort = freeVsockPort(t)
	spec.IdleExit = 2 * time.Second
	u, err := spec.Units()
	if err != nil {
		t.Fatal(err)
	}
	if spec.Mode == echo.ModeContainer {
		echotest.RemoveContainerAtCleanup(t, s, spec.Name)
	}

	sandboxtest.InstallUnits(t, s, map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()})
	sandboxtest.Systemctl(t, s, "start", u.Name)
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })

	if st := unitProps(t, s, u.Name); st["ActiveState"] != "active" || st["SubState"] != "listening" {
		t.Fatalf("%s is %s/%s, want active/listening", u.Name, st["ActiveState"], st["SubState"])
	}
	if st := unitProps(t, s, u.ServiceName()); st["ActiveState"] != "inactive" {
		t.Fatalf("%s is %s before any connection, want inactive", u.ServiceName(), st["ActiveState"])
	}

	port := strconv.Itoa(spec.Port)
	begin := time.Now()
	socatEcho(t, "TCP4:127.0.0.1:"+port, "tcp4")
	t.Logf("%s: first echo over tcp4 after %v (activation included)", spec.Mode, time.Since(begin).Round(time.Millisecond))
	waitUnit(t, s, u.ServiceName(), "active")
	// STATUS= lines reach systemd in bare mode only: conmon's notify
	// proxy forwards READY=1 and WATCHDOG=1 and drops the rest.
	if spec.Mode == echo.ModeBare {
		// An open connection keeps the server from its 2 s idle exit
		// (which would replace the counters) however slow this machine is.
		hold, err := net.Dial("tcp4", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		counters := regexp.MustCompile(`open [1-9]\d*, accepted [1-9]\d*,`)
		waitFor(t, 30*time.Second, "StatusText with the counters", func() bool {
			return counters.MatchString(unitProps(t, s, u.ServiceName())["StatusText"])
		})
		hold.Close()
	}

	socatEcho(t, "TCP6:[::1]:"+port, "tcp6")
	socatEcho(t, "UDP4:127.0.0.1:"+port, "udp4")
	socatEcho(t, "UDP6:[::1]:"+port, "udp6")
	socatEcho(t, "UNIX-CONNECT:"+filepath.Join(spec.UnixDir, echo.UnixStreamName), "unix stream")
	socatEcho(t, "UNIX-CONNECT:"+filepath.Join(spec.UnixDir, echo.UnixSeqPacketName)+",type=5", "unix seqpacket")
	if spec.Mode == echo.ModeBare {
		// In a container the reply's destination, a path on the host,
		// does not exist in the container's mount namespace: unix
		// datagram replies work in bare mode only.
		client := filepath.Join(spec.UnixDir, "client.sock")
		socatEcho(t, "UNIX-SENDTO:"+filepath.Join(spec.UnixDir, echo.UnixDatagramName)+",bind="+client, "unix datagram")
		os.Remove(client)
	}

	// The vsock listener is bound (the socket unit would have failed
	// otherwise); connecting needs a transport these hosts lack.
	listen := unitProps(t, s, u.Name)["Listen"]
	// systemd writes VMADDR_CID_ANY as an empty CID.
	if want := fmt.Sprintf("vsock::%d (Stream)", spec.VsockPort); !strings.Contains(listen, want) {
		t.Errorf("%s Listen = %q, want it to include %s", u.Name, listen, want)
	}
	if err := vsockDialLocal(uint32(spec.VsockPort), time.Second); err == nil {
		t.Logf("vsock loopback connected: this host has a vsock loopback transport")
	} else {
		t.Logf("vsock probe: %v (expected on hosts without vsock loopback)", err)
	}

	// Idle exit: the service goes away, the socket keeps listening.
	waitUnit(t, s, u.ServiceName(), "inactive")
	if st := unitProps(t, s, u.ServiceName()); st["Result"] != "success" {
		t.Errorf("%s Result = %q after the idle exit, want success", u.ServiceName(), st["Result"])
	}
	if st := unitProps(t, s, u.Name); st["ActiveState"] != "active" || st["SubState"] != "listening" {
		t.Fatalf("%s is %s/%s after the idle exit, want active/listening", u.Name, st["ActiveState"], st["SubState"])
	}
	if spec.Mode == echo.ModeContainer {
		waitNoContainer(t, spec.Name)
	}

	// Activated again; then a stop while active really stops it.
	socatEcho(t, "TCP4:127.0.0.1:"+port, "tcp4 again")
	waitUnit(t, s, u.ServiceName(), "active")
	sandboxtest.Systemctl(t, s, "stop", u.ServiceName())
	if st := unitProps(t, s, u.ServiceName()); st["ActiveState"] != "inactive" {
		t.Errorf("%s is %s after stop, want inactive", u.ServiceName(), st["ActiveState"])
	}
	if spec.Mode == echo.ModeContainer {
		waitNoContainer(t, spec.Name)
	}
	for _, pid := range sandbox.Processes(s.Dir) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); strings.HasSuffix(exe, "socktui-echo") || (spec.Binary != "" && exe == spec.Binary) {
			t.Errorf("process %d (%s) still runs after the service stopped", pid, exe)
		}
	}

	sandboxtest.Systemctl(t, s, "stop", u.Name)
	if _, err := os.Stat(filepath.Join(spec.UnixDir, echo.UnixStreamName)); err == nil {
		t.Errorf("the unix socket file outlived the socket unit (RemoveOnStop)")
	}
}

// unitProps reads a unit's properties with systemctl show.
func unitProps(t *testing.T, s *sandbox.Sandbox, unit string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.Systemctl(ctx, "show", unit,
		"-p", "ActiveState", "-p", "SubState", "-p", "Result", "-p", "StatusText", "-p", "Listen").Output()
	if err != nil {
		t.Fatalf("systemctl show %s: %v", unit, err)
	}
	props := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			if props[k] != "" {
				v = props[k] + " " + v
			}
			props[k] = v
		}
	}
	return props
}

func waitUnit(t *testing.T, s *sandbox.Sandbox, unit, state string) {
	t.Helper()
	var last map[string]string
	deadline := time.Now().Add(60 * time.Second)
	for {
		last = unitProps(t, s, unit)
		if last["ActiveState"] == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s/%s (result %s), want %s", unit, last["ActiveState"], last["SubState"], last["Result"], state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitNoContainer(t *testing.T, name string) {
	t.Helper()
	waitFor(t, 30*time.Second, "container "+name+" to be gone", func() bool {
		err := exec.Command("podman", "container", "exists", name).Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return true
		}
		return false
	})
}

// socatEcho runs socat with address, writes a line to it, and requires the
// same line back, like a user at a terminal would.
func socatEcho(t *testing.T, address, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "socat", "STDIO", address)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	msg := []byte("echo over " + what + "\n")
	if _, err := stdin.Write(msg); err != nil {
		t.Fatalf("%s: writing to socat: %v", what, err)
	}
	got := make([]byte, len(msg))
	errc := make(chan error, 1)
	go func() { _, err := io.ReadFull(stdout, got); errc <- err }()
	select {
	case err := <-errc:
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s: socat %s read %q (err %v), want %q; socat said: %s", what, address, got, err, msg, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s: no echo through socat %s within 20s; socat said: %s", what, address, stderr.String())
	}
}

// freeDualPort finds a port free for TCP and UDP on both 127.0.0.1 and ::1.
func freeDualPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		var closers []io.Closer
		ok := true
		for _, try := range []struct{ network, addr string }{{"udp4", "127.0.0.1"}, {"tcp6", "[::1]"}, {"udp6", "[::1]"}} {
			addr := try.addr + ":" + strconv.Itoa(port)
			var c io.Closer
			if strings.HasPrefix(try.network, "tcp") {
				c, err = net.Listen(try.network, addr)
			} else {
				c, err = net.ListenPacket(try.network, addr)
			}
			if err != nil {
				ok = false
				break
			}
			closers = append(closers, c)
		}
		l.Close()
		for _, c := range closers {
			c.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free for TCP and UDP on 127.0.0.1 and ::1")
	return 0
}

// freeVsockPort asks the kernel for a free vsock port on VMADDR_CID_ANY.
func freeVsockPort(t *testing.T) int {
	t.Helper()
	f, port := vsockListener(t)
	f.file.Close()
	return int(port)
}

// vsockDialLocal connects to the local CID (1) with a timeout; on hosts
// without a vsock loopback transport it fails quickly.
func vsockDialLocal(port uint32, timeout time.Duration) error {
	s, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	err = unix.Connect(s, &unix.SockaddrVM{CID: unix.VMADDR_CID_LOCAL, Port: port})
	if err == nil {
		return nil
	}
	if err != unix.EINPROGRESS {
		return err
	}
	fds := []unix.PollFd{{Fd: int32(s), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, int(timeout.Milliseconds()))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("vsock connect to CID 1 timed out after %v", timeout)
	}
	if e, _ := unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
		return unix.Errno(e)
	}
	return nil
}
