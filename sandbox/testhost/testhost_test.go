package testhost_test

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestHostOverSSH: a login on the test host reaches its user manager, whose
// units listen on the test host's loopback, not this machine's; Close
// leaves no namespace, veth or folder.
func TestHostOverSSH(t *testing.T) {
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	start := time.Now()
	out, err := h.SSH(ctx, `echo "$XDG_RUNTIME_DIR"; systemctl --user is-system-running; id -u`).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
	t.Logf("ssh login and a command: %v", time.Since(start))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[0] != h.Sandbox.RuntimeDir || lines[2] != "0" {
		t.Fatalf("the login's runtime dir, manager state and uid: %q, want %s, ..., 0", lines, h.Sandbox.RuntimeDir)
	}

	// A listener in the namespace is on the test host's loopback, which
	// ssh's forwarding reaches (ssh -W) and this machine does not.
	sandboxtest.Need(t, "socat", "socat")
	srv := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+h.Netns,
		"socat", "TCP-LISTEN:4242,bind=127.0.0.1,reuseaddr,fork", "SYSTEM:echo remote-loopback")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	for {
		inNS, _ := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+h.Netns, "ss", "-Hltn").Output()
		if strings.Contains(string(inNS), "127.0.0.1:4242") {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("socat did not listen in the namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	out, err = h.SSH(ctx, "-W", "127.0.0.1:4242").Output()
	if err != nil || strings.TrimSpace(string(out)) != "remote-loopback" {
		t.Fatalf("ssh -W 127.0.0.1:4242: %v %q", err, out)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4242", time.Second); err == nil {
		b, _ := io.ReadAll(io.LimitReader(c, 64))
		c.Close()
		if strings.Contains(string(b), "remote-loopback") {
			t.Fatal("the test host's loopback listener answered on this machine's loopback")
		}
	}
	srv.Process.Kill()
	srv.Wait()

	// A cut never sends the test host's packets out by the default route:
	// the kernel answers "unreachable" on this machine until LinkUp.
	route := func() string {
		out, _ := exec.Command("ip", "route", "get", h.Addr.String()).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	if r := route(); !strings.Contains(r, "unreachable") && !strings.Contains(r, "No route to host") {
		t.Errorf("while cut, the route to %s is %q, want unreachable", h.Addr, r)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr.String(), "22"), 5*time.Second); err == nil {
		c.Close()
		t.Error("a connection to the cut test host succeeded")
	} else if !strings.Contains(err.Error(), "no route to host") {
		t.Errorf("connecting to the cut test host: %v, want no route to host", err)
	}
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	if r := route(); !strings.Contains(r, "dev "+h.Veth()) {
		t.Errorf("after LinkUp, the route to %s is %q, want dev %s", h.Addr, r, h.Veth())
	}
	if out, err := h.SSH(ctx, "true").CombinedOutput(); err != nil {
		t.Errorf("ssh after LinkUp: %v %s", err, out)
	}
	if err := h.LinkDown(); err != nil { // Close removes a cut's route too
		t.Fatal(err)
	}

	dir, ns, veth := h.Dir, h.Netns, h.Veth()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
		t.Errorf("namespace %s is left", ns)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("folder %s is left", dir)
	}
	if err := exec.Command("ip", "link", "show", veth).Run(); err == nil {
		t.Errorf("veth %s is left", veth)
	}
	if out, _ := exec.Command("ip", "route", "show", "type", "unreachable").Output(); strings.Contains(string(out), h.Addr.String()[:strings.LastIndexByte(h.Addr.String(), '.')]+".0/30") {
		t.Errorf("the cut's route is left: %s", out)
	}
}
