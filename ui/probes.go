package ui

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/socktui/socktui/internal/human"
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

// probeRun is one p or P press on one host: P on several hosts starts one
// run per host, so that each finishes on its own.
type probeRun struct {
	host    int // the index of the host whose endpoints are probed
	start   time.Time
	total   int            // endpoints probed
	units   int            // units probed
	ok      int            // results that came back ok
	pending map[string]int // unit (of host) -> results still expected
}

func newProbeRuns() probeRuns { return probeRuns{runs: map[int]*probeRun{}} }

// begin records a new run over host's targets, started at at, and returns
// its number.
func (p *probeRuns) begin(at time.Time, host int, targets []unit.Target) int {
	run := &probeRun{host: host, start: at, total: len(targets), pending: map[string]int{}}
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

// inFlightFor is how many probes of row k are still expected.
func (p *probeRuns) inFlightFor(k rowKey) int {
	n := 0
	for _, run := range p.runs {
		if run.host == k.host {
			n += run.pending[k.unit]
		}
	}
	return n
}

// expecting is every row the run still expects results for.
func (r *probeRun) expecting() []rowKey {
	var keys []rowKey
	for name, left := range r.pending {
		if left > 0 {
			keys = append(keys, rowKey{host: r.host, unit: name})
		}
	}
	return keys
}

// probe starts probe runs over every endpoint of rows: one run for each
// host with rows, through that host's prober, each in its own Cmd, so
// that a slow or cut host never holds back another's results. Rows of a
// host without a prober are left out.
func (m Model) probe(rows []*unitRow) (Model, tea.Cmd) {
	byHost := map[int][]unit.Target{}
	var order []int
	now := m.now()
	for _, r := range rows {
		ts := r.sock.Targets()
		if len(ts) == 0 || m.host(r.host).Prober == nil {
			continue
		}
		if _, ok := byHost[r.host]; !ok {
			order = append(order, r.host)
		}
		byHost[r.host] = append(byHost[r.host], ts...)
		if ts[0].Cold && r.triggeredAt.IsZero() {
			r.triggeredAt = now
		}
	}
	if len(order) == 0 {
		m.fail(fmt.Errorf("probe: no listening endpoints"))
		return m, nil
	}
	cmds := make([]tea.Cmd, 0, len(order)+1)
	for _, h := range order {
		targets := byHost[h]
		id := m.probes.begin(now, h, targets)
		run := m.probes.runs[id]
		for name := range run.pending {
			m.syncProbing(rowKey{host: h, unit: name})
		}
		m.note(h, now, fmt.Sprintf("probe run %d: %s of %s", id, plural(run.total, "endpoint"), plural(run.units, "unit")), false)
		cmds = append(cmds, runProbes(m.ctx, m.host(h).Prober, id, h, targets))
	}
	return m, tea.Batch(append(cmds, m.startSpinner())...)
}

// syncProbing shows on row k how many of its probes are in flight, as the
// record of runs has it.
func (m *Model) syncProbing(k rowKey) {
	if r := m.units.get(k); r != nil {
		r.setInFlight(m.probes.inFlightFor(k))
	}
}

// updateProbes applies the messages of a probe run.
func (m Model) updateProbes(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case probesStartedMsg:
		return m, waitForProbe(msg.run, msg.host, msg.results)
	case probeFinishedMsg:
		m.applyProbe(msg.run, msg.result)
		return m, waitForProbe(msg.run, msg.host, msg.results)
	case probeRunFinishedMsg:
		m.finishRun(msg.run)
	}
	return m, nil
}

// applyProbe stores one probe result of run id, on a row of the run's
// host.
func (m *Model) applyProbe(id int, res probe.Result) {
	run := m.probes.runs[id]
	if !m.probes.record(id, res) {
		return
	}
	k := rowKey{host: run.host, unit: res.Unit}
	r := m.units.get(k)
	if r == nil {
		return
	}
	if r.results == nil {
		r.results = map[string]probe.Result{}
	}
	r.results[probeKey(res.Type, res.Address)] = res
	m.syncProbing(k)
	if res.Outcome != probe.OK {
		m.note(run.host, m.now(), fmt.Sprintf("probe %s %s: %s", termtext.Clean(res.Unit), listenEntry(unit.Listen{Type: res.Type, Address: res.Address}), resultText(res)), true)
	}
}

// finishRun closes probe run id and adds its summary to the timeline.
func (m *Model) finishRun(id int) {
	run, ok := m.probes.end(id)
	if !ok {
		return
	}
	for _, k := range run.expecting() {
		m.syncProbing(k)
	}
	m.note(run.host, m.now(), fmt.Sprintf("probe run %d finished: %s in %s", id, probeSummary(run.ok, run.total), human.Duration(m.now().Sub(run.start))), run.ok != run.total)
}
