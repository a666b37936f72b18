package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// Host is one manager the UI shows: this machine's or another host's.
//
// A Host's Manager may connect lazily: its Watch may send unit.Disconnected
// events (Err saying why, e.g. "ssh web1: connection refused") before any
// Snapshot, and its actions may return errors until it is connected; the UI
// shows that host as reconnecting with the reason and keeps every other host
// live.
type Host struct {
	// Name is shown in the HOST column and the status line; "" is this
	// machine, shown as "local".
	Name    string
	Manager Manager   // required
	Prober  Prober    // nil disables p and P for this host's units
	Doctor  Doctor    // nil: no marks or F for this host's units
	Logs    LogSource // nil disables l for this host's units
}

// label is the host as the HOST column, the status line and the timeline
// name it, sanitized: "local" for this machine.
func (h Host) label() string {
	if h.Name == "" {
		return unit.LocalHost
	}
	return termtext.Clean(h.Name)
}

// hostsOf is the hosts cfg shows: cfg.Hosts, or the one host made of
// cfg.Manager, Prober, Doctor and Logs. A Config with neither still has
// one host, whose nil Manager the UI reports as no connection.
func hostsOf(cfg Config) []Host {
	if len(cfg.Hosts) > 0 {
		return cfg.Hosts
	}
	return []Host{{Manager: cfg.Manager, Prober: cfg.Prober, Doctor: cfg.Doctor, Logs: cfg.Logs}}
}

// anyHost is the host of a rowKey that matches a unit on any host: the
// selection Config.Select names, before a row has it.
const anyHost = -1

// rowKey is the one key of a row everywhere the UI keeps something per
// unit: the unit on a host, the host by its index in the UI's hosts. The
// same unit name on two hosts is two rows.
type rowKey struct {
	host int
	unit string
}

// compare orders rows as the list shows them: by host, in the order the
// hosts were given, then by unit name.
func (k rowKey) compare(o rowKey) int {
	if c := cmp.Compare(k.host, o.host); c != 0 {
		return c
	}
	return strings.Compare(k.unit, o.unit)
}

// matches reports whether k, possibly on anyHost, names the row at o.
func (k rowKey) matches(o rowKey) bool {
	return k.unit == o.unit && (k.host == anyHost || k.host == o.host)
}

// hostLabels is the HOST cell of each host's rows: the hosts' labels when
// there are several, none when there is one (no HOST column, no host line
// in the detail pane).
func hostLabels(hosts []Host) []string {
	if len(hosts) < 2 {
		return nil
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.label()
	}
	return out
}

// localHost is the index of this machine's host (Name ""), -1 when the UI
// shows none: n and D work on it only.
func localHost(hosts []Host) int {
	return slices.IndexFunc(hosts, func(h Host) bool { return h.Name == "" })
}

// host is host h, the zero Host for an index the UI does not have.
func (m *Model) host(h int) Host {
	if h < 0 || h >= len(m.hosts) {
		return Host{}
	}
	return m.hosts[h]
}

// aboutHost is text about host h as the timeline and the status line's
// error tell it: another host's name first, this machine's text as it is.
func (m *Model) aboutHost(h int, text string) string {
	if name := m.host(h).Name; name != "" {
		return termtext.Clean(name) + ": " + text
	}
	return text
}

// note adds a timeline entry about host h.
func (m *Model) note(h int, at time.Time, text string, isErr bool) {
	m.timeline.add(at, m.aboutHost(h, text), isErr)
}

// failOn records an error of host h in the status line and the timeline.
func (m *Model) failOn(h int, err error) {
	if name := m.host(h).Name; name != "" {
		err = fmt.Errorf("%s: %w", name, err)
	}
	m.fail(err)
}

// thisMachineOnly is the error of n or D (what) on host h's row: they
// work on this machine's units only.
func thisMachineOnly(what string, h Host) error {
	return fmt.Errorf("%s: works on this machine only, not on %s; select a local unit", what, h.label())
}
