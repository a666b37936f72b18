// Package systemdbus is socktui's only way to systemd: it lists socket units
// and the services they trigger, runs actions on them and follows their
// changes by D-Bus signal, never by polling the unit list.
//
// It never imports Bubble Tea; the ui package consumes its types and events.
package systemdbus

import "time"

// Listen is one entry of a socket unit's Listen property, exactly as systemd
// reports it: Type is Stream, Datagram, SequentialPacket, FIFO, Special,
// Netlink, MessageQueue or USBFunction; Address is "127.0.0.1:3000",
// "[::1]:3000", a path, "@abstract", "vsock::3000" or "vsock:CID:PORT".
type Listen struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

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
	Unit        string `json:"unit"`
	ActiveState string `json:"activeState"`
	SubState    string `json:"subState"`
	Result      string `json:"result"`
	MainPID     uint32 `json:"mainPID"`
	// Since is when the service entered its current active state
	// (StateChangeTimestamp); zero when systemd never recorded one.
	// ListSockets reads it only for services that are not inactive (a call
	// per service saved); Watch sets it from every change systemd signals.
	Since time.Time `json:"since,omitzero"`
	// Exec is the command line of the service's first ExecStart command
	// (its main process), as systemd reports it; nil when it has none.
	Exec []string `json:"exec,omitempty"`
	// Container is the Podman container behind the service, empty when the
	// service does not run one.
	Container string `json:"container"`
	// Reason says in words why a failed container service failed, when
	// more can be told than Result ("image localhost/x:1 is not in local
	// storage and the service runs it with --pull=never: ..."); empty
	// otherwise. It is set when the service's podman command exited 125,
	// at first to that, then (Watch sends a second UnitChanged) to what
	// `podman image exists` tells of the image on its command line.
	Reason string `json:"reason,omitempty"`
}

// Socket is one .socket unit with the services it triggers.
type Socket struct {
	Unit        string    `json:"unit"`
	Description string    `json:"description"`
	LoadState   string    `json:"loadState"`
	ActiveState string    `json:"activeState"`
	SubState    string    `json:"subState"`
	Result      string    `json:"result"`
	Accept      bool      `json:"accept"`
	Listen      []Listen  `json:"listen"`
	Triggers    []string  `json:"triggers"`
	Services    []Service `json:"services"`
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

// EventKind tells what an Event reports.
type EventKind int

// The kinds of events Watch delivers.
const (
	// UnitChanged: a socket or one of its services changed; Socket holds the
	// socket's new snapshot.
	UnitChanged EventKind = iota + 1
	// UnitAdded: a socket unit appeared; Socket holds it.
	UnitAdded
	// UnitRemoved: a socket unit is gone; Unit names it.
	UnitRemoved
	// JobFinished: a job ended; Unit, Job and JobResult describe it.
	JobFinished
	// Disconnected: the connection to the manager dropped; Err says why.
	// Watch keeps reconnecting with backoff until its context ends.
	Disconnected
	// Reconnected: the connection is back after Disconnected; Sockets holds
	// the full, re-listed set of socket units.
	Reconnected
	// Snapshot: Sockets holds the full set of socket units. It is the first
	// event Watch delivers, and follows every daemon-reload (Reloading false).
	Snapshot
)

// Event is one fact delivered by Watch.
type Event struct {
	Kind EventKind
	// At is when the signal behind the event was received.
	At        time.Time
	Unit      string
	Socket    *Socket
	Sockets   []Socket
	Job       uint32
	JobResult string
	Err       error
}
