// Package unit is socktui's domain: the plain types every other package
// shares — a socket unit, the services it triggers, a listen entry and its
// network name, the activation state and the one rule that derives it, the
// events a manager reports, the description of a socket to create, and
// what a probe targets. It is a leaf: it imports no other package of
// socktui's, no D-Bus and no Bubble Tea, and it does no I/O.
package unit

import (
	"slices"
	"time"
)

// ActiveState is systemd's ActiveState of a unit.
type ActiveState string

// systemd's active states.
const (
	Active       ActiveState = "active"
	Inactive     ActiveState = "inactive"
	Activating   ActiveState = "activating"
	Deactivating ActiveState = "deactivating"
	Reloading    ActiveState = "reloading"
	Refreshing   ActiveState = "refreshing"
	Failed       ActiveState = "failed"
	Maintenance  ActiveState = "maintenance"
)

// State is the activation state of a socket unit, derived from the socket
// and the services it triggers by DeriveState.
type State string

// The activation states, in the order a socket normally moves through them.
const (
	StateStopped    State = "stopped"    // the socket is not listening
	StateIdle       State = "idle"       // listening, no triggered service active
	StateActivating State = "activating" // a triggered service is starting
	StateActive     State = "active"     // a triggered service is running
	StateFailed     State = "failed"     // the socket or a triggered service failed
)

// Service is a unit triggered by a socket, usually a .service.
type Service struct {
	Unit        string      `json:"unit"`
	ActiveState ActiveState `json:"activeState"`
	SubState    string      `json:"subState"`
	Result      string      `json:"result"`
	MainPID     uint32      `json:"mainPID"`
	// Since is when the service entered its current active state
	// (StateChangeTimestamp); zero when systemd never recorded one. A
	// listing may read it only for services that are not inactive; a
	// watch sets it from every change systemd signals.
	Since time.Time `json:"since,omitzero"`
	// Exec is the command line of the service's first ExecStart command
	// (its main process), as systemd reports it; nil when it has none.
	Exec []string `json:"exec,omitempty"`
	// Container is the Podman container behind the service, empty when the
	// service does not run one.
	Container string `json:"container"`
	// Source is the file a generator made a container service from, as
	// systemd reports it (SourcePath): a Quadlet .container file, for
	// example; empty for a unit file written as such.
	Source string `json:"source,omitempty"`
	// Reason says in words why a failed container service failed, when
	// more can be told than Result ("image localhost/x:1 is not in local
	// storage and the service runs it with --pull=never: ..."); empty
	// otherwise.
	Reason string `json:"reason,omitempty"`
}

// Failed reports whether the service failed. systemd resets Result to
// "success" as a new start of a failed service begins, and signals that
// (measured, systemd 252) while ActiveState still reads failed, before
// the state moves on: a failed service whose Result is success is
// starting again, not failing.
func (s Service) Failed() bool { return s.ActiveState == Failed && s.Result != "success" }

// Up reports whether the service is active or coming up: a probe then
// finds it warm, not cold. A service that is stopping is not up.
func (s Service) Up() bool {
	switch s.ActiveState {
	case Active, Activating, Reloading, Refreshing:
		return true
	}
	return false
}

// LocalHost is what a list of several hosts calls this machine (a Socket
// whose Host is empty): the UI's HOST column and status line, list's HOST
// column.
const LocalHost = "local"

// Socket is one .socket unit with the services it triggers.
type Socket struct {
	// Host is the host the unit was read from, as the user named it
	// (socktui --host); empty for this machine.
	Host        string      `json:"host,omitempty"`
	Unit        string      `json:"unit"`
	Description string      `json:"description"`
	LoadState   string      `json:"loadState"`
	ActiveState ActiveState `json:"activeState"`
	SubState    string      `json:"subState"`
	Result      string      `json:"result"`
	Accept      bool        `json:"accept"`
	Listen      []Listen    `json:"listen"`
	Triggers    []string    `json:"triggers"`
	Services    []Service   `json:"services"`
	// UnitFileState is systemd's UnitFileState of the socket's unit file,
	// as `systemctl list-unit-files` shows it: "enabled", "disabled",
	// "static", "transient", "generated", "masked", "linked", "indirect",
	// "alias", ...; empty when the unit has no file.
	UnitFileState string `json:"unitFileState"`
	// State is DeriveState of the fields above; Reason says why when State
	// is StateFailed (for example "service echo.service: exit-code").
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"`
	// The counters emit no PropertiesChanged signal: they are as fresh as
	// the last time they were read.
	NConnections uint32 `json:"nConnections"`
	NAccepted    uint32 `json:"nAccepted"`
	NRefused     uint32 `json:"nRefused"`
}

// Listening reports whether the socket is up and listening, so that its
// endpoints can be probed: its derived State says so, or, for a Socket whose
// State was never derived, its ActiveState is active.
func (s Socket) Listening() bool {
	switch s.State {
	case StateIdle, StateActivating, StateActive:
		return true
	case "":
		return s.ActiveState == Active
	}
	return false
}

// ServiceUp reports whether a service the socket triggers is up
// (Service.Up): a probe then finds it warm, not cold.
func (s Socket) ServiceUp() bool {
	for _, svc := range s.Services {
		if svc.Up() {
			return true
		}
	}
	return false
}

// FailedServices names the services of the socket that are failed: those
// to reset so that their start limit does not refuse the next connection.
func (s Socket) FailedServices() []string {
	var out []string
	for _, svc := range s.Services {
		if svc.Failed() {
			out = append(out, svc.Unit)
		}
	}
	return out
}

// Clone returns a deep copy of s: its slices are its own.
func (s Socket) Clone() Socket {
	c := s
	c.Listen = slices.Clone(s.Listen)
	c.Triggers = slices.Clone(s.Triggers)
	c.Services = slices.Clone(s.Services)
	return c
}
