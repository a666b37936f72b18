package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socktui/socktui/unit"
)

func entryN(i int) unit.LogEntry {
	return unit.LogEntry{Unit: "echo.service", Message: "line " + strconv.Itoa(i)}
}

// A follower that falls behind keeps the newest Keep entries and counts the
// rest as dropped: memory stays bounded whatever the writer does.
func TestStreamDropsOldest(t *testing.T) {
	st := newStream(1000, false)
	for i := range 50_000 {
		if !st.add(context.Background(), entryN(i)) {
			t.Fatal("add refused")
		}
	}
	if len(st.ring) != 1000 {
		t.Fatalf("ring grew to %d", len(st.ring))
	}
	b, last := st.take()
	if last || len(b.Entries) != 1000 || b.Dropped != 49_000 {
		t.Fatalf("take = %d entries, %d dropped, last %v; want 1000, 49000, false", len(b.Entries), b.Dropped, last)
	}
	if b.Entries[0].Message != "line 49000" || b.Entries[999].Message != "line 49999" {
		t.Errorf("kept %q .. %q, want the newest", b.Entries[0].Message, b.Entries[999].Message)
	}
	st.add(context.Background(), entryN(50_000))
	if b, _ := st.take(); len(b.Entries) != 1 || b.Dropped != 0 {
		t.Errorf("next take = %d entries, %d dropped; want 1, 0", len(b.Entries), b.Dropped)
	}
}

// A lossless stream (the CLI) holds its producer back instead of dropping.
func TestStreamLosslessWaits(t *testing.T) {
	st := newStream(10, true)
	added := make(chan int)
	go func() {
		for i := range 25 {
			st.add(context.Background(), entryN(i))
		}
		close(added)
	}()
	var got []unit.LogEntry
	for len(got) < 25 {
		<-st.ready
		b, _ := st.take()
		if b.Dropped != 0 {
			t.Fatalf("a lossless stream dropped %d", b.Dropped)
		}
		got = append(got, b.Entries...)
	}
	<-added
	for i, e := range got {
		if e.Message != "line "+strconv.Itoa(i) {
			t.Fatalf("entry %d = %q", i, e.Message)
		}
	}
	// A producer waiting for room gives up when its context ends.
	full := newStream(1, true)
	full.add(context.Background(), entryN(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if full.add(ctx, entryN(1)) {
		t.Error("add to a full lossless stream with an ended context = true")
	}
}

// A flood arrives in a few large batches, not one message a line, and the
// last batch carries the stream's error.
func TestDeliverCoalesces(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := newStream(DefaultKeep, true)
	out := make(chan unit.LogBatch)
	produced := make(chan struct{})
	go st.deliver(context.Background(), out, produced)
	const n = 100_000
	go func() {
		defer close(produced)
		for i := range n {
			st.add(context.Background(), entryN(i))
		}
		st.finish(fmt.Errorf("journalctl: exit status 1"))
	}()
	batches, entries := 0, 0
	var last unit.LogBatch
	for b := range out {
		batches++
		entries += len(b.Entries)
		last = b
	}
	if entries != n {
		t.Errorf("delivered %d entries, want %d", entries, n)
	}
	if batches > n/100 {
		t.Errorf("%d batches for %d entries: not coalesced", batches, n)
	}
	if last.Err == nil {
		t.Error("the last batch has no error")
	}
	t.Logf("%d entries in %d batches", entries, batches)
}

// fakeJournalctl writes a journalctl that prints lines (JSON) and, with
// --follow, then waits; it records its PID and arguments in dir.
func fakeJournalctl(t *testing.T, lines []string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	data := filepath.Join(dir, "lines")
	if err := os.WriteFile(data, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "journalctl")
	script := "#!/bin/sh\necho $$ >>" + dir + "/pids\necho \"$*\" >>" + dir + "/args\ncat " + data +
		"\ncase \" $* \" in *\" --follow \"*) exec sleep 1000;; esac\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// Following runs one process, which ending the context kills and reaps:
// no process, no goroutine left.
func TestFollowEndsItsProcess(t *testing.T) {
	defer goleak.VerifyNone(t)
	lines := []string{
		`{"__REALTIME_TIMESTAMP":"1","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"one","__CURSOR":"c1"}`,
		`{"__REALTIME_TIMESTAMP":"2","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"two","__CURSOR":"c2"}`,
	}
	path, dir := fakeJournalctl(t, lines)
	r := &Reader{Journalctl: path}
	ctx, cancel := context.WithCancel(context.Background())
	batches := r.FollowLogs(ctx, echoSocket, 10)
	var got []string
	for len(got) < 3 {
		b, ok := <-batches
		if !ok {
			t.Fatalf("the stream ended; got %v", got)
		}
		for _, e := range b.Entries {
			got = append(got, e.Message)
		}
	}
	// The last 10, then the follow after the last of them.
	if strings.Join(got[:3], ",") != "one,two,one" {
		t.Errorf("got %v", got)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	runs := strings.Split(strings.TrimSpace(string(args)), "\n")
	if len(runs) != 2 || !strings.Contains(runs[0], "-n 10 ") || strings.Contains(runs[0], "--follow") ||
		!strings.Contains(runs[1], "--after-cursor c2 --follow") {
		t.Errorf("journalctl runs:\n%s\nwant -n 10, then --after-cursor c2 --follow", args)
	}
	cancel()
	for range batches {
	}
	pids, _ := os.ReadFile(filepath.Join(dir, "pids"))
	for _, p := range strings.Fields(string(pids)) {
		pid, _ := strconv.Atoi(p)
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("journalctl %d still runs after the stream ended", pid)
		}
	}
}

// A read ends by itself, and a line journalctl cuts short or garbles does
// not stop it.
func TestReadOnce(t *testing.T) {
	defer goleak.VerifyNone(t)
	long := `{"_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"` + strings.Repeat("x", MaxLine) + `"}`
	path, _ := fakeJournalctl(t, []string{
		`{"_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"first"}`,
		`garbage`,
		long,
		`{"_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"last"}`,
	})
	r := &Reader{Journalctl: path}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	entries, _, err := r.Read(ctx, echoSocket, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Message != "first" || !strings.HasSuffix(entries[1].Message, cutMark) || entries[2].Message != "last" {
		t.Errorf("read %d entries: %.60v", len(entries), entries)
	}
}

// journalctl that cannot run is no journal: said in words, and for a
// container the stream falls back to podman logs.
func TestNoJournalctl(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := &Reader{Journalctl: filepath.Join(t.TempDir(), "journalctl")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _, err := r.Read(ctx, unit.Socket{Unit: "x.socket"}, Query{})
	if err == nil || !strings.Contains(err.Error(), "no journal is reachable") {
		t.Errorf("Read without journalctl = %v, want no journal is reachable", err)
	}

	dir := t.TempDir()
	fake := filepath.Join(dir, "podman")
	script := "#!/bin/sh\necho \"$*\" >" + dir + "/args\necho '2026-12-02T10:11:12.5Z echo server listening'\necho 'Error: something podman says' >&2\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Podman.Path = fake
	entries, notes, err := r.Read(ctx, echoSocket, Query{Lines: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Message != "echo server listening" || entries[0].Unit != "echo.service" || entries[0].Identifier != "echo-1" {
		t.Errorf("podman logs entries = %v", entries)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "no journal is reachable") || !strings.Contains(notes[0], "showing podman logs") {
		t.Errorf("notes = %q", notes)
	}
	if args, _ := os.ReadFile(filepath.Join(dir, "args")); strings.TrimSpace(string(args)) != "logs --timestamps --tail 5 -- echo-1" {
		t.Errorf("podman %s", args)
	}
}
