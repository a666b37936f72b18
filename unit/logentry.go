package unit

import "time"

// LogEntry is one line of a unit's log: a journal entry of the socket, of a
// service it triggers, or of that service's container, or a line of `podman
// logs` when no journal is reachable.
//
// Message is the exact text the entry holds (journalctl's byte arrays
// decoded, invalid UTF-8 kept as it came): it is for JSON and for matching,
// and must go through termtext.Clean before it reaches a terminal.
type LogEntry struct {
	// Time is when the entry was written (__REALTIME_TIMESTAMP).
	Time time.Time `json:"time"`
	// Unit is the unit the entry belongs to ("echo.socket",
	// "echo.service"), the tag shown beside the line.
	Unit string `json:"unit"`
	// Priority is the syslog priority, 0 (emerg) to 7 (debug); PriorityUnknown
	// when the entry has none.
	Priority int `json:"priority"`
	// Identifier is SYSLOG_IDENTIFIER (or _COMM): "systemd", "podman",
	// "conmon", the program's name; empty when absent.
	Identifier string `json:"identifier,omitempty"`
	// PID is _PID, 0 when absent.
	PID int `json:"pid,omitempty"`
	// Message is the entry's text; a multi-line message keeps its newlines.
	Message string `json:"message"`
	// Cursor is the journal's cursor of the entry (__CURSOR), empty for a
	// line that did not come from the journal.
	Cursor string `json:"cursor,omitempty"`
}

// PriorityUnknown is LogEntry.Priority of an entry without PRIORITY.
const PriorityUnknown = -1

// syslog priorities of LogEntry.Priority.
const (
	PriorityEmerg = iota
	PriorityAlert
	PriorityCrit
	PriorityErr
	PriorityWarning
	PriorityNotice
	PriorityInfo
	PriorityDebug
)

// PriorityMark is the one-letter mark of a syslog priority, which tells it
// without colour: C for crit and worse, E err, W warning, N notice, I info,
// D debug, "-" none (PriorityUnknown or out of range).
func PriorityMark(p int) string {
	switch {
	case p < PriorityEmerg || p > PriorityDebug:
		return "-"
	case p <= PriorityCrit:
		return "C"
	}
	return [...]string{PriorityErr: "E", PriorityWarning: "W", PriorityNotice: "N", PriorityInfo: "I", PriorityDebug: "D"}[p]
}

// LogBatch is what a log stream delivers at a time: the entries read since
// the last batch, in time order, so that a fast writer cannot flood the
// reader with one message a line. Err is set on the last batch of a stream
// that stopped on its own (the journal could not be read, journalctl
// exited); Note says in words where the lines come from when that is not
// the journal ("no journal is reachable: …; showing podman logs").
// Dropped counts the entries the stream dropped, oldest first, since the
// last batch because its reader fell behind (a stream's buffer is bounded).
type LogBatch struct {
	Entries []LogEntry
	Err     error
	Note    string
	Dropped int
}
