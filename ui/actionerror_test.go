package ui

import (
	"context"
	"errors"
	"testing"
)

// TestActionError: an action's error names the action and the unit once,
// whether or not the manager's error already does (systemdbus.Client's
// "start echo.socket: ..." reached the status line as "start echo.socket:
// start echo.socket: ...").
func TestActionError(t *testing.T) {
	why := errors.New("why")
	for _, c := range []struct {
		action, unit string
		err          error
		want         string
	}{
		{"start", "echo.socket", why, "start echo.socket: why"},
		{"start", "echo.socket", errors.New("start echo.socket: ssh web1: no route to host"), "start echo.socket: ssh web1: no route to host"},
		{"stop service", "echo.service", errors.New("stop echo.service: the job timed out"), "stop echo.service: the job timed out"},
		{"reset-failed", "echo.socket", errors.New("start echo.socket: refused"), "start echo.socket: refused"},
		// Another unit named first is not this one.
		{"start", "echo.socket", errors.New("start echo.socket.d: x"), "start echo.socket: start echo.socket.d: x"},
		{"start", "echo.socket", errors.New("echo.socket: x"), "start echo.socket: echo.socket: x"},
		{"start", "a", errors.New("web1: not connected"), "start a: web1: not connected"},
	} {
		got := actionError(c.action, c.unit, c.err)
		if got.Error() != c.want {
			t.Errorf("actionError(%q, %q, %q) = %q, want %q", c.action, c.unit, c.err, got, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("actionError(%q, %q, %q) does not wrap the error", c.action, c.unit, c.err)
		}
	}
}

// TestRunActionNamesUnitOnce: runAction's message names a unit once when
// the manager's error already does.
func TestRunActionNamesUnitOnce(t *testing.T) {
	fn := func(_ context.Context, name string) error { return errors.New("start " + name + ": refused") }
	msg := runAction(context.Background(), "start", fn, []string{"echo.socket"})().(actionFinishedMsg)
	if msg.err == nil || msg.err.Error() != "start echo.socket: refused" {
		t.Errorf("runAction's error %v, want start echo.socket: refused", msg.err)
	}
}
