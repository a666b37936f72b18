package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// Doctor diagnoses socket units (socktui doctor's checks, cli's gatherer
// over the manager and Podman satisfies it).
type Doctor interface {
	// Diagnose returns the findings of each socket, by unit name (a unit
	// with none may be left out). probes holds each unit's last probe
	// results, nil when it was never probed. It does I/O: the UI calls it
	// from a Cmd, one call at a time.
	Diagnose(ctx context.Context, socks []unit.Socket, probes map[string][]probe.Result) (map[string][]doctor.Finding, error)
}

// doctorState is what the UI knows of the doctor's findings: per unit, the
// findings and the key of the facts they were made from. A unit whose key
// changed (its state, its services, its probes) is diagnosed again; one
// diagnosis runs at a time, taking every unit that changed meanwhile, so
// that a burst of signals costs one run and Podman is asked once per image
// and run.
type doctorState struct {
	findings map[string][]doctor.Finding
	keys     map[string]string // the key each unit's findings are of
	dirty    map[string]bool   // units to look at again
	running  bool
}

func newDoctorState() doctorState {
	return doctorState{findings: map[string][]doctor.Finding{}, keys: map[string]string{}, dirty: map[string]bool{}}
}

// diagnosedMsg carries one diagnosis: the findings of the units whose
// facts had keys.
type diagnosedMsg struct {
	keys     map[string]string
	findings map[string][]doctor.Finding
	err      error
}

// runDoctor diagnoses socks with d.
func runDoctor(ctx context.Context, d Doctor, socks []unit.Socket, probes map[string][]probe.Result, keys map[string]string) tea.Cmd {
	return func() tea.Msg {
		fs, err := d.Diagnose(ctx, socks, probes)
		return diagnosedMsg{keys: keys, findings: fs, err: err}
	}
}

// doctorKey is what the checks read of a row, as one string: a row whose
// key is unchanged needs no new diagnosis.
func doctorKey(r *unitRow) string {
	s := r.sock
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%v|%q|%q", s.LoadState, s.ActiveState, s.SubState, s.Result, s.Accept, s.Listen, s.Triggers)
	for _, svc := range s.Services {
		fmt.Fprintf(&b, "|%s %s %s %q", svc.Unit, svc.ActiveState, svc.Result, svc.Exec)
	}
	for _, k := range slices.Sorted(mapKeys(r.results)) {
		res := r.results[k]
		fmt.Fprintf(&b, "|%s %s %s", k, res.Outcome, res.Error)
	}
	return b.String()
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// noteForDoctor marks the units msg changed for a new diagnosis and starts
// one when none is running.
func (m *Model) noteForDoctor(msg tea.Msg) tea.Cmd {
	if m.cfg.Doctor == nil {
		return nil
	}
	switch msg := msg.(type) {
	case eventReceivedMsg:
		switch msg.ev.Kind {
		case unit.Snapshot, unit.Reconnected:
			for _, r := range m.units.rows {
				m.doctor.dirty[r.sock.Unit] = true
			}
		case unit.UnitChanged, unit.UnitAdded:
			if msg.ev.Socket != nil {
				m.doctor.dirty[msg.ev.Socket.Unit] = true
			}
		case unit.UnitRemoved:
			delete(m.doctor.findings, msg.ev.Unit)
			delete(m.doctor.keys, msg.ev.Unit)
			m.list.marks = doctorMarks(m.doctor.findings)
		}
	case probeFinishedMsg:
		m.doctor.dirty[msg.result.Unit] = true
	case diagnosedMsg:
	default:
		return nil
	}
	return m.startDoctor()
}

// startDoctor starts a diagnosis of the dirty units whose keys changed,
// unless one is running.
func (m *Model) startDoctor() tea.Cmd {
	if m.doctor.running || len(m.doctor.dirty) == 0 {
		return nil
	}
	var socks []unit.Socket
	probes := map[string][]probe.Result{}
	keys := map[string]string{}
	for name := range m.doctor.dirty {
		delete(m.doctor.dirty, name)
		r := m.units.get(name)
		if r == nil {
			continue
		}
		key := doctorKey(r)
		if k, ok := m.doctor.keys[name]; ok && k == key {
			continue
		}
		keys[name] = key
		socks = append(socks, r.sock.Clone())
		for _, res := range r.results {
			probes[name] = append(probes[name], res)
		}
	}
	if len(socks) == 0 {
		return nil
	}
	slices.SortFunc(socks, func(a, b unit.Socket) int { return strings.Compare(a.Unit, b.Unit) })
	m.doctor.running = true
	return runDoctor(m.ctx, m.cfg.Doctor, socks, probes, keys)
}

// applyDiagnosis stores a diagnosis; a failed one is shown and leaves the
// old findings.
func (m *Model) applyDiagnosis(msg diagnosedMsg) {
	m.doctor.running = false
	if msg.err != nil {
		m.fail(fmt.Errorf("doctor: %w", msg.err))
		return
	}
	for name, key := range msg.keys {
		m.doctor.keys[name] = key
		if fs := msg.findings[name]; len(fs) > 0 {
			m.doctor.findings[name] = fs
		} else {
			delete(m.doctor.findings, name)
		}
	}
	m.list.marks = doctorMarks(m.doctor.findings)
	m.detail.findings = m.doctor.findings
}

// doctorMark is the list's mark of a unit with findings: "✗" when one is
// an error, "!" a warning, "i" only infos; "" without findings.
func doctorMark(fs []doctor.Finding) string {
	mark := ""
	for _, f := range fs {
		switch {
		case f.Severity == doctor.Error:
			return "✗"
		case f.Severity == doctor.Warning:
			mark = "!"
		case mark == "":
			mark = "i"
		}
	}
	return mark
}

// doctorMarks is the mark of every unit with findings.
func doctorMarks(all map[string][]doctor.Finding) map[string]string {
	out := make(map[string]string, len(all))
	for name, fs := range all {
		if m := doctorMark(fs); m != "" {
			out[name] = m
		}
	}
	return out
}

// fixAction is what the fix key does for the selected unit: the action
// of its first finding socktui can fix, "" when none.
func fixAction(fs []doctor.Finding) doctor.Action {
	for _, f := range fs {
		if f.Action != "" {
			return f.Action
		}
	}
	return ""
}

// fix applies the doctor's fix to the selected unit: a reset-failed is
// what R does.
func (m Model) fix() (Model, tea.Cmd) {
	r := m.list.current(&m.units)
	if r == nil {
		m.fail(fmt.Errorf("fix: no unit selected"))
		return m, nil
	}
	switch fixAction(m.doctor.findings[r.sock.Unit]) {
	case doctor.ActionResetFailed:
		for _, a := range m.unitActions() {
			if slices.Equal(a.key.Keys(), m.keys.ResetFailed.Keys()) {
				return m.act(a.cmd)
			}
		}
	}
	m.fail(fmt.Errorf("fix: socktui cannot fix %s's findings itself: the detail pane says what to change", termtext.Clean(r.sock.Unit)))
	return m, nil
}

// doctorLines is the detail pane's findings of a unit at width w: a head
// line, then each finding's severity and check, evidence and fix, wrapped
// under it. None when the unit has no findings.
func doctorLines(fs []doctor.Finding, s Styles, k keyMap, w int) []string {
	if len(fs) == 0 {
		return nil
	}
	head := fmt.Sprintf("  doctor: %s", plural(len(fs), "finding"))
	if fixAction(fs) != "" && k.Fix.Enabled() {
		head += fmt.Sprintf("  (%s fixes: %s)", k.Fix.Help().Key, fixAction(fs))
	}
	lines := []string{head}
	for _, f := range fs {
		style := s.Error
		if f.Severity == doctor.Info {
			style = s.OK
		}
		lines = append(lines, "    "+style.Render(termtext.Clean(string(f.Severity)))+" "+termtext.Clean(string(f.Check)))
		lines = append(lines, wrapHanging("      "+termtext.Clean(f.Evidence), w, 6)...)
		lines = append(lines, wrapHanging("      fix: "+termtext.Clean(f.Fix), w, 11)...)
	}
	return lines
}

// orSpace is mark, or a space when there is none: the list's gutter is
// two cells, the cursor and the doctor's mark.
func orSpace(mark string) string {
	if mark == "" {
		return " "
	}
	return mark
}
