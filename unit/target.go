package unit

// Kind is what a probe does once connected.
type Kind string

// The probe kinds.
const (
	KindAuto    Kind = "auto"    // chosen per unit (probe.ChooseKind)
	KindEcho    Kind = "echo"    // send a nonce, expect it back
	KindConnect Kind = "connect" // connect (or send an empty datagram) only
	KindHTTP    Kind = "http"    // GET / (or /_ping for the Podman API)
)

// Target is one endpoint of one socket unit to probe.
type Target struct {
	Unit string
	// Type and Address are the Listen entry as systemd reports it.
	Type    string
	Address string
	// Kind is the probe kind; KindAuto lets the prober choose.
	Kind Kind
	// Cold is true when the unit's service is not up: the probe then
	// allows for activation (a longer timeout, following the activation)
	// and reports Cold.
	Cold bool
	// Service is the service the unit triggers, when known; Exec its
	// command line, which KindAuto uses to choose.
	Service string
	Exec    []string
}

// Targets is every endpoint of the socket as probe targets, in Listen
// order: Kind auto, Cold when no service of the socket is up, with the
// socket's service and its command line when it triggers exactly one
// (Accept=no). It is the one builder of probe targets.
func (s Socket) Targets() []Target {
	cold := !s.ServiceUp()
	var service string
	var exec []string
	if len(s.Services) == 1 {
		service, exec = s.Services[0].Unit, s.Services[0].Exec
	}
	ts := make([]Target, 0, len(s.Listen))
	for _, l := range s.Listen {
		ts = append(ts, Target{Unit: s.Unit, Type: l.Type, Address: l.Address, Kind: KindAuto,
			Cold: cold, Service: service, Exec: exec})
	}
	return ts
}
