package unit

import "time"

// EventKind tells what an Event reports.
type EventKind int

// The kinds of events a manager's watch delivers.
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
	// The watch keeps reconnecting until its context ends.
	Disconnected
	// Reconnected: the connection is back after Disconnected; Sockets holds
	// the full, re-listed set of socket units.
	Reconnected
	// Snapshot: Sockets holds the full set of socket units. It is the first
	// event a watch delivers, and follows every daemon-reload.
	Snapshot
)

// Event is one fact a manager's watch delivers.
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
