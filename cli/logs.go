package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/journal"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// journalDirEnv names a journal folder for `socktui logs` to read instead of
// the host's journal (see the command's help).
const journalDirEnv = "SOCKTUI_JOURNAL_DIR"

// logsOptions are the arguments of `socktui logs`.
type logsOptions struct {
	unit   string
	follow bool
	lines  int // -1: not given
	since  string
	json   bool
}

// newLogsCommand is `socktui logs UNIT`.
func newLogsCommand(g *globals) *cobra.Command {
	o := logsOptions{lines: -1}
	cmd := &cobra.Command{
		Use:   "logs UNIT",
		Short: "Show the journal of a socket unit, its services and its container",
		Long: `Show the journal lines of a socket unit, of the services it triggers and,
for a Podman service, of its container's output, merged by time, each line
tagged with its unit. UNIT is a unit name or a glob as for list; a name
without a type suffix means a .socket unit (echo: echo.socket). A name that
is no socket unit's shows that unit's own lines.

Each line shows its time, a mark for its priority (C crit and worse, E err,
W warning, N notice, I info, D debug, - none; coloured too on a terminal
unless NO_COLOR is set), its unit, its program and PID, and its message,
with every character that could drive the terminal escaped (\x1b) and the
lines of a multi-line message indented. --json prints one JSON object per
line (time, unit, priority, identifier, pid, message, cursor); a message
that is not UTF-8 is an array of its byte values, as journalctl writes it.

The journal is read with journalctl -o json: the user journal for a user
manager (journalctl --user-unit's matches), the system journal with
--system. When the manager is a socktui sandbox (socktui demo's, or the
tests'), its own journal is read instead: socktui finds it through
XDG_RUNTIME_DIR ($XDG_RUNTIME_DIR/socktui-log/journal). ` + journalDirEnv + `=DIR
reads the journal folder DIR (journalctl -D DIR). When no journal can be
read, a container's lines come from podman logs, and socktui says so.

--since takes a time as journalctl does, in these forms: 2006-01-02
15:04:05, 2006-01-02 15:04, 2006-01-02, 15:04:05, 15:04 (local time),
RFC 3339, @UNIX-SECONDS, now, today, yesterday, or a duration back from now
(-10m, 1h30m ago). Without -n every line is shown, or the last 10 with
--follow; a journal line over 64 KiB is cut.`,
		Example: `  socktui logs echo
  socktui logs -f -n 50 echo.socket
  socktui logs --since '-1h' --json 'web*'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("logs takes one UNIT, got %d", len(args))
			}
			return nil
		},
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.unit = args[0]
			if cmd.Flags().Changed("lines") && o.lines < 0 {
				return usagef("-n/--lines must be 0 or more, not %d", o.lines)
			}
			return runLogs(cmd.Context(), g, o)
		},
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep showing new lines as they are written, until interrupted")
	cmd.Flags().IntVarP(&o.lines, "lines", "n", -1, "show the last `N` lines (default: all, or 10 with --follow)")
	cmd.Flags().StringVar(&o.since, "since", "", "show lines written at or after `TIME`")
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object per line")
	return cmd
}

// runLogs is `socktui logs UNIT`.
func runLogs(ctx context.Context, g *globals, o logsOptions) error {
	if err := systemdbus.CheckPattern(o.unit); err != nil {
		return usagef("%v", err)
	}
	now := time.Now()
	var q journal.Query
	if o.since != "" {
		at, err := parseSince(o.since, now)
		if err != nil {
			return usagef("--since: %v", err)
		}
		q.Since = at
	}
	q.Follow, q.Lossless = o.follow, true
	switch {
	case o.lines > 0:
		q.Lines = o.lines
	case o.lines == 0 && !o.follow:
		return nil // as journalctl -n 0: nothing
	case o.lines == 0:
		q.Since = latest(q.Since, now) // only what is written from now on
	case o.follow:
		q.Lines = 10
	}
	sock, err := logsTarget(ctx, g, o.unit)
	if err != nil {
		return err
	}
	r := journalReader(g)
	color := isTerminal(g.env.Stdout) && g.env.Getenv("NO_COLOR") == "" && g.env.Getenv("TERM") != "dumb"
	for b := range r.Logs(ctx, sock, q) {
		if b.Note != "" {
			fmt.Fprintf(g.env.Stderr, "socktui logs: %s\n", termtext.Clean(b.Note))
		}
		for _, e := range b.Entries {
			if o.json {
				err = writeLogJSON(g.env.Stdout, e)
			} else {
				_, err = io.WriteString(g.env.Stdout, formatLogLine(e, color, time.Local))
			}
			if err != nil {
				return err
			}
		}
		if b.Err != nil {
			return b.Err
		}
	}
	if o.follow && ctx.Err() != nil {
		return nil // interrupted: the normal end of a follow
	}
	return ctx.Err()
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// logsTarget lists the socket units that pattern names, with their services
// and containers, as one log target. A name that is no socket unit's is a
// target of its own (a service's log, say); a glob that matches nothing is
// an error.
func logsTarget(ctx context.Context, g *globals, pattern string) (unit.Socket, error) {
	name := systemdbus.SocketName(pattern)
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return unit.Socket{}, err
	}
	defer c.Close()
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{name}, All: true})
	if err != nil {
		if errors.Is(err, systemdbus.ErrBadPattern) {
			return unit.Socket{}, usagef("%v", err)
		}
		return unit.Socket{}, err
	}
	if len(socks) == 0 {
		if isGlobName(name) {
			return unit.Socket{}, fmt.Errorf("no socket unit matches %q", termtext.Clean(pattern))
		}
		return unit.Socket{Unit: name}, nil
	}
	return mergeSockets(socks), nil
}

// mergeSockets makes one log target of several sockets: the first's unit,
// the others' as triggers, and every service.
func mergeSockets(socks []unit.Socket) unit.Socket {
	m := unit.Socket{Unit: socks[0].Unit}
	for i, s := range socks {
		if i > 0 {
			m.Triggers = append(m.Triggers, s.Unit)
		}
		m.Triggers = append(m.Triggers, s.Triggers...)
		m.Services = append(m.Services, s.Services...)
	}
	return m
}

// journalReader is the journal `socktui logs` reads: SOCKTUI_JOURNAL_DIR,
// else a socktui sandbox's journal when XDG_RUNTIME_DIR is a sandbox's,
// else the host's (the system journal with --system).
func journalReader(g *globals) *journal.Reader {
	if r, ok := g.env.hosts.journalReader(g.system); ok {
		return r // --host: the host's journal over ssh (hosts.go)
	}
	return localJournalReader(g)
}

// localJournalReader is journalReader on this machine, --host or not.
func localJournalReader(g *globals) *journal.Reader {
	r := &journal.Reader{System: g.system, Dir: g.env.Getenv(journalDirEnv)}
	if r.Dir == "" && !g.system {
		r.Dir = sandbox.JournalDirIn(g.env.Getenv("XDG_RUNTIME_DIR"))
	}
	if p, err := podman.Find(nil); err == nil {
		r.Podman = p
	}
	return r
}

// logTimeLayout is a line's time, to the millisecond.
const logTimeLayout = "2006-01-02 15:04:05.000"

// SGR colours of the priorities on a terminal, as journalctl uses them.
var logColors = map[int]string{
	unit.PriorityEmerg: "\x1b[1;31m", unit.PriorityAlert: "\x1b[1;31m", unit.PriorityCrit: "\x1b[1;31m",
	unit.PriorityErr: "\x1b[31m", unit.PriorityWarning: "\x1b[33m", unit.PriorityNotice: "\x1b[1m",
	unit.PriorityDebug: "\x1b[2m",
}

// formatLogLine is one entry as text, newline included: time (in loc),
// priority mark, unit, identifier[pid]: message; each further line of the
// message is indented under the first. Every value goes through
// termtext.Clean; color wraps the mark and message in the priority's colour.
func formatLogLine(e unit.LogEntry, color bool, loc *time.Location) string {
	var b strings.Builder
	at := "-"
	if !e.Time.IsZero() {
		at = e.Time.In(loc).Format(logTimeLayout)
	}
	on, off := "", ""
	if c, ok := logColors[e.Priority]; ok && color {
		on, off = c, "\x1b[0m"
	}
	fmt.Fprintf(&b, "%s %s%s%s %s", at, on, unit.PriorityMark(e.Priority), off, termtext.Clean(dashIfEmpty(e.Unit)))
	if e.Identifier != "" || e.PID != 0 {
		b.WriteByte(' ')
		b.WriteString(termtext.Clean(e.Identifier))
		if e.PID != 0 {
			fmt.Fprintf(&b, "[%d]", e.PID)
		}
	}
	b.WriteString(": ")
	indent := strings.Repeat(" ", len(logTimeLayout)+3)
	for i, line := range strings.Split(strings.TrimRight(e.Message, "\n"), "\n") {
		if i > 0 {
			b.WriteString("\n" + indent)
		}
		b.WriteString(on + termtext.Clean(line) + off)
	}
	b.WriteByte('\n')
	return b.String()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// logJSON is one line of `socktui logs --json`. Message is a string when it
// is UTF-8, else an array of its byte values (journalctl's convention), so
// that the bytes stay exact.
type logJSON struct {
	Time       string `json:"time,omitempty"`
	Unit       string `json:"unit"`
	Priority   int    `json:"priority"`
	Identifier string `json:"identifier,omitempty"`
	PID        int    `json:"pid,omitempty"`
	Message    any    `json:"message"`
	Cursor     string `json:"cursor,omitempty"`
}

// writeLogJSON writes e as one line of JSON, through termtext.JSON.
func writeLogJSON(w io.Writer, e unit.LogEntry) error {
	j := logJSON{Unit: e.Unit, Priority: e.Priority, Identifier: e.Identifier, PID: e.PID, Message: e.Message, Cursor: e.Cursor}
	if !e.Time.IsZero() {
		j.Time = e.Time.UTC().Format(time.RFC3339Nano)
	}
	if !utf8.ValidString(e.Message) {
		bs := make([]int, len(e.Message))
		for i := range len(e.Message) {
			bs[i] = int(e.Message[i])
		}
		j.Message = bs
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	_, err = w.Write(termtext.JSON(append(b, '\n')))
	return err
}

// parseSince reads --since as the help describes, relative to now.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	switch s {
	case "now":
		return now, nil
	case "today":
		return day, nil
	case "yesterday":
		return day.AddDate(0, 0, -1), nil
	}
	if sec, ok := strings.CutPrefix(s, "@"); ok {
		f, err := strconv.ParseFloat(sec, 64)
		if err != nil || f < 0 {
			return time.Time{}, fmt.Errorf("%q is not @UNIX-SECONDS", s)
		}
		return time.UnixMicro(int64(f * 1e6)), nil
	}
	if rel, ok := strings.CutSuffix(s, " ago"); ok || strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(strings.TrimPrefix(strings.TrimSpace(rel), "-"))
		if err == nil && d >= 0 {
			return now.Add(-d), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2006-01-02 15:04:05, 15:04, -10m, 1h ago, today, @UNIX-SECONDS...)", termtext.Clean(s))
}
