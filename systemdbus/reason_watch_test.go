package systemdbus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// TestWatchExplainsFailuresInTheBackground: when a container service fails
// because podman could not start it, Watch reports the failure at once with
// podman's exit status, keeps delivering other units' events while the
// image check runs, and then sends the finer reason.
func TestWatchExplainsFailuresInTheBackground(t *testing.T) {
	s := sandboxtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A stand-in podman that fails as podman run does when it cannot
	// start a container.
	bin := t.TempDir()
	fake := filepath.Join(bin, "podman")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexit 125\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sandboxtest.InstallUnits(t, s, map[string]string{
		"fr.socket":    fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t)),
		"fr.service":   fmt.Sprintf("[Service]\nExecStart=%s run --pull=never --name frbox localhost/missing:1\n", fake),
		"frok.socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t)),
		"frok.service": "[Service]\nExecStart=/bin/sleep infinity\n",
	})
	sandboxtest.Systemctl(t, s, "start", "fr.socket")

	c, err := Connect(ctx, Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checking, release := make(chan string, 1), make(chan struct{})
	c.imageExists = func(ctx context.Context, image string) (bool, error) {
		checking <- image
		select {
		case <-release:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	events := c.Watch(ctx)
	next := func(what string, ok func(unit.Event) bool) unit.Event {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ok(ev) {
					return ev
				}
			case <-ctx.Done():
				t.Fatalf("no event: %s", what)
			}
		}
	}
	next("snapshot", func(ev unit.Event) bool { return ev.Kind == unit.Snapshot })

	reasonOf := func(ev unit.Event) string {
		if ev.Kind != unit.UnitChanged || ev.Unit != "fr.socket" || len(ev.Socket.Services) != 1 {
			return ""
		}
		return ev.Socket.Services[0].Reason
	}
	sandboxtest.Systemctl(t, s, "start", "--no-block", "fr.service")
	ev := next("fr.service failed", func(ev unit.Event) bool { return reasonOf(ev) != "" })
	if r := reasonOf(ev); r != "podman exited 125: it could not start the container" {
		t.Fatalf("first reason %q, want podman's exit status", r)
	}
	if svc := ev.Socket.Services[0]; svc.ActiveState != "failed" || svc.Container != "frbox" {
		t.Fatalf("service %+v, want failed, container frbox", svc)
	}
	select {
	case image := <-checking:
		if image != "localhost/missing:1" {
			t.Fatalf("checked image %q", image)
		}
	case <-ctx.Done():
		t.Fatal("no image check")
	}

	// While the check hangs, other units' changes still arrive.
	sandboxtest.Systemctl(t, s, "start", "frok.socket")
	next("frok.socket listening during the check", func(ev unit.Event) bool {
		return (ev.Kind == unit.UnitChanged || ev.Kind == unit.UnitAdded) && ev.Unit == "frok.socket" && ev.Socket.State == unit.StateIdle
	})

	close(release)
	ev = next("the finer reason", func(ev unit.Event) bool { return strings.Contains(reasonOf(ev), "not in local storage") })
	want := "image localhost/missing:1 is not in local storage and the service runs it with --pull=never: build or pull it, then reset-failed"
	if r := reasonOf(ev); r != want {
		t.Errorf("finer reason %q, want %q", r, want)
	}
	if st, why := unit.DeriveState(*ev.Socket); st != unit.StateFailed || !strings.Contains(why, want) {
		t.Errorf("state %s (%s), want failed with the reason", st, why)
	}
}
