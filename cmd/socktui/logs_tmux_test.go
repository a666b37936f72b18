package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// needJournal fails (in CI) or skips the test when the fixture's sandbox
// has no journal of its own.
func (f *fixture) needJournal() {
	f.t.Helper()
	sandboxtest.Need(f.t, "journalctl", "systemd")
	if f.s.JournalDir == "" {
		sandboxtest.Unavailable(f.t, "the sandbox has no journal: no systemd-journald on this host (apt-get install systemd)")
	}
}

// TestLogPaneFollowsService opens the UI's log pane on a socket whose
// service has not run yet, then starts the service with a connection: the
// lines the service writes to stdout after the pane opened appear in it,
// tagged with the service, an escape sequence and bytes that are not UTF-8
// shown as visible escapes (the screen is not cleared).
func TestLogPaneFollowsService(t *testing.T) {
	f := newFixture(t)
	f.needJournal()
	name := uniqueName(t, "logs")
	sock, svc := name+".socket", name+".service"
	addr := fmt.Sprintf("127.0.0.1:%d", sandboxtest.FreePort(t))
	script := filepath.Join(t.TempDir(), "service.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$0 says hello after the pane opened\"\n"+
		"printf 'esc \\033[2J still one line\\n'\nprintf 'bytes \\377 not UTF-8\\n'\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.installUnits(name, fmt.Sprintf("[Socket]\nListenStream=%s\n", addr), "[Service]\nExecStart=/bin/sh "+script+"\n")
	f.waitList(sock, "the socket listening", 30*time.Second, func(s unit.Socket) bool { return s.State == unit.StateIdle })

	x := f.ui()
	x.waitFor("the unit idle in the UI", 60*time.Second, regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[idle\]`))
	x.filter(name)
	x.keys("l")
	x.waitFor("the log pane open and following", 30*time.Second,
		regexp.MustCompile(`▸ \[Logs `+regexp.QuoteMeta(sock)+` · following`))
	if s := x.screen(); regexp.MustCompile(`says hello`).MatchString(s) {
		t.Fatalf("the service's line is in the pane before the service ran:\n%s", s)
	}

	poke(addr)
	tag := regexp.QuoteMeta(svc)
	screen := x.waitFor("the service's lines in the log pane", 60*time.Second,
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} [A-Z-] `+tag+` +`+regexp.QuoteMeta(script)+` says hello after the pane opened`),
		regexp.MustCompile(tag+` +esc \\x1b\[2J still one line`),
		regexp.MustCompile(tag+` +bytes \\xff not UTF-8`))
	t.Logf("the log pane:\n%s", screen)
	if !regexp.MustCompile(`(?m)^socktui · \S+ manager`).MatchString(screen) {
		t.Errorf("the header is gone: the escape sequence reached the terminal?\n%s", screen)
	}

	x.keys("Escape")
	x.waitFor("the detail pane back after esc", 30*time.Second, regexp.MustCompile(`─ Detail|▸ \[Detail\]`))
	x.quit(30 * time.Second)
}

// TestDemoLogsShowEchoStart runs `socktui demo` in tmux, starts the echo
// workload with a probe of every endpoint, and opens the log pane with l:
// it shows the echo server's start lines ("fd …: serving") from its
// service's journal.
func TestDemoLogsShowEchoStart(t *testing.T) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	sandboxtest.Need(t, "tmux", "tmux")
	sandboxtest.Need(t, "journalctl", "systemd")
	bin := testbin.Build(t, "cmd/socktui")
	t.Cleanup(func() { removeDemoImage(t, bin) })

	x := &tmux{t: t, session: fmt.Sprintf("socktui-logs-demo-%d-%d", os.Getpid(), sessionSeq.Add(1))}
	log := filepath.Join(t.TempDir(), "stderr")
	cmd := fmt.Sprintf("%s demo --sandbox 2>%s", shellQuote(bin), shellQuote(log))
	x.run("new-session", "-d", "-s", x.session, "-x", "150", "-y", "45", "-e", "TERM=xterm-256color", cmd)
	x.endWithTest(log)
	x.waitFor("the demo unit, idle", 90*time.Second, regexp.MustCompile(`socktui-echo\.socket +\[idle\]`))
	x.keys("P")
	x.waitFor("the echo workload active after P", 60*time.Second, regexp.MustCompile(`socktui-echo\.socket +\[active\]`))
	x.keys("l")
	screen := x.waitFor("the echo server's start lines in the log pane", 60*time.Second,
		regexp.MustCompile(`▸ \[Logs socktui-echo\.socket · following`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} [A-Z-] socktui-echo\.service +socktui-echo: fd .*: serving`))
	t.Logf("the demo's log pane:\n%s", screen)
	x.quit(60 * time.Second)
}
