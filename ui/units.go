package ui

import (
	"slices"
	"strings"
	"time"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// unitRow is one socket unit as the UI knows it: the latest snapshot from
// the manager plus what the UI learned itself (probe results, activation
// timing). Text columns are cached, sanitized, when the row changes so a
// frame with 1,000 units only measures widths.
type unitRow struct {
	sock unit.Socket
	// host is the index of the row's host; hostLabel its HOST cell, ""
	// when the UI shows one host.
	host      int
	hostLabel string
	// results holds the last probe result per Listen entry, by probeKey.
	results map[string]probe.Result
	// inFlight is how many of this unit's probes are in flight, as
	// probeRuns counts them (set by setInFlight, never counted here).
	inFlight int
	// triggeredAt is the first sign of a connection since the service was
	// last inactive (the socket going running, or a cold probe starting);
	// zero when there is none pending.
	triggeredAt time.Time

	cells  [numCols]string
	widths [numCols]int
	// listenShort is the endpoints cell when two entries do not fit: the
	// first and a count.
	listenShort string
	search      string // lower-cased text the filter matches against
}

// key is the row's key.
func (r *unitRow) key() rowKey { return rowKey{host: r.host, unit: r.sock.Unit} }

// probeKey is the key of one endpoint's result in unitRow.results.
func probeKey(typ, addr string) string { return typ + " " + addr }

// probeCounts is how many of the unit's stored results are ok, and how many
// there are. No result counts as ok while the unit is failed: an ok from
// before the failure must not stand beside it.
func (r *unitRow) probeCounts() (ok, total int) {
	for _, res := range r.results {
		total++
		if resultStands(res, r.sock.State) {
			ok++
		}
	}
	return ok, total
}

// resultStands reports whether a probe result is still an ok for a unit
// now in state: an ok whose unit has failed since is not.
func resultStands(res probe.Result, state unit.State) bool {
	return res.Outcome == probe.OK && state != unit.StateFailed
}

// serviceNames is the units x stops: the services the socket triggered or,
// when none is known yet, the ones it triggers.
func (r *unitRow) serviceNames() []string {
	var names []string
	for _, s := range r.sock.Services {
		names = append(names, s.Unit)
	}
	if len(names) == 0 {
		names = append(names, r.sock.Triggers...)
	}
	return names
}

// refresh recomputes the cached, sanitized cells of the row.
func (r *unitRow) refresh() {
	s := r.sock
	r.cells[colHost] = r.hostLabel
	r.cells[colUnit] = termtext.Clean(s.Unit)
	r.cells[colState] = stateBadge(s.State)
	r.cells[colListen] = listenSummary(s.Listen, 2)
	r.listenShort = listenSummary(s.Listen, 1)
	var svc, ctr []string
	for _, v := range s.Services {
		// The state first: a narrow column cuts the name, not the state.
		svc = append(svc, termtext.Clean(string(v.ActiveState))+" "+termtext.Clean(v.Unit))
		if v.Container != "" {
			ctr = append(ctr, termtext.Clean(v.Container))
		}
	}
	if len(svc) == 0 && len(s.Triggers) > 0 {
		svc = append(svc, termtext.Clean(s.Triggers[0]))
	}
	r.cells[colService] = joinMax(svc, 1)
	r.cells[colContainer] = joinMax(ctr, 1)
	ok, total := r.probeCounts()
	p := probeSummary(ok, total)
	if r.inFlight > 0 {
		n := max(len(s.Listen), r.inFlight)
		p = "probing " + itoa(n-r.inFlight) + "/" + itoa(n)
	}
	r.cells[colProbe] = p
	for i, c := range r.cells {
		r.widths[i] = textWidth(c)
	}
	host := ""
	if r.hostLabel != "" {
		host = r.hostLabel + " "
	}
	r.search = strings.ToLower(host + r.cells[colUnit] + " " + termtext.Clean(s.Description) + " " + r.cells[colService] + " " + r.cells[colContainer])
}

// setInFlight sets how many of the unit's probes are in flight.
func (r *unitRow) setInFlight(n int) {
	if r.inFlight != n {
		r.inFlight = n
		r.refresh()
	}
}

// joinMax joins the first max items and counts the rest: "a +2".
func joinMax(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + " +" + itoa(len(items)-max)
}

// unitStore holds the socket units of every host, sorted by rowKey (host
// order, then name), with an index by rowKey.
type unitStore struct {
	rows  []*unitRow
	index map[rowKey]int
	// labels is each host's HOST cell, nil when the UI shows one host.
	labels []string
}

func newUnitStore(labels []string) unitStore {
	return unitStore{index: map[rowKey]int{}, labels: labels}
}

// several reports whether the rows are of several hosts: the list shows a
// HOST column.
func (s *unitStore) several() bool { return len(s.labels) > 1 }

func (s *unitStore) get(k rowKey) *unitRow {
	if i, ok := s.index[k]; ok {
		return s.rows[i]
	}
	return nil
}

func (s *unitStore) reindex() {
	s.index = make(map[rowKey]int, len(s.rows))
	for i, r := range s.rows {
		s.index[r.key()] = i
	}
}

// newRow is an empty row of host h.
func (s *unitStore) newRow(h int) *unitRow {
	r := &unitRow{host: h}
	if h >= 0 && h < len(s.labels) {
		r.hostLabel = s.labels[h]
	}
	return r
}

// replace sets the full set of host h's sockets, keeping what the UI
// learned about units that are still there and every other host's rows.
func (s *unitStore) replace(h int, socks []unit.Socket) {
	rows := make([]*unitRow, 0, len(s.rows)+len(socks))
	for _, r := range s.rows {
		if r.host != h {
			rows = append(rows, r)
		}
	}
	for _, sk := range socks {
		r := s.get(rowKey{host: h, unit: sk.Unit})
		if r == nil {
			r = s.newRow(h)
		}
		r.sock = sk
		r.refresh()
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b *unitRow) int { return a.key().compare(b.key()) })
	s.rows = rows
	s.reindex()
}

// upsert stores one socket of host h and returns its row and its previous
// snapshot (nil when the unit is new).
func (s *unitStore) upsert(h int, sk unit.Socket) (row *unitRow, old *unit.Socket) {
	k := rowKey{host: h, unit: sk.Unit}
	if r := s.get(k); r != nil {
		prev := r.sock
		r.sock = sk
		r.refresh()
		return r, &prev
	}
	r := s.newRow(h)
	r.sock = sk
	r.refresh()
	i, _ := slices.BinarySearchFunc(s.rows, k, func(a *unitRow, k rowKey) int { return a.key().compare(k) })
	s.rows = slices.Insert(s.rows, i, r)
	s.reindex()
	return r, nil
}

func (s *unitStore) remove(k rowKey) bool {
	i, ok := s.index[k]
	if !ok {
		return false
	}
	s.rows = slices.Delete(s.rows, i, i+1)
	s.reindex()
	return true
}
