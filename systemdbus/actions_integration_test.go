package systemdbus_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
)

// TestConcurrentStartsShareAJob starts one slow unit from several
// goroutines at once: systemd merges the starts into one job and answers
// each call with that job's path, and every caller must see its end.
func TestConcurrentStartsShareAJob(t *testing.T) {
	sandboxtest.OnStacks(t, testConcurrentStartsShareAJob)
}

func testConcurrentStartsShareAJob(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	sandboxtest.InstallUnits(t, s, map[string]string{
		"concurrent-start.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sleep 1\n",
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = c.StartUnit(ctx, "concurrent-start.service") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("start %d: %v", i, err)
		}
	}
	if got := show(t, s, "concurrent-start.service", "ActiveState")["ActiveState"]; got != "active" {
		t.Errorf("concurrent-start.service is %s, want active", got)
	}
}

// TestJobOutlivesTheConnection: a job still running when the manager
// re-executes (which closes every connection) ends the wait with
// ErrDisconnected, not a hang; the next action reconnects.
func TestJobOutlivesTheConnection(t *testing.T) {
	sandboxtest.OnStacks(t, testJobOutlivesTheConnection)
}

func testJobOutlivesTheConnection(t *testing.T, s *sandbox.Sandbox) {
	c := connect(t, s)
	ctx := testCtx(t)
	sandboxtest.InstallUnits(t, s, map[string]string{
		"never.service": "[Service]\nExecStartPre=/bin/sleep infinity\nExecStart=/bin/true\n",
		"other.service": "[Service]\nExecStart=/bin/sleep infinity\n",
	})
	done := make(chan error, 1)
	go func() { done <- c.StartUnit(ctx, "never.service") }()
	waitFor(t, "never.service activating", func() bool {
		return show(t, s, "never.service", "ActiveState")["ActiveState"] == "activating"
	})
	sandboxtest.Systemctl(t, s, "daemon-reexec")
	if err := <-done; !errors.Is(err, systemdbus.ErrDisconnected) {
		t.Errorf("StartUnit across a daemon-reexec: %v, want ErrDisconnected", err)
	}
	if err := c.StartUnit(ctx, "other.service"); err != nil {
		t.Errorf("an action after the reexec: %v", err)
	}
	sandboxtest.Systemctl(t, s, "stop", "never.service", "other.service")
}
