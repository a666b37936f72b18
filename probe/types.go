// Package probe tests the endpoints a socket unit listens on: it connects,
// optionally exchanges data, and reports the outcome and round-trip time.
//
// It takes endpoints as systemd reports them (Listen type and address) and
// never imports Bubble Tea or godbus. A probe only ever targets this host.
package probe

import "time"

// Network is the transport a probe uses for an endpoint.
type Network string

// The networks a probe knows.
const (
	TCP4       Network = "tcp4"
	TCP6       Network = "tcp6"
	UDP4       Network = "udp4"
	UDP6       Network = "udp6"
	Unix       Network = "unix"
	Unixgram   Network = "unixgram"
	Unixpacket Network = "unixpacket"
	Vsock      Network = "vsock"
)

// Kind is what a probe does once connected.
type Kind string

// The probe kinds.
const (
	KindAuto    Kind = "auto"    // chosen per unit by ChooseKind
	KindEcho    Kind = "echo"    // send a nonce, expect it back
	KindConnect Kind = "connect" // connect (or send an empty datagram) only
	KindHTTP    Kind = "http"    // GET / (or /_ping for the Podman API)
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
	Network Network       `json:"network"`
	Kind    Kind          `json:"kind"`
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

// Target is one endpoint of one unit to probe.
type Target struct {
	Unit string
	// Type and Address are the Listen entry as systemd reports it.
	Type    string
	Address string
	// Kind is the probe kind; KindAuto lets the prober choose.
	Kind Kind
	// Cold is true when the unit's service is not active: the probe then
	// allows for activation (a longer timeout) and reports Cold.
	Cold bool
	// Service is the service the unit triggers, when known; Exec its
	// command line, which KindAuto passes to ChooseKind.
	Service string
	Exec    []string
}

// Passed reports whether an outcome is a pass: ok, or unsupported (an
// endpoint this host cannot probe, which says nothing against the unit).
func (o Outcome) Passed() bool { return o == OK || o == Unsupported }
