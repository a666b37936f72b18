package cli

import (
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
	"github.com/socktui/socktui/unit"
)

// TestUIHostErrorsInWords: the UI's host over real ssh to a test host
// whose key does not match known_hosts, then that refuses our key. Each
// time its Watch says why in words (a Disconnected wrapping ErrHostKey,
// then ErrAuth) and its actions say it is not connected and why, never
// prompting or hanging; once both are fixed it connects on its own, with
// no restart, and its Watch sends the host's units.
func TestUIHostErrorsInWords(t *testing.T) {
	h := sandboxtest.StartHost(t)
	installRemoteEcho(t, h, "rlazy", 4304, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	good, err := os.ReadFile(h.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	pub, _ := os.ReadFile(other + ".pub")
	if err := h.WriteKnownHosts(pub); err != nil {
		t.Fatal(err)
	}

	target, err := remote.ParseTarget(h.Target())
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Getenv: sshGetenv(h)}
	l := startLazyHost(ctx, target.String(), dialRemote(env, target, false, unit.KindAuto), 10*time.Millisecond, 100*time.Millisecond)
	defer l.Close()
	events := l.Watch(ctx)

	ev := nextEvent(ctx, t, events, "a Disconnected for the changed host key")
	if ev.Kind != unit.Disconnected || !errors.Is(ev.Err, remote.ErrHostKey) || !strings.Contains(ev.Err.Error(), "does not match") {
		t.Fatalf("with a changed host key: %+v", ev)
	}
	t.Logf("host key mismatch: %v", ev.Err)
	err = l.StopUnit(ctx, "rlazy.socket")
	if !errors.Is(err, errNotConnected) || !errors.Is(err, remote.ErrHostKey) || !strings.HasPrefix(err.Error(), target.String()+": not connected (") {
		t.Errorf("an action with a changed host key: %v", err)
	}

	// The right key, but the host knows none of ours.
	authorized := filepath.Join(h.Dir, "authorized_keys")
	keys, err := os.ReadFile(authorized)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(authorized, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.KnownHosts, good, 0o644); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(ctx, t, events, "a Disconnected for the refused key")
	if ev.Kind != unit.Disconnected || !errors.Is(ev.Err, remote.ErrAuth) || !strings.Contains(ev.Err.Error(), "refused every key") {
		t.Fatalf("with a refused key: %+v", ev)
	}
	t.Logf("auth failure: %v", ev.Err)

	// Fixed: it connects by itself.
	if err := os.WriteFile(authorized, keys, 0o600); err != nil {
		t.Fatal(err)
	}
	for ev = nextEvent(ctx, t, events, "the Snapshot once the key is accepted"); ev.Kind == unit.Disconnected; {
		ev = nextEvent(ctx, t, events, "the Snapshot once the key is accepted")
	}
	if ev.Kind != unit.Snapshot {
		t.Fatalf("after fixing the keys: %+v, want a Snapshot", ev)
	}
	found := false
	for _, s := range ev.Sockets {
		found = found || s.Unit == "rlazy.socket"
	}
	if !found {
		t.Errorf("the Snapshot lacks rlazy.socket: %+v", ev.Sockets)
	}
	if err := l.StopUnit(ctx, "rlazy.socket"); err != nil {
		t.Errorf("stop once connected: %v", err)
	}
	if st := remoteState(t, h, "rlazy.socket"); st != "inactive" {
		t.Errorf("rlazy.socket is %s after the UI host's stop", st)
	}
	l.Close()
	// Close has waited for the master connection to exit; the commands
	// that rode on it end with it.
	if left := testhost.WaitNoProcessesWith(h.SSHConfig, 30*time.Second); len(left) > 0 {
		t.Fatalf("ssh processes left after Close:\n%s", strings.Join(left, "\n"))
	}
}

// TestUIHostCutSaysSSHsWords: a host whose network is cut while the UI
// watches it: the manager's connection drops first ("connection to the
// manager closed"), then, once ssh's keepalives give up, a Disconnected in
// ssh's own words follows; with the network back, the watch reconnects.
func TestUIHostCutSaysSSHsWords(t *testing.T) {
	h := sandboxtest.StartHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	target, err := remote.ParseTarget(h.Target())
	if err != nil {
		t.Fatal(err)
	}
	l := startLazyHost(ctx, target.String(), dialRemote(&Env{Getenv: sshGetenv(h)}, target, false, unit.KindAuto), 10*time.Millisecond, 100*time.Millisecond)
	defer l.Close()
	events := l.Watch(ctx)
	until := func(what string, ok func(unit.Event) bool) unit.Event {
		t.Helper()
		for {
			if ev := nextEvent(ctx, t, events, what); ok(ev) {
				return ev
			}
		}
	}
	until("the host's snapshot", func(ev unit.Event) bool { return ev.Kind == unit.Snapshot })

	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	first := until("the connection lost", func(ev unit.Event) bool { return ev.Kind == unit.Disconnected })
	ev := first
	if !errors.Is(ev.Err, remote.ErrUnreachable) {
		ev = until("ssh's own words", func(ev unit.Event) bool { return ev.Kind == unit.Disconnected && ev.Err != first.Err })
	}
	if !errors.Is(ev.Err, remote.ErrUnreachable) || !strings.Contains(ev.Err.Error(), "ssh "+target.String()) {
		t.Errorf("the cut host's reason: %v, want ssh's words (remote.ErrUnreachable)", ev.Err)
	}
	t.Logf("cut: %v, then %v", first.Err, ev.Err)

	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	until("the host back", func(ev unit.Event) bool { return ev.Kind == unit.Reconnected })
}
