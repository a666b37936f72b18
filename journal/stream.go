package journal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socktui/socktui/unit"
)

// stream is the bounded buffer between a stream's producer (one process's
// output) and its consumer's channel: a ring of at most keep entries not yet
// delivered.
type stream struct {
	keep     int
	lossless bool

	mu      sync.Mutex
	ring    []unit.LogEntry // pending entries, oldest first from head
	head, n int
	dropped int
	notes   []string
	done    bool
	err     error
	ready   chan struct{} // a token when there is something to deliver
	room    chan struct{} // a token when a lossless producer may add again
}

func newStream(keep int, lossless bool) *stream {
	return &stream{keep: keep, lossless: lossless, ring: make([]unit.LogEntry, keep),
		ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// add queues e. A full ring drops its oldest entry, or, lossless, waits for
// the consumer to take some (false: ctx ended first).
func (s *stream) add(ctx context.Context, e unit.LogEntry) bool {
	s.mu.Lock()
	for s.lossless && s.n == s.keep {
		s.mu.Unlock()
		select {
		case <-s.room:
		case <-ctx.Done():
			return false
		}
		s.mu.Lock()
	}
	if s.n == s.keep {
		s.ring[s.head] = unit.LogEntry{}
		s.head = (s.head + 1) % s.keep
		s.n--
		s.dropped++
	}
	s.ring[(s.head+s.n)%s.keep] = e
	s.n++
	s.mu.Unlock()
	signal(s.ready)
	return true
}

// note queues a note for the next batch.
func (s *stream) note(msg string) {
	s.mu.Lock()
	s.notes = append(s.notes, msg)
	s.mu.Unlock()
	signal(s.ready)
}

// finish marks the end of the stream, with err when it failed.
func (s *stream) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.mu.Unlock()
	signal(s.ready)
}

// take empties the ring into a batch; last is true when the stream has
// finished and this batch is its last.
func (s *stream) take() (b unit.LogBatch, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n > 0 {
		b.Entries = make([]unit.LogEntry, s.n)
		for i := range s.n {
			j := (s.head + i) % s.keep
			b.Entries[i] = s.ring[j]
			s.ring[j] = unit.LogEntry{}
		}
		s.head, s.n = 0, 0
	}
	b.Dropped, s.dropped = s.dropped, 0
	b.Note = strings.Join(s.notes, "; ")
	s.notes = nil
	if s.done {
		b.Err = s.err
	}
	signal(s.room)
	return b, s.done
}

// deliver sends batches to out until the stream finishes or ctx ends, then
// closes out once produced is closed (the producer's process waited for).
// Batches are at least BatchInterval apart, so that a flood
// coalesces into a few large batches; the first goes as soon as it has
// something.
func (s *stream) deliver(ctx context.Context, out chan<- unit.LogBatch, produced <-chan struct{}) {
	defer func() {
		<-produced
		close(out)
	}()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ready:
		}
		if wait := BatchInterval - time.Since(last); !last.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		b, end := s.take()
		if len(b.Entries) > 0 || b.Note != "" || b.Err != nil || b.Dropped > 0 {
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
			last = time.Now()
		}
		if end {
			return
		}
	}
}

// maxStderr bounds what is kept of a process's standard error.
const maxStderr = 4 << 10

// produce runs the stream's process and feeds st until it ends; its error is
// the stream's Err (nil when ctx ended it or a read reached the end).
func (r *Reader) produce(ctx context.Context, t target, q Query, st *stream) error {
	if len(t.units) == 0 {
		return errors.New("no unit to read the log of")
	}
	why, err := r.journal(ctx, t, q, st)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if why == "" {
		return err
	}
	// No journal is reachable: a container's log from podman instead.
	names := t.containerNames()
	if len(names) == 0 || r.Podman.Path == "" {
		return fmt.Errorf("no journal is reachable: %s", why)
	}
	st.note("no journal is reachable: " + why + "; showing podman logs")
	return r.podmanLogs(ctx, t, names[0], q, st)
}

// journal runs journalctl for t and q. why is set when the error means no
// journal is reachable (journalctl missing, no journal files, no
// permission), as opposed to a journal that was read and then failed.
//
// Following from the last N entries takes two runs: journalctl 252's
// `--follow -n N` with matches misses new entries when no entry matched yet
// (measured: 0 of 6 lines of a new unit; `-n all` and --after-cursor miss
// none). So the last N are read first, then the follow starts after the
// last of them (--after-cursor), or from the start when there was none.
func (r *Reader) journal(ctx context.Context, t target, q Query, st *stream) (why string, err error) {
	path := r.Journalctl
	if path == "" {
		if path, err = exec.LookPath("journalctl"); err != nil {
			return "journalctl is not installed (Debian: apt-get install systemd)", err
		}
	}
	if r.Dir != "" && !hasJournalFiles(r.Dir) {
		why := "no journal files in " + r.Dir
		return why, errors.New(why)
	}
	f := userFields
	if r.System {
		f = systemFields
	}
	base := []string{"-o", "json", "--all", "--no-pager", "--output-fields=" + outputFields()}
	switch {
	case r.Dir != "":
		base = append(base, "-D", r.Dir)
	case !r.System:
		base = append(base, userFlag()...)
	}
	if !q.Since.IsZero() {
		base = append(base, "--since", fmt.Sprintf("@%d.%06d", q.Since.Unix(), q.Since.Nanosecond()/1000))
	}
	m := matches(t, f, r.System)
	lines := "all"
	if q.Lines > 0 {
		lines = strconv.Itoa(q.Lines)
	}
	if !q.Follow {
		return r.run(ctx, path, slices.Concat(base, []string{"-n", lines}, m), t, f, false, st)
	}
	var from []string
	if q.Lines > 0 {
		first := &lastCursor{}
		if why, err := r.run(ctx, path, slices.Concat(base, []string{"-n", lines}, m), t, f, false, first.wrap(st)); err != nil || ctx.Err() != nil {
			return why, err
		}
		if first.cursor != "" {
			from = []string{"--after-cursor", first.cursor}
		}
	}
	if from == nil {
		from = []string{"-n", "all"}
	}
	return r.run(ctx, path, slices.Concat(base, from, []string{"--follow"}, m), t, f, true, st)
}

// lastCursor passes entries on to a stream and remembers the last cursor.
type lastCursor struct {
	st     *stream
	cursor string
}

func (l *lastCursor) wrap(st *stream) sink { l.st = st; return l }

func (l *lastCursor) add(ctx context.Context, e unit.LogEntry) bool {
	if e.Cursor != "" {
		l.cursor = e.Cursor
	}
	return l.st.add(ctx, e)
}

func (l *lastCursor) note(msg string) { l.st.note(msg) }

// sink is where a run puts what it reads: a stream.
type sink interface {
	add(ctx context.Context, e unit.LogEntry) bool
	note(msg string)
}

// run runs one journalctl with args into st; see journal for why.
func (r *Reader) run(ctx context.Context, path string, args []string, t target, f unitFields, follow bool, st sink) (why string, err error) {
	cmd, stdout, stderr, err := startProcess(ctx, path, nil, args)
	if err != nil {
		return "journalctl: " + err.Error(), err
	}
	// journalctl says on stderr when it found no journal it may read;
	// following, it would then wait for ever: stop it.
	var noJournal string
	var errText strings.Builder
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		readLines(stderr, 1<<10, func(line []byte, _ bool) bool {
			l := strings.TrimSpace(string(line))
			if errText.Len() < maxStderr {
				errText.WriteString(l + "\n")
			}
			switch {
			case strings.HasPrefix(l, "No journal files were"):
				noJournal = strings.TrimSuffix(l, ".")
				_ = cmd.Process.Kill()
			case strings.HasPrefix(l, "Hint:"), strings.HasPrefix(l, "Warning:"):
				st.note("journalctl: " + l)
			}
			return true
		})
	}()
	entries, stopped := 0, false
	readLines(stdout, MaxLine, func(line []byte, cut bool) bool {
		if e, ok := parseEntry(line, cut, t, f); ok {
			entries++
			stopped = !st.add(ctx, e)
		}
		return !stopped
	})
	if stopped {
		_ = cmd.Process.Kill()
	}
	<-stderrDone
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil || stopped:
		return "", nil
	case noJournal != "":
		return noJournal, errors.New(noJournal)
	case werr != nil:
		msg := fmt.Sprintf("journalctl: %v", werr)
		if s := strings.TrimSpace(errText.String()); s != "" {
			msg += ": " + s
		}
		if entries == 0 {
			return msg, errors.New(msg)
		}
		return "", errors.New(msg)
	case follow:
		return "", errors.New("journalctl stopped following")
	}
	return "", nil
}

// hasJournalFiles reports whether dir, or a folder in it (journald's
// MACHINE-ID folders), holds a journal file. Without one journalctl reads
// nothing and says nothing (or, following, speaks of boot IDs).
func hasJournalFiles(dir string) bool {
	for _, pattern := range []string{"*.journal", "*/*.journal", "*.journal~", "*/*.journal~"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) > 0 {
			return true
		}
	}
	return false
}

// startProcess starts path with args (env nil: this process's), its
// standard output and error on pipes. ctx ending kills it; the caller
// reads both pipes to their end, then waits.
func startProcess(ctx context.Context, path string, env, args []string) (*exec.Cmd, io.Reader, io.Reader, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdout, stderr, nil
}

// readLines calls fn with each line of r (without its newline), each cut at
// max bytes (cut true, the rest of the line skipped), until EOF, an error or
// fn returning false.
func readLines(r io.Reader, max int, fn func(line []byte, cut bool) bool) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		buf = buf[:0]
		cut := false
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			frag = bytes.TrimSuffix(frag, []byte("\n"))
			if room := max - len(buf); len(frag) > room {
				buf = append(buf, frag[:room]...)
				cut = true
			} else {
				buf = append(buf, frag...)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if len(buf) > 0 && !fn(buf, cut) {
			return
		}
		if err != nil {
			return
		}
	}
}
