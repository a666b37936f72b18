package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// fakeDoctor is a Doctor whose Diagnose is a func field, counting its
// calls and the units each was asked about.
type fakeDoctor struct {
	mu       sync.Mutex
	asked    [][]string
	diagnose func(socks []unit.Socket, probes map[string][]probe.Result) map[string][]doctor.Finding
}

var _ Doctor = (*fakeDoctor)(nil)

func (f *fakeDoctor) Diagnose(_ context.Context, socks []unit.Socket, probes map[string][]probe.Result) (map[string][]doctor.Finding, error) {
	f.mu.Lock()
	var names []string
	for _, s := range socks {
		names = append(names, s.Unit)
	}
	f.asked = append(f.asked, names)
	f.mu.Unlock()
	return f.diagnose(socks, probes), nil
}

func (f *fakeDoctor) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.asked...)
}

// startLimitDoctor finds a start limit on every failed socket.
func startLimitDoctor() *fakeDoctor {
	return &fakeDoctor{diagnose: func(socks []unit.Socket, _ map[string][]probe.Result) map[string][]doctor.Finding {
		out := map[string][]doctor.Finding{}
		for _, s := range socks {
			if s.Result == "service-start-limit-hit" {
				out[s.Unit] = []doctor.Finding{{Unit: s.Unit, Check: doctor.CheckStartLimit, Severity: doctor.Error,
					Evidence: s.Unit + " (Result=service-start-limit-hit): echo.service failed to start too often",
					Fix:      "socktui reset-failed " + s.Unit + " (UI: R)", Action: doctor.ActionResetFailed}}
			}
		}
		return out
	}}
}

func TestDoctorMark(t *testing.T) {
	for _, c := range []struct {
		sevs []doctor.Severity
		want string
	}{
		{nil, ""},
		{[]doctor.Severity{doctor.Info}, "i"},
		{[]doctor.Severity{doctor.Info, doctor.Warning}, "!"},
		{[]doctor.Severity{doctor.Warning, doctor.Error, doctor.Info}, "✗"},
	} {
		var fs []doctor.Finding
		for _, s := range c.sevs {
			fs = append(fs, doctor.Finding{Severity: s})
		}
		if got := doctorMark(fs); got != c.want {
			t.Errorf("doctorMark(%v) = %q, want %q", c.sevs, got, c.want)
		}
	}
}

func TestDoctorKey(t *testing.T) {
	r := &unitRow{sock: echoSocket(unit.StateIdle)}
	key := doctorKey(r)
	same := &unitRow{sock: echoSocket(unit.StateIdle)}
	if doctorKey(same) != key {
		t.Fatal("the same unit has another key")
	}
	for name, change := range map[string]func(r *unitRow){
		"service up":   func(r *unitRow) { r.sock.Services[0].ActiveState = unit.Active },
		"socket fails": func(r *unitRow) { r.sock.Result = "service-start-limit-hit" },
		"probed": func(r *unitRow) {
			r.results = map[string]probe.Result{probeKey("Stream", "127.0.0.1:3100"): {Outcome: probe.Timeout}}
		},
		"new command": func(r *unitRow) { r.sock.Services[0].Exec = []string{"/usr/bin/podman", "run", "x"} },
	} {
		c := &unitRow{sock: echoSocket(unit.StateIdle).Clone()}
		c.sock.Services = append([]unit.Service(nil), c.sock.Services...)
		change(c)
		if doctorKey(c) == key {
			t.Errorf("%s: the key did not change", name)
		}
	}
}

func TestDoctorLinesWrap(t *testing.T) {
	k := newKeyMap(false)
	fs := []doctor.Finding{{Severity: doctor.Error, Check: doctor.CheckStartLimit, Action: doctor.ActionResetFailed,
		Evidence: strings.Repeat("evidence ", 20) + "\x1b[31m", Fix: "socktui reset-failed echo.socket (UI: R)"}}
	lines := doctorLines(fs, NewStyles(asciiRenderer()), k, 60)
	if len(lines) < 4 || lines[0] != "  doctor: 1 finding  (F fixes: reset-failed)" || lines[1] != "    error start-limit" {
		t.Fatalf("lines:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 60 || strings.ContainsRune(l, '\x1b') {
			t.Errorf("line of %d cells or raw escape: %q", w, l)
		}
	}
	if doctorLines(nil, NewStyles(asciiRenderer()), k, 60) != nil {
		t.Error("no findings, yet lines")
	}
}

// TestDoctorDiagnosesOnceAtATime checks the Update side: a snapshot starts
// one diagnosis, changes while it runs wait for it, and an unchanged unit
// is not diagnosed again.
func TestDoctorDiagnosesOnceAtATime(t *testing.T) {
	d := startLimitDoctor()
	m := newTestModel(t, Config{Doctor: d, Select: "echo.socket"}, 110, 34)
	m, cmd := apply(m, ended(unit.Event{Kind: unit.Snapshot, At: t0, Sockets: append(otherSockets(), echoSocket(unit.StateFailed))}))
	msg := runUntil[diagnosedMsg](t, cmd)
	failed := echoSocket(unit.StateFailed)
	failed.NRefused = 3 // a counter the checks do not read
	m, cmd = apply(m, ended(unit.Event{Kind: unit.UnitChanged, Socket: &failed}))
	if _, ok := findMsg[diagnosedMsg](cmd); ok {
		t.Fatal("a second diagnosis started while one runs")
	}
	m, cmd = apply(m, msg)
	if _, ok := findMsg[diagnosedMsg](cmd); ok {
		t.Fatal("an unchanged unit was diagnosed again")
	}
	if got := d.calls(); len(got) != 1 || len(got[0]) != len(otherSockets())+1 {
		t.Fatalf("Diagnose calls %v, want one with every unit", got)
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "✗echo.socket") && !strings.Contains(view, ">✗echo.socket") {
		t.Errorf("no mark before echo.socket:\n%s", view)
	}
	if !strings.Contains(view, "doctor: 1 finding  (F fixes: reset-failed)") || !strings.Contains(view, "failed to start too often") {
		t.Errorf("the detail pane lacks the finding:\n%s", view)
	}
	if strings.Contains(view, "✗podman.socket") || strings.Contains(view, "✗dbus.socket") {
		t.Errorf("a unit without findings is marked:\n%s", view)
	}
}

// runUntil runs cmd (and the batches it returns) and returns the first
// message of type T, failing t when there is none.
func runUntil[T any](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	msg, ok := findMsg[T](cmd)
	if !ok {
		t.Fatalf("no %T among the Cmd's messages", *new(T))
	}
	return msg
}

// findMsg runs cmd (and the batches it returns) and returns the first
// message of type T.
func findMsg[T any](cmd tea.Cmd) (T, bool) {
	for _, msg := range runCmd(cmd) {
		if m, ok := msg.(T); ok {
			return m, true
		}
	}
	var zero T
	return zero, false
}

// ended is an event whose stream is closed: waiting for the next one
// returns at once.
func ended(ev unit.Event) tea.Msg {
	ch := make(chan unit.Event)
	close(ch)
	return eventReceivedMsg{ev: ev, events: ch}
}

// TestFlowDoctorMarksAndFixes runs the program: a failed unit is marked
// and its finding shown; F resets it as R would; once it listens again
// the doctor finds nothing and the mark goes.
func TestFlowDoctorMarksAndFixes(t *testing.T) {
	mgr, events := flowManager(t, unit.Event{Kind: unit.Snapshot, At: time.Now(),
		Sockets: append(otherSockets(), echoSocket(unit.StateFailed))})
	var mu sync.Mutex
	var revived []string
	mgr.revive = func(_ context.Context, socket string, services []string) error {
		mu.Lock()
		revived = append(revived, socket+" "+strings.Join(services, ","))
		mu.Unlock()
		idle := echoSocket(unit.StateIdle)
		events <- unit.Event{Kind: unit.UnitChanged, At: time.Now(), Socket: &idle}
		return nil
	}
	d := startLimitDoctor()
	tm := startFlow(t, Config{Manager: mgr, Doctor: d, Select: "echo.socket"})
	waitScreen(t, tm, ">✗echo.socket", "doctor: 1 finding  (F fixes: reset-failed)", "failed to start too often")

	tm.Type("F")
	waitScreen(t, tm, "reset-failed echo.socket: done", "> echo.socket")
	final := quit(t, tm)
	mu.Lock()
	defer mu.Unlock()
	if len(revived) != 1 || revived[0] != "echo.socket echo.service" {
		t.Errorf("ReviveSocket calls %v, want echo.socket with echo.service", revived)
	}
	if len(final.doctor.findings) != 0 || strings.Contains(ansi.Strip(final.View()), "doctor:") {
		t.Errorf("after the fix: findings %v", final.doctor.findings)
	}
}
