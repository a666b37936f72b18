package systemdbus

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// TestListingPathsAgree lists the same manager through the private-socket
// codec (internal/wire) and through godbus (a custom Dial, which has no fast
// path), over sockets in every state and shape a listing reads, and wants
// the same sockets, field by field.
func TestListingPathsAgree(t *testing.T) { sandboxtest.OnStacks(t, testListingPathsAgree) }

func testListingPathsAgree(t *testing.T, s *sandbox.Sandbox) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	active, accept, failing := sandboxtest.FreePort(t), sandboxtest.FreePort(t), sandboxtest.FreePort(t)
	sandboxtest.InstallUnits(t, s, map[string]string{
		"pa-idle.socket": fmt.Sprintf("[Socket]\nListenStream=%s\nListenDatagram=127.0.0.1:%d\nListenSequentialPacket=%s\nListenFIFO=%s\n",
			filepath.Join(dir, "idle.sock"), sandboxtest.FreePort(t), filepath.Join(dir, "seq.sock"), filepath.Join(dir, "fifo")),
		"pa-idle.service":  "[Service]\nExecStart=/usr/bin/podman run --rm --name pa-box localhost/none\n",
		"pa-run.socket":    fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", active),
		"pa-run.service":   "[Service]\nExecStart=/bin/sleep infinity\n",
		"pa-acc.socket":    fmt.Sprintf("[Socket]\nAccept=yes\nListenStream=127.0.0.1:%d\n", accept),
		"pa-acc@.service":  "[Service]\nExecStart=/bin/sleep 30\nStandardInput=socket\n",
		"pa-fail.socket":   fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", failing),
		"pa-fail.service":  "[Unit]\nStartLimitBurst=1\nStartLimitIntervalSec=60\n[Service]\nExecStart=/bin/false\n",
		"pa-env.socket":    fmt.Sprintf("[Socket]\nListenStream=%s\nService=pa-other.service\n", filepath.Join(dir, "env.sock")),
		"pa-other.service": "[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nExecStart=/usr/bin/podman run --rm localhost/none\n",
		"pa-off.socket":    fmt.Sprintf("[Socket]\nListenStream=%s\n", filepath.Join(dir, "off.sock")),
	})
	sandboxtest.Systemctl(t, s, "start", "pa-idle.socket", "pa-run.socket", "pa-acc.socket", "pa-fail.socket", "pa-env.socket")
	for _, port := range []int{active, accept, failing} {
		if c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			defer c.Close()
		}
	}

	fast, err := Connect(ctx, Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	slow, err := Connect(ctx, Options{Dial: func(ctx context.Context) (*dbus.Conn, error) {
		return DialPrivate(ctx, filepath.Join(s.RuntimeDir, "systemd", "private"))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if fast.cur.private == "" || slow.cur.private != "" {
		t.Fatalf("private socket paths %q and %q: want the fast path on the first client only", fast.cur.private, slow.cur.private)
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		a, errA := fast.ListSockets(ctx, ListOptions{Patterns: []string{"pa-*"}, All: true})
		b, errB := slow.ListSockets(ctx, ListOptions{Patterns: []string{"pa-*"}, All: true})
		if errA != nil || errB != nil {
			t.Fatalf("ListSockets: %v, %v", errA, errB)
		}
		by := map[string]unit.Socket{}
		for _, sk := range a {
			by[sk.Unit] = sk
		}
		// The socket itself failed (its service's start limit), not only
		// its service: on systemd 257 a listing can come between the two.
		settled := len(a) == 6 && by["pa-fail.socket"].ActiveState == unit.Failed &&
			by["pa-run.socket"].State == unit.StateActive && by["pa-acc.socket"].NAccepted == 1
		if settled && reflect.DeepEqual(a, b) {
			for _, sk := range a {
				t.Logf("%s: %s %v triggers %v accepted %d services %+v", sk.Unit, sk.State, sk.Listen, sk.Triggers, sk.NAccepted, sk.Services)
			}
			checkShapes(t, a)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two paths disagree (or the units never settled):\nfast %+v\nslow %+v", a, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkShapes makes sure the listing compared above holds what it is meant
// to cover: several Listen types, an Accept=yes socket with a connection,
// a failed socket, a running service with a PID, containers named from
// ExecStart and from the environment.
func checkShapes(t *testing.T, socks []unit.Socket) {
	t.Helper()
	by := map[string]unit.Socket{}
	for _, sk := range socks {
		by[sk.Unit] = sk
	}
	if got := len(by["pa-idle.socket"].Listen); got != 4 {
		t.Errorf("pa-idle.socket has %d Listen entries, want 4", got)
	}
	if sk := by["pa-acc.socket"]; !sk.Accept || sk.NAccepted != 1 {
		t.Errorf("pa-acc.socket: Accept %v NAccepted %d", sk.Accept, sk.NAccepted)
	}
	if sk := by["pa-fail.socket"]; sk.Result == "success" {
		t.Errorf("pa-fail.socket: Result %q", sk.Result)
	}
	if sk := by["pa-run.socket"]; len(sk.Services) != 1 || sk.Services[0].MainPID == 0 || sk.Services[0].Since.IsZero() {
		t.Errorf("pa-run.socket: services %+v, want one running with a PID and a time", sk.Services)
	}
	if sk := by["pa-idle.socket"]; len(sk.Services) != 1 || sk.Services[0].Container != "pa-box" {
		t.Errorf("pa-idle.socket: services %+v, want container pa-box", sk.Services)
	}
	if sk := by["pa-env.socket"]; len(sk.Services) != 1 || sk.Services[0].Unit != "pa-other.service" || sk.Services[0].Container != "pa-other" {
		t.Errorf("pa-env.socket: services %+v, want pa-other.service with container pa-other", sk.Services)
	}
	if sk := by["pa-off.socket"]; sk.State != unit.StateStopped {
		t.Errorf("pa-off.socket: %s, want stopped", sk.State)
	}
}
