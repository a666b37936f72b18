package journal_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socktui/socktui/journal"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// noLeaks checks, once t's cleanups (the sandbox's Close) have run, that no
// goroutine t started is left: every stream's goroutines and process ended.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// startSandbox gives t a sandbox with a journal and a Reader of it.
func startSandbox(t *testing.T) (*sandbox.Sandbox, *journal.Reader) {
	t.Helper()
	sandboxtest.Need(t, "journalctl", "systemd")
	sandboxtest.Need(t, "systemd-run", "systemd")
	s := sandboxtest.Start(t)
	if s.JournalDir == "" {
		sandboxtest.Unavailable(t, "the sandbox has no journal: no systemd-journald on this host (apt-get install systemd)")
	}
	return s, &journal.Reader{Dir: s.JournalDir}
}

// run starts a transient service NAME running the shell script in the
// sandbox (systemd-run --user: its arguments go to systemd as data).
func run(t *testing.T, s *sandbox.Sandbox, name, script string) {
	t.Helper()
	cmd := exec.Command("systemd-run", "--user", "--quiet", "--unit", name, "/bin/sh", "-c", script)
	cmd.Env = s.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-run %s: %v\n%s", name, err, out)
	}
}

// waitFor reads batches until have(entries so far) is true, failing t after
// 15 s or when the stream ends first.
func waitFor(t *testing.T, batches <-chan unit.LogBatch, what string, have func([]unit.LogEntry) bool) []unit.LogEntry {
	t.Helper()
	var got []unit.LogEntry
	timeout := time.After(15 * time.Second)
	for !have(got) {
		select {
		case b, ok := <-batches:
			if !ok {
				t.Fatalf("the stream ended before %s; got %d entries: %v", what, len(got), got)
			}
			if b.Err != nil {
				t.Fatalf("the stream failed before %s: %v", what, b.Err)
			}
			got = append(got, b.Entries...)
		case <-timeout:
			t.Fatalf("no %s within 15 s; got %d entries: %v", what, len(got), got)
		}
	}
	return got
}

func find(entries []unit.LogEntry, msg string) (unit.LogEntry, bool) {
	for _, e := range entries {
		if e.Message == msg {
			return e, true
		}
	}
	return unit.LogEntry{}, false
}

// TestFollowSandboxJournal follows a socket's log on a real manager's
// journal: lines its services write after the stream opened arrive, exact
// (an escape sequence, bytes that are not UTF-8, several lines), tagged with
// their service, merged in time order; another unit's lines never do; and
// ending the context ends journalctl and closes the channel.
func TestFollowSandboxJournal(t *testing.T) {
	noLeaks(t)
	s, r := startSandbox(t)
	sock := unit.Socket{Unit: "logs.socket", Services: []unit.Service{{Unit: "logs-a.service"}, {Unit: "logs-b.service"}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := r.FollowLogs(ctx, sock, 100)

	// The other unit writes first, so that its line is in the journal
	// before the ones the stream waits for.
	run(t, s, "other.service", `echo "other unit's line"`)
	run(t, s, "logs-a.service", `echo "a first"; sleep 0.2; printf 'esc \033[31mred\n'; printf 'bad \377\376 utf8\n'; echo "a done"`)
	run(t, s, "logs-b.service", `sleep 0.1; echo "b between"`)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("journalctl", "-D", s.JournalDir, "-o", "json", "--no-pager",
				"--output-fields=MESSAGE,_SYSTEMD_USER_UNIT,USER_UNIT").CombinedOutput()
			t.Logf("the journal:\n%s", out)
		}
	})
	got := waitFor(t, batches, "the services' lines", func(es []unit.LogEntry) bool {
		_, a := find(es, "a done")
		_, b := find(es, "b between")
		return a && b
	})
	for msg, u := range map[string]string{"a first": "logs-a.service", "esc \x1b[31mred": "logs-a.service",
		"bad \xff\xfe utf8": "logs-a.service", "b between": "logs-b.service"} {
		e, ok := find(got, msg)
		if !ok {
			t.Errorf("no entry %q in %v", msg, got)
			continue
		}
		if e.Unit != u || e.Time.IsZero() || e.Cursor == "" {
			t.Errorf("entry %q = %#v, want unit %s with a time and a cursor", msg, e, u)
		}
	}
	if e, ok := find(got, "other unit's line"); ok {
		t.Errorf("another unit's line in the stream: %#v", e)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Errorf("entries out of time order: %v then %v", got[i-1], got[i])
		}
	}
	a, _ := find(got, "a first")
	b, _ := find(got, "b between")
	done, _ := find(got, "a done")
	if !(a.Time.Before(b.Time) && b.Time.Before(done.Time)) {
		t.Errorf("a first %v, b between %v, a done %v: not merged by time", a.Time, b.Time, done.Time)
	}

	cancel()
	for b := range batches {
		if b.Err != nil {
			t.Errorf("a stream ended by its context reported %v", b.Err)
		}
	}
}

// TestReadSandboxJournal reads once (socktui logs without -f): -n and
// --since are honoured and the read ends by itself.
func TestReadSandboxJournal(t *testing.T) {
	noLeaks(t)
	s, r := startSandbox(t)
	sock := unit.Socket{Unit: "count.socket", Services: []unit.Service{{Unit: "count.service"}}}
	run(t, s, "count.service", `for i in 1 2 3 4 5; do echo "line $i"; sleep 0.05; done`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var all []unit.LogEntry
	for deadline := time.Now().Add(15 * time.Second); ; {
		var err error
		all, _, err = r.Read(ctx, sock, journal.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := find(all, "line 5"); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var lines []string
	for _, e := range all {
		if strings.HasPrefix(e.Message, "line ") {
			lines = append(lines, e.Message)
		}
	}
	if strings.Join(lines, ",") != "line 1,line 2,line 3,line 4,line 5" {
		t.Fatalf("read %v, want line 1..5", lines)
	}
	last2, _, err := r.Read(ctx, sock, journal.Query{Lines: 2})
	if err != nil || len(last2) != 2 || last2[1].Message != "line 5" {
		t.Errorf("Read -n 2 = %v, %v; want the last two entries", last2, err)
	}
	l3, _ := find(all, "line 3")
	since, _, err := r.Read(ctx, sock, journal.Query{Since: l3.Time})
	if err != nil || len(since) == 0 || since[0].Message != "line 3" {
		t.Errorf("Read --since line 3's time = %v, %v; want it to start at line 3", since, err)
	}
}

// TestNoJournalSaysWhy: a folder without journal files is no journal; the
// stream says so in words and ends, also when following.
func TestNoJournalSaysWhy(t *testing.T) {
	noLeaks(t)
	sandboxtest.Need(t, "journalctl", "systemd")
	r := &journal.Reader{Dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last unit.LogBatch
	for b := range r.FollowLogs(ctx, unit.Socket{Unit: "x.socket"}, 10) {
		last = b
	}
	if ctx.Err() != nil {
		t.Fatal("following a folder without a journal did not end")
	}
	if last.Err == nil || !strings.Contains(last.Err.Error(), "no journal is reachable") || !strings.Contains(last.Err.Error(), "no journal files in") {
		t.Errorf("last batch error = %v, want no journal is reachable: no journal files in ...", last.Err)
	}
}
