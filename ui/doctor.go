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

// doctorState is what the UI knows of the doctor's findings: per row, the
// findings and the key of the facts they were made from. A unit whose key
// changed (its state, its services, its probes) is diagnosed again; one
// diagnosis per host runs at a time, with that host's Doctor, taking every
// unit of the host that changed meanwhile, so that a burst of signals
// costs one run and Podman is asked once per image and run.
type doctorState struct {
	findings map[rowKey][]doctor.Finding
	keys     map[rowKey]string // the key each row's findings are of
	dirty    map[rowKey]bool   // rows to look at again
	running  map[int]bool      // hosts with a diagnosis in flight
	// failed is each host's last diagnosis error, until one succeeds: the
	// same error again is not news.
	failed map[int]string
}

func newDoctorState() doctorState {
	return doctorState{findings: map[rowKey][]doctor.Finding{}, keys: map[rowKey]string{}, dirty: map[rowKey]bool{}, running: map[int]bool{},
		failed: map[int]string{}}
}

// diagnosedMsg carries one diagnosis of host's units: the findings of the
// units whose facts had keys, by unit name.
type diagnosedMsg struct {
	host     int
	keys     map[string]string
	findings map[string][]doctor.Finding
	err      error
}

// runDoctor diagnoses host's socks with its doctor d.
func runDoctor(ctx context.Context, d Doctor, host int, socks []unit.Socket, probes map[string][]probe.Result, keys map[string]string) tea.Cmd {
	return func() tea.Msg {
		fs, err := d.Diagnose(ctx, socks, probes)
		return diagnosedMsg{host: host, keys: keys, findings: fs, err: err}
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

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// noteForDoctor marks the rows msg changed for a new diagnosis and starts
// one on each host that has none running.
func (m *Model) noteForDoctor(msg tea.Msg) tea.Cmd {
	if !slices.ContainsFunc(m.hosts, func(h Host) bool { return h.Doctor != nil }) {
		return nil
	}
	switch msg := msg.(type) {
	case eventReceivedMsg:
		switch msg.ev.Kind {
		case unit.Snapshot, unit.Reconnected:
			for _, r := range m.units.rows {
				if r.host == msg.host {
					m.doctor.dirty[r.key()] = true
				}
			}
		case unit.UnitChanged, unit.UnitAdded:
			if msg.ev.Socket != nil {
				m.doctor.dirty[rowKey{host: msg.host, unit: msg.ev.Socket.Unit}] = true
			}
		case unit.UnitRemoved:
			k := rowKey{host: msg.host, unit: msg.ev.Unit}
			delete(m.doctor.findings, k)
			delete(m.doctor.keys, k)
			m.list.marks = doctorMarks(m.doctor.findings)
		}
	case probeFinishedMsg:
		m.doctor.dirty[rowKey{host: msg.host, unit: msg.result.Unit}] = true
	case diagnosedMsg:
	default:
		return nil
	}
	return m.startDoctor()
}

// startDoctor starts, on each host with a Doctor and no diagnosis
// running, a diagnosis of its dirty rows whose keys changed.
func (m *Model) startDoctor() tea.Cmd {
	if len(m.doctor.dirty) == 0 {
		return nil
	}
	type batch struct {
		socks  []unit.Socket
		probes map[string][]probe.Result
		keys   map[string]string
	}
	batches := map[int]*batch{}
	for k := range m.doctor.dirty {
		if m.doctor.running[k.host] {
			continue // taken by the next run, once this one is back
		}
		delete(m.doctor.dirty, k)
		r := m.units.get(k)
		if r == nil || m.host(k.host).Doctor == nil {
			continue
		}
		key := doctorKey(r)
		if old, ok := m.doctor.keys[k]; ok && old == key {
			continue
		}
		b := batches[k.host]
		if b == nil {
			b = &batch{probes: map[string][]probe.Result{}, keys: map[string]string{}}
			batches[k.host] = b
		}
		b.keys[k.unit] = key
		b.socks = append(b.socks, r.sock.Clone())
		for _, res := range r.results {
			b.probes[k.unit] = append(b.probes[k.unit], res)
		}
	}
	var cmds []tea.Cmd
	for _, h := range slices.Sorted(mapKeys(batches)) {
		b := batches[h]
		slices.SortFunc(b.socks, func(a, b unit.Socket) int { return strings.Compare(a.Unit, b.Unit) })
		m.doctor.running[h] = true
		cmds = append(cmds, runDoctor(m.ctx, m.host(h).Doctor, h, b.socks, b.probes, b.keys))
	}
	return tea.Batch(cmds...)
}

// applyDiagnosis stores a diagnosis of one host; a failed one leaves the
// old findings and is shown, unless the host is down (the status line
// says so already, and its units are diagnosed again once it is back) or
// it failed the same way last time: a cut host's every probe result must
// not add a doctor error.
func (m *Model) applyDiagnosis(msg diagnosedMsg) {
	m.doctor.running[msg.host] = false
	if msg.err != nil {
		text := msg.err.Error()
		hc := m.status.conn(msg.host)
		down := hc != nil && (hc.state == connReconnecting || hc.state == connGone)
		if !down && m.doctor.failed[msg.host] != text {
			m.failOn(msg.host, fmt.Errorf("doctor: %w", msg.err))
		}
		m.doctor.failed[msg.host] = text
		return
	}
	delete(m.doctor.failed, msg.host)
	for name, key := range msg.keys {
		k := rowKey{host: msg.host, unit: name}
		m.doctor.keys[k] = key
		if fs := msg.findings[name]; len(fs) > 0 {
			m.doctor.findings[k] = fs
		} else {
			delete(m.doctor.findings, k)
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

// doctorMarks is the mark of every row with findings.
func doctorMarks(all map[rowKey][]doctor.Finding) map[rowKey]string {
	out := make(map[rowKey]string, len(all))
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
	switch fixAction(m.doctor.findings[r.key()]) {
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
