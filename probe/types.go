// Package probe tests the endpoints a socket unit listens on: it connects,
// optionally exchanges data, and reports the outcome and round-trip time.
//
// It takes endpoints as systemd reports them (Listen type and address) and
// never imports Bubble Tea or godbus. A probe only ever targets this host.
package probe

import (
	"time"

	"github.com/socktui/socktui/unit"
)

// Outcome is how a probe ended.
type Outcome string

// The outcomes of a probe.
const (
	OK          Outcome = "ok"
	Mismatch    Outcome = "mismatch"
	Timeout     Outcome = "timeout"
	Refused     Outcome = "refused"
	Unsupported Outcome = "unsupported"
	Error       Outcome = "error"
	// Failed: the probe started the service behind the socket (a cold
	// probe) and systemd reported the activation failed: the service or
	// the socket failed. Result.Error gives the unit's Result and reason.
	Failed Outcome = "failed"
)

// Result is the outcome of probing one endpoint.
type Result struct {
	Unit    string        `json:"unit"`
	Type    string        `json:"type"`
	Address string        `json:"address"`
	Network unit.Network  `json:"network"`
	Kind    unit.Kind     `json:"kind"`
	Outcome Outcome       `json:"outcome"`
	RTT     time.Duration `json:"-"`
	// RTTms is RTT in milliseconds, for JSON consumers.
	RTTms float64 `json:"rttMs"`
	Bytes int     `json:"bytes"`
	// Cold is true when the service was not active as the probe started, so
	// RTT includes the activation.
	Cold bool `json:"cold"`
	// Status is the HTTP status line for http probes.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Index is the position of the target in the slice given to ProbeAll,
	// which delivers results in completion order; 0 from Probe.
	Index int `json:"-"`
}

// Passed reports whether an outcome is a pass: ok, or unsupported (an
// endpoint this host cannot probe, which says nothing against the unit).
func (o Outcome) Passed() bool { return o == OK || o == Unsupported }

// Unprobed is the Result of target t, index i of a ProbeAll, that no
// exchange here produced (the host is not connected; another host's
// socktui answers for it): t's endpoint and, when ParseListen reads the
// entry, its network, with outcome and why.
func Unprobed(t unit.Target, i int, outcome Outcome, why string) Result {
	r := Result{Unit: t.Unit, Type: t.Type, Address: t.Address, Kind: t.Kind, Cold: t.Cold, Index: i,
		Outcome: outcome, Error: why}
	if ep, err := ParseListen(t.Type, t.Address); err == nil {
		r.Network = ep.Network
	}
	return r
}
