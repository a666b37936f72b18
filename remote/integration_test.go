package remote_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/remote"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/sandbox/testhost"
	"github.com/socktui/socktui/systemdbus"
)

func open(t *testing.T, ctx context.Context, h *testhost.Host) *remote.Host {
	t.Helper()
	target, err := remote.ParseTarget(h.Target())
	if err != nil {
		t.Fatal(err)
	}
	r, err := remote.Open(ctx, target, remote.Options{SSH: []string{"ssh", "-F", h.SSHConfig}})
	if err != nil {
		t.Fatalf("remote.Open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRemoteManager: the remote user manager over ssh is the same D-Bus
// client as locally: a socket made there is listed, the same as ssh's own
// systemctl --user list-sockets says.
func TestRemoteManager(t *testing.T) {
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := open(t, ctx, h)
	if r.UID() != 0 || r.RuntimeDir() != h.Sandbox.RuntimeDir {
		t.Fatalf("remote user %d, runtime dir %q; want 0, %q", r.UID(), r.RuntimeDir(), h.Sandbox.RuntimeDir)
	}
	c, err := systemdbus.Connect(ctx, systemdbus.Options{Dial: r.DialDBus})
	if err != nil {
		t.Fatalf("systemdbus.Connect over ssh: %v", err)
	}
	defer c.Close()
	out, err := h.SSH(ctx, "systemd-run", "--user", "--unit=rm-echo", "--socket-property=ListenStream=127.0.0.1:4243", "/bin/cat").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-run over ssh: %v %s", err, out)
	}
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{"rm-echo.socket"}})
	if err != nil || len(socks) != 1 || len(socks[0].Listen) != 1 || socks[0].Listen[0].Address != "127.0.0.1:4243" {
		t.Fatalf("ListSockets over ssh: %+v, %v", socks, err)
	}
	listed, err := h.SSH(ctx, "systemctl", "--user", "list-sockets", "--no-legend", "rm-echo.socket").Output()
	if err != nil || !strings.Contains(string(listed), "127.0.0.1:4243") || !strings.Contains(string(listed), "rm-echo.socket") {
		t.Fatalf("ssh systemctl --user list-sockets: %v %q", err, listed)
	}
}

// TestRemoteDial: DialContext reaches the remote host's own loopback, and
// a unix socket path there, through the master connection.
func TestRemoteDial(t *testing.T) {
	sandboxtest.Need(t, "socat", "socat")
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := open(t, ctx, h)
	path := filepath.Join(h.Dir, "echo.sock")
	for _, srvArgs := range [][]string{
		{"TCP4-LISTEN:4244,bind=127.0.0.1,reuseaddr,fork", "EXEC:cat"},
		{"TCP6-LISTEN:4244,bind=[::1],reuseaddr,fork", "EXEC:cat"},
		{"UNIX-LISTEN:" + path + ",fork", "EXEC:cat"},
	} {
		srv := exec.CommandContext(ctx, "nsenter", append([]string{"--net=/run/netns/" + h.Netns, "socat"}, srvArgs...)...)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { srv.Process.Kill(); srv.Wait() }()
	}
	for _, ep := range []struct{ network, address string }{
		{"tcp4", "127.0.0.1:4244"}, {"tcp6", "[::1]:4244"}, {"unix", path},
	} {
		var line string
		for {
			c, err := r.DialContext(ctx, ep.network, ep.address)
			if err != nil {
				t.Fatalf("DialContext %s %s: %v", ep.network, ep.address, err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("over ssh\n"))
			line, _ = bufio.NewReader(c).ReadString('\n')
			c.Close()
			if line != "" || ctx.Err() != nil {
				break
			}
			time.Sleep(20 * time.Millisecond) // socat not listening yet: the forward closed at once
		}
		if line != "over ssh\n" {
			t.Errorf("%s %s echoed %q", ep.network, ep.address, line)
		}
	}
	if _, err := r.DialContext(ctx, "tcp4", h.PeerAddr.String()+":22"); err == nil {
		t.Error("DialContext to a non-loopback address was not refused")
	}
}

// TestRemoteErrorsInWords: a refused key and a host key that does not
// match known_hosts are errors in words, not prompts or hangs.
func TestRemoteErrorsInWords(t *testing.T) {
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target, _ := remote.ParseTarget(h.Target())

	// A key the host does not know.
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	conf, _ := os.ReadFile(h.SSHConfig)
	wrong := filepath.Join(t.TempDir(), "ssh_config")
	os.WriteFile(wrong, []byte(strings.ReplaceAll(string(conf), h.Identity, other)), 0o644)
	_, err := remote.Open(ctx, target, remote.Options{SSH: []string{"ssh", "-F", wrong}})
	if !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "Permission denied") || !strings.Contains(err.Error(), "password") {
		t.Errorf("a refused key: %v", err)
	}
	t.Logf("refused key: %v", err)

	// known_hosts holding another key for the host.
	pub, _ := os.ReadFile(other + ".pub")
	if err := h.WriteKnownHosts(pub); err != nil {
		t.Fatal(err)
	}
	_, err = remote.Open(ctx, target, remote.Options{SSH: []string{"ssh", "-F", h.SSHConfig}})
	if !errors.Is(err, remote.ErrHostKey) || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a host key mismatch: %v", err)
	}
	t.Logf("host key mismatch: %v", err)
}

// TestRemoteReconnect: a cut network ends the master connection; dials
// fail in words while it is cut and succeed again once it is back.
func TestRemoteReconnect(t *testing.T) {
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target, _ := remote.ParseTarget(h.Target())
	r, err := remote.Open(ctx, target, remote.Options{SSH: []string{"ssh", "-F", h.SSHConfig}, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	conn, err := r.DialDBus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	for r.Connected() {
		if ctx.Err() != nil {
			t.Fatal("the master connection outlived the cut network")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for conn.Connected() {
		if ctx.Err() != nil {
			t.Fatal("the D-Bus connection outlived the master")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the cut noticed after %v", time.Since(cut))
	if _, err := r.DialDBus(ctx); !errors.Is(err, remote.ErrUnreachable) {
		t.Errorf("a dial while cut: %v", err)
	}
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	conn2, err := r.DialDBus(ctx)
	if err != nil {
		t.Fatalf("a dial once the network is back: %v", err)
	}
	conn2.Close()
}

// TestRemoteWrapper: a program run through Wrapper gets every argument
// as it was given, quotes, spaces and all, on the remote host.
func TestRemoteWrapper(t *testing.T) {
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := open(t, ctx, h)
	w, err := r.Wrapper("printf")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"%s|", "it's", "two words", "$HOME", "$(id)", "a;b", ""}
	out, err := exec.CommandContext(ctx, w, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(args[1:], "|") + "|"; string(out) != want {
		t.Errorf("remote printf printed %q, want %q", out, want)
	}
	out, err = exec.CommandContext(ctx, w, "%s", "x").Output()
	if err != nil || string(out) != "x" {
		t.Errorf("%q %v", out, err)
	}
}
