package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/unit"
)

// TestEnableDisableKeys: e enables and E disables the selected socket's
// unit file through the manager, as one job whose end the timeline shows;
// a manager's refusal is the status line's error; a transient socket is
// refused at once, without a call.
func TestEnableDisableKeys(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	rec := func(verb string, err error) func(context.Context, []string) error {
		return func(_ context.Context, names []string) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, verb+" "+strings.Join(names, ","))
			return err
		}
	}
	mgr := &fakeManager{enable: rec("enable", nil), disable: rec("disable", nil)}
	for _, tt := range []struct{ key, want string }{{"e", "enable echo.socket"}, {"E", "disable echo.socket"}} {
		calls = nil
		sk := echoSocket(unit.StateIdle)
		sk.UnitFileState = "disabled"
		m := loaded(t, Config{Manager: mgr}, sk)
		m, cmd := apply(m, keyMsg(tt.key))
		if m.status.jobs != 1 {
			t.Errorf("%s: %d jobs, want 1", tt.key, m.status.jobs)
		}
		msgs, _ := runCmdTicks(cmd)
		if !slices.Equal(calls, []string{tt.want}) {
			t.Errorf("%s: calls %v, want %s", tt.key, calls, tt.want)
		}
		for _, msg := range msgs {
			m, _ = apply(m, msg)
		}
		if m.status.jobs != 0 || m.status.lastErr != "" {
			t.Errorf("%s: after the job: jobs %d, error %q", tt.key, m.status.jobs, m.status.lastErr)
		}
		if view := ansi.Strip(m.View()); !strings.Contains(view, tt.want+": done") {
			t.Errorf("%s: the timeline does not say %q:\n%s", tt.key, tt.want+": done", view)
		}
	}

	// The manager's refusal, in its words.
	mgr.enable = rec("enable", errors.New("no installation config: the unit files have no [Install] section"))
	m := loaded(t, Config{Manager: mgr}, echoSocket(unit.StateIdle))
	m, cmd := apply(m, keyMsg("e"))
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	if want := "enable echo.socket: no installation config"; !strings.HasPrefix(m.status.lastErr, want) {
		t.Errorf("a refused enable: error %q, want it to start with %q", m.status.lastErr, want)
	}

	for _, st := range []string{"transient", "generated", "masked"} {
		calls = nil
		sk := echoSocket(unit.StateIdle)
		sk.UnitFileState = st
		m := loaded(t, Config{Manager: mgr}, sk)
		m, cmd := apply(m, keyMsg("e"))
		if cmd != nil || len(calls) != 0 || m.status.jobs != 0 || !strings.Contains(m.status.lastErr, st) {
			t.Errorf("e on a %s socket: cmd %v, calls %v, jobs %d, error %q; want a refusal naming it", st, cmd != nil, calls, m.status.jobs, m.status.lastErr)
		}
	}
}

// TestDetailShowsUnitFileState: the detail pane gives the socket's unit
// file state on its socket line (a golden), and follows a change of it.
func TestDetailShowsUnitFileState(t *testing.T) {
	sk := echoSocket(unit.StateIdle)
	sk.UnitFileState = "enabled"
	m := newTestModel(t, Config{Select: "echo.socket"}, 100, 24)
	m, _ = apply(m, snapshot(append(otherSockets(), sk)...))
	m, _ = apply(m, keyMsg("enter"))
	view := m.View()
	assertFrame(t, view, 100, 24)
	golden(t, "detail_unitfile", view)
	if !strings.Contains(ansi.Strip(view), "load loaded  file enabled  result success") {
		t.Errorf("the detail pane does not show the unit file state:\n%s", ansi.Strip(view))
	}

	sk.UnitFileState = "disabled"
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0.Add(time.Second), Unit: sk.Unit, Socket: &sk}))
	if v := ansi.Strip(m.View()); !strings.Contains(v, "file disabled") || strings.Contains(v, "file enabled") {
		t.Errorf("after the change to disabled:\n%s", v)
	}
}
