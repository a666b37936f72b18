package ui

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// probeRuns is the one record of the probe runs in flight. Every count of
// probes in flight (the status line's, a unit's "probing 3/7", the detail
// pane's "probing…") is derived from it, never kept beside it.
type probeRuns struct {
	last int // number of the newest run
	runs map[int]*probeRun
}

// probeRun is one p or P press.
type probeRun struct {
	start   time.Time
	total   int            // endpoints probed
	units   int            // units probed
	ok      int            // results that came back ok
	pending map[string]int // unit -> results still expected
}

func newProbeRuns() probeRuns { return probeRuns{runs: map[int]*probeRun{}} }

// begin records a new run over targets, started at at, and returns its
// number.
func (p *probeRuns) begin(at time.Time, targets []unit.Target) int {
	run := &probeRun{start: at, total: len(targets), pending: map[string]int{}}
	for _, t := range targets {
		if run.pending[t.Unit] == 0 {
			run.units++
		}
		run.pending[t.Unit]++
	}
	p.last++
	p.runs[p.last] = run
	return p.last
}

// record counts one result of run id. It reports false for a result the
// run does not expect (an unknown run, or more results for a unit than it
// has endpoints), which is not counted.
func (p *probeRuns) record(id int, res probe.Result) bool {
	run := p.runs[id]
	if run == nil || run.pending[res.Unit] == 0 {
		return false
	}
	run.pending[res.Unit]--
	if res.Outcome == probe.OK {
		run.ok++
	}
	return true
}

// end removes run id: results that never came are no longer in flight.
func (p *probeRuns) end(id int) (run *probeRun, ok bool) {
	run, ok = p.runs[id]
	delete(p.runs, id)
	return run, ok
}

// inFlight is how many probes of every run are still expected.
func (p *probeRuns) inFlight() int {
	n := 0
	for _, run := range p.runs {
		for _, left := range run.pending {
			n += left
		}
	}
	return n
}

// inFlightFor is how many probes of unit name are still expected.
func (p *probeRuns) inFlightFor(name string) int {
	n := 0
	for _, run := range p.runs {
		n += run.pending[name]
	}
	return n
}

// expecting is every unit the run still expects results for.
func (r *probeRun) expecting() []string {
	var names []string
	for name, left := range r.pending {
		if left > 0 {
			names = append(names, name)
		}
	}
	return names
}

// probe starts one probe run over every endpoint of rows.
func (m Model) probe(rows []*unitRow) (Model, tea.Cmd) {
	if m.cfg.Prober == nil {
		return m, nil
	}
	var targets []unit.Target
	now := m.now()
	for _, r := range rows {
		ts := r.sock.Targets()
		if len(ts) == 0 {
			continue
		}
		targets = append(targets, ts...)
		if ts[0].Cold && r.triggeredAt.IsZero() {
			r.triggeredAt = now
		}
	}
	if len(targets) == 0 {
		m.fail(fmt.Errorf("probe: no listening endpoints"))
		return m, nil
	}
	id := m.probes.begin(now, targets)
	run := m.probes.runs[id]
	for name := range run.pending {
		m.syncProbing(name)
	}
	m.timeline.add(now, fmt.Sprintf("probe run %d: %s of %s", id, plural(run.total, "endpoint"), plural(run.units, "unit")), false)
	return m, tea.Batch(runProbes(m.ctx, m.cfg.Prober, id, targets), m.startSpinner())
}

// syncProbing shows on unit name's row how many of its probes are in
// flight, as the record of runs has it.
func (m *Model) syncProbing(name string) {
	if r := m.units.get(name); r != nil {
		r.setInFlight(m.probes.inFlightFor(name))
	}
}

// updateProbes applies the messages of a probe run.
func (m Model) updateProbes(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case probesStartedMsg:
		return m, waitForProbe(msg.run, msg.results)
	case probeFinishedMsg:
		m.applyProbe(msg.run, msg.result)
		return m, waitForProbe(msg.run, msg.results)
	case probeRunFinishedMsg:
		m.finishRun(msg.run)
	}
	return m, nil
}

// applyProbe stores one probe result of run id.
func (m *Model) applyProbe(id int, res probe.Result) {
	if !m.probes.record(id, res) {
		return
	}
	r := m.units.get(res.Unit)
	if r == nil {
		return
	}
	if r.results == nil {
		r.results = map[string]probe.Result{}
	}
	r.results[probeKey(res.Type, res.Address)] = res
	m.syncProbing(res.Unit)
	if res.Outcome != probe.OK {
		m.timeline.add(m.now(), fmt.Sprintf("probe %s %s: %s", termtext.Clean(res.Unit), listenEntry(unit.Listen{Type: res.Type, Address: res.Address}), resultText(res)), true)
	}
}

// finishRun closes probe run id and adds its summary to the timeline.
func (m *Model) finishRun(id int) {
	run, ok := m.probes.end(id)
	if !ok {
		return
	}
	for _, name := range run.expecting() {
		m.syncProbing(name)
	}
	m.timeline.add(m.now(), fmt.Sprintf("probe run %d finished: %s in %s", id, probeSummary(run.ok, run.total), formatDuration(m.now().Sub(run.start))), run.ok != run.total)
}
