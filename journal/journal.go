// Package journal reads the log of a socket unit, the services it triggers
// and their containers from the systemd journal, the way the field does it:
// one `journalctl -o json` process per open stream (`--follow` for a live
// one), ended when the stream's context ends. No cgo, no sd-journal.
//
// Which journal: the folder Reader.Dir (`journalctl -D`, a socktui
// sandbox's journal), else the host's: the user journal (`--user`) for a
// user manager, the system journal for the system manager. Entries are
// matched as `journalctl --user-unit` / `--unit` match them (the unit's own
// processes, the manager's messages about it, coredumps), plus
// CONTAINER_NAME for a container's output, all in one process so that
// journalctl merges them by time. When no journal is reachable, a container's
// log comes from `podman logs` instead, and the stream says so in words.
//
// Everything read is bounded: each journalctl JSON line is cut at MaxLine
// bytes (the rest skipped), a stream holds at most Keep entries that its
// consumer has not taken (a follower drops the oldest; a lossless reader
// holds journalctl back), and entries are delivered in batches at most every
// BatchInterval, so a unit writing 100,000 lines a second cannot flood the
// consumer with messages. Messages are exact (invalid UTF-8 kept): they go
// through termtext.Clean before a terminal.
package journal

import (
	"context"
	"os"
	"time"

	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/unit"
)

// Bounds of a stream.
const (
	// DefaultKeep is Reader.Keep when zero.
	DefaultKeep = 10_000
	// MaxLine bounds one line of journalctl's JSON; the rest of a longer
	// line is skipped and the entry is marked cut.
	MaxLine = 64 << 10
	// BatchInterval is the least time between two batches of a stream
	// (the first goes at once), so that batches coalesce under a flood.
	BatchInterval = 50 * time.Millisecond
)

// Reader reads units' logs from one journal. The zero value reads the host's
// user journal with the journalctl in PATH and has no podman fallback.
// A Reader is safe for concurrent use; each stream runs its own process.
type Reader struct {
	// Journalctl is the journalctl binary; looked up in PATH when empty.
	Journalctl string
	// Dir is a journal folder to read (`journalctl -D`), such as a socktui
	// sandbox's (sandbox.JournalDirIn); empty: the host's journal.
	Dir string
	// System reads the system manager's units (_SYSTEMD_UNIT, UNIT) in
	// the system journal; false: a user manager's (_SYSTEMD_USER_UNIT,
	// USER_UNIT).
	System bool
	// Podman runs `podman logs` for a container when no journal is
	// reachable; its zero value (no Path) means no fallback.
	Podman podman.Podman
	// Keep bounds the entries a stream holds for its consumer;
	// DefaultKeep when zero.
	Keep int
}

// Query says which part of a socket's log to read.
type Query struct {
	// Lines starts with the last Lines entries (journalctl -n); zero or
	// less: all of them.
	Lines int
	// Since leaves out entries before it (journalctl --since); zero: none.
	Since time.Time
	// Follow keeps the stream open for new entries until its context ends
	// (journalctl --follow).
	Follow bool
	// Lossless never drops an entry: a consumer that falls behind holds the
	// reader (and journalctl) back instead, as for the CLI. A follower for
	// a view leaves it false, so that a slow view drops the oldest entries
	// (counted in LogBatch.Dropped) and stays current.
	Lossless bool
}

// FollowLogs streams the log of socket s, its services and their containers,
// starting with the last n entries (all when n <= 0), and then new entries
// as they are written, until ctx ends. It is Logs with Query{Lines: n,
// Follow: true}: the contract is Logs'.
func (r *Reader) FollowLogs(ctx context.Context, s unit.Socket, n int) <-chan unit.LogBatch {
	return r.Logs(ctx, s, Query{Lines: n, Follow: true})
}

// Logs streams the part q of the log of socket s, its services and their
// containers, merged in time order, each entry tagged with its unit (a
// container's output with its service). It starts one process (journalctl,
// or podman logs as the fallback) and returns at once.
//
// The channel carries batches of entries; it is closed when ctx ends
// (the process is killed and waited for first) or when the stream stops
// by itself: a read without Follow that reached the end, or journalctl
// that exited or could not run. The last batch of a stream that stopped by
// itself because of a failure carries Err; a batch's Note says in words
// where its lines come from when that is not the journal, or what
// journalctl warned of (no permission to see some entries). The consumer
// must drain the channel or end ctx.
func (r *Reader) Logs(ctx context.Context, s unit.Socket, q Query) <-chan unit.LogBatch {
	out := make(chan unit.LogBatch)
	st := newStream(r.keep(), q.Lossless)
	produced := make(chan struct{})
	go st.deliver(ctx, out, produced)
	go func() {
		defer close(produced)
		st.finish(r.produce(ctx, targetOf(s), q, st))
	}()
	return out
}

// Read reads the part q of socket s's log at once (q.Follow is ignored) and
// returns its entries and notes; err is why the read stopped short.
func (r *Reader) Read(ctx context.Context, s unit.Socket, q Query) ([]unit.LogEntry, []string, error) {
	q.Follow, q.Lossless = false, true
	var entries []unit.LogEntry
	var notes []string
	var err error
	for b := range r.Logs(ctx, s, q) {
		entries = append(entries, b.Entries...)
		if b.Note != "" {
			notes = append(notes, b.Note)
		}
		if b.Err != nil {
			err = b.Err
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return entries, notes, err
}

func (r *Reader) keep() int {
	if r.Keep > 0 {
		return r.Keep
	}
	return DefaultKeep
}

// userFlag is journalctl's --user for a user manager's units on the host's
// journal, where a normal user's entries are in user-UID.journal files.
// journald keeps the entries of system users (UID < 1000, root included)
// in the system journal, which --user would leave out: for them no flag.
func userFlag() []string {
	if os.Geteuid() < 1000 {
		return nil
	}
	return []string{"--user"}
}
