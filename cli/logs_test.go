package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

func TestFormatLogLine(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 11, 12, 345_000_000, time.UTC)
	tests := []struct {
		name  string
		e     unit.LogEntry
		color bool
		want  string
	}{
		{"plain", unit.LogEntry{Time: at, Unit: "echo.service", Priority: unit.PriorityInfo, Identifier: "sh", PID: 42, Message: "hello"}, false,
			"2026-12-02 10:11:12.345 I echo.service sh[42]: hello\n"},
		{"error in colour", unit.LogEntry{Time: at, Unit: "echo.service", Priority: unit.PriorityErr, Identifier: "podman", Message: "Error: image not known"}, true,
			"2026-12-02 10:11:12.345 \x1b[31mE\x1b[0m echo.service podman: \x1b[31mError: image not known\x1b[0m\n"},
		{"info has no colour", unit.LogEntry{Time: at, Unit: "a.socket", Priority: unit.PriorityInfo, Message: "m"}, true,
			"2026-12-02 10:11:12.345 I a.socket: m\n"},
		{"escapes shown, not run", unit.LogEntry{Time: at, Unit: "echo.service", Priority: unit.PriorityWarning, Message: "esc \x1b[31mred\u009b bad\xff"}, false,
			"2026-12-02 10:11:12.345 W echo.service: esc \\x1b[31mred\\u009b bad\\xff\n"},
		{"multi-line indented", unit.LogEntry{Time: at, Unit: "echo.service", Priority: unit.PriorityCrit, Message: "panic: boom\n\tat main.go:3\n"}, false,
			"2026-12-02 10:11:12.345 C echo.service: panic: boom\n" + strings.Repeat(" ", 26) + "\\tat main.go:3\n"},
		{"nothing known", unit.LogEntry{Priority: unit.PriorityUnknown}, false, "- - -: \n"},
		{"hostile unit and identifier", unit.LogEntry{Time: at, Unit: "x\x1b]0;t\a.service", Priority: 6, Identifier: "a\nb", Message: "m"}, false,
			"2026-12-02 10:11:12.345 I x\\x1b]0;t\\a.service a\\nb: m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatLogLine(tt.e, tt.color, time.UTC); got != tt.want {
				t.Errorf("formatLogLine\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWriteLogJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 11, 12, 345_678_000, time.UTC)
	var b bytes.Buffer
	for _, msg := range []string{"esc \x1b[31mred", "bad \xff\xfe", "\u202eevil"} {
		if err := writeLogJSON(&b, unit.LogEntry{Time: at, Unit: "echo.service", Priority: 3, PID: 7, Message: msg, Cursor: "s=1"}); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"time":"2026-12-02T10:11:12.345678Z","unit":"echo.service","priority":3,"pid":7,"message":"esc \u001b[31mred","cursor":"s=1"}
{"time":"2026-12-02T10:11:12.345678Z","unit":"echo.service","priority":3,"pid":7,"message":[98,97,100,32,255,254],"cursor":"s=1"}
{"time":"2026-12-02T10:11:12.345678Z","unit":"echo.service","priority":3,"pid":7,"message":"\u202eevil","cursor":"s=1"}
`
	if b.String() != want {
		t.Errorf("JSON lines\n got %s\nwant %s", b.String(), want)
	}
}

func TestParseSince(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2026, 12, 2, 10, 11, 12, 0, loc)
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, loc)
	tests := map[string]time.Time{
		"now":                       now,
		"today":                     day,
		"yesterday":                 day.AddDate(0, 0, -1),
		"-10m":                      now.Add(-10 * time.Minute),
		"1h30m ago":                 now.Add(-90 * time.Minute),
		"@1796206088.5":             time.UnixMicro(1796206088_500000),
		"2026-12-01 09:08:07":       time.Date(2026, 12, 1, 9, 8, 7, 0, loc),
		"2026-12-01 09:08":          time.Date(2026, 12, 1, 9, 8, 0, 0, loc),
		"2026-12-01":                time.Date(2026, 12, 1, 0, 0, 0, 0, loc),
		"09:08:07":                  time.Date(2026, 12, 2, 9, 8, 7, 0, loc),
		"09:08":                     time.Date(2026, 12, 2, 9, 8, 0, 0, loc),
		"2026-12-01T09:08:07.5Z":    time.Date(2026, 12, 1, 9, 8, 7, 500_000_000, time.UTC),
		"2026-12-01T09:08:07+02:00": time.Date(2026, 12, 1, 7, 8, 7, 0, time.UTC),
	}
	for in, want := range tests {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "next tuesday", "-", "@x", "10m", "25:00", "2026-13-01", "- 5m"} {
		if got, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) = %v, want an error", bad, got)
		}
	}
}

func TestMergeSockets(t *testing.T) {
	m := mergeSockets([]unit.Socket{
		{Unit: "a.socket", Triggers: []string{"a.service"}, Services: []unit.Service{{Unit: "a.service", Container: "ca"}}},
		{Unit: "b.socket", Triggers: []string{"b.service"}, Services: []unit.Service{{Unit: "b.service"}}},
	})
	if m.Unit != "a.socket" || strings.Join(m.Triggers, ",") != "a.service,b.socket,b.service" || len(m.Services) != 2 {
		t.Errorf("merged = %+v", m)
	}
}

// logsUnits installs a socket with a service that writes lines to the
// journal: an escape sequence, bytes that are not UTF-8, then, once the
// file go exists, a last line; and a socket whose Podman service runs an
// image that does not exist, with --pull=never.
func logsUnits(t *testing.T, s *sandbox.Sandbox, podman string) (goFile string) {
	t.Helper()
	goFile = filepath.Join(s.Home, "go")
	port := sandboxtest.FreePort(t)
	files := map[string]string{
		"logtest.socket": fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		"logtest.service": "[Service]\nExecStart=/bin/sh -c \"echo 'first line'; printf 'esc \\\\033[31mred \\\\233 c1\\\\n'; " +
			"printf 'bad \\\\377\\\\376 utf8\\\\n'; while [ ! -e " + goFile + " ]; do sleep 0.05; done; echo 'written later'; exec sleep infinity\"\n",
	}
	if podman != "" {
		files["logfail.socket"] = fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t))
		files["logfail.service"] = "[Service]\nExecStart=" + podman +
			" run --rm --pull=never --network=none --name logfail-test localhost/socktui-no-such-image:1\n"
	}
	sandboxtest.InstallUnits(t, s, files)
	t.Cleanup(func() {
		_ = s.Systemctl(context.Background(), "stop", "logtest.socket", "logtest.service", "logfail.socket", "logfail.service").Run()
	})
	return goFile
}

// waitOutput reads r's lines until one holds want, failing t after 30 s.
func waitOutput(t *testing.T, lines <-chan string, seen *[]string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		for _, l := range *seen {
			if strings.Contains(l, want) {
				return
			}
		}
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("socktui logs -f ended before %q; output:\n%s", want, strings.Join(*seen, "\n"))
			}
			*seen = append(*seen, l)
		case <-timeout:
			t.Fatalf("no %q in socktui logs -f within 30 s; output:\n%s", want, strings.Join(*seen, "\n"))
		}
	}
}

// TestLogsInSandbox runs the real binary on a real manager and its journal:
// `socktui logs -f` shows a line written after it started; escapes and
// bytes that are not UTF-8 come out safe as text and exact as JSON; a failed
// activation's podman error is shown for that unit and only that unit.
func TestLogsInSandbox(t *testing.T) {
	sandboxtest.Need(t, "journalctl", "systemd")
	s := sandboxtest.Start(t)
	if s.JournalDir == "" {
		sandboxtest.Unavailable(t, "the sandbox has no journal: no systemd-journald (apt-get install systemd)")
	}
	podman, _ := exec.LookPath("podman")
	if podman == "" {
		sandboxtest.Unavailable(t, "podman is not installed (apt-get install podman)")
	}
	bin := testbin.Build(t, "cmd/socktui")
	goFile := logsUnits(t, s, podman)
	sandboxtest.Systemctl(t, s, "start", "logtest.socket", "logtest.service", "logfail.socket")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "logs", "-f", "logtest")
	cmd.Env = s.Env() // finds the journal through XDG_RUNTIME_DIR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	waitOutput(t, lines, &seen, "bad ")
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, lines, &seen, "written later")
	out := strings.Join(seen, "\n")
	for _, want := range []string{"I logtest.service sh[", ": first line", `: esc \x1b[31mred \x9b c1`, `: bad \xff\xfe utf8`} {
		if !strings.Contains(out, want) {
			t.Errorf("socktui logs -f output has no %q:\n%s", want, out)
		}
	}
	assertTerminalSafe(t, "socktui logs -f", out)
	cancel()
	for range lines {
	}
	_ = cmd.Wait()

	// JSON: the exact bytes.
	js, code := runSocktui(t, s, bin, "logs", "--json", "logtest")
	if code != 0 {
		t.Fatalf("socktui logs --json exited %d", code)
	}
	var gotEsc, gotBad bool
	for _, l := range bytes.Split(bytes.TrimSpace(js), []byte("\n")) {
		var e struct {
			Unit    string          `json:"unit"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("not a JSON line: %s (%v)", l, err)
		}
		var text string
		var bs []byte
		if json.Unmarshal(e.Message, &text) == nil && text == "esc \x1b[31mred \u009b c1" {
			t.Errorf("the line with \\233 came as valid UTF-8 %q, want its bytes", text)
		}
		var nums []int
		if json.Unmarshal(e.Message, &nums) == nil {
			for _, n := range nums {
				bs = append(bs, byte(n))
			}
			gotEsc = gotEsc || string(bs) == "esc \x1b[31mred \x9b c1"
			gotBad = gotBad || string(bs) == "bad \xff\xfe utf8"
		}
		if e.Unit != "logtest.service" && e.Unit != "logtest.socket" {
			t.Errorf("entry of unit %q in logtest's log: %s", e.Unit, l)
		}
	}
	if !gotEsc || !gotBad {
		t.Errorf("--json lost the exact bytes (escape line %v, non-UTF-8 line %v):\n%s", gotEsc, gotBad, js)
	}
	if bytes.ContainsRune(js, 0x1b) {
		t.Errorf("--json wrote a raw ESC:\n%q", js)
	}

	// A failed activation: podman's error for the missing image, in the
	// failing unit's log only.
	if c, err := netDial(s, "logfail.socket"); err == nil {
		c.Close()
	}
	var fail []byte
	for deadline := time.Now().Add(60 * time.Second); ; {
		fail, _ = runSocktui(t, s, bin, "logs", "logfail")
		if bytes.Contains(fail, []byte("localhost/socktui-no-such-image:1")) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.Contains(fail, []byte("logfail.service podman[")) || !bytes.Contains(fail, []byte("localhost/socktui-no-such-image:1")) {
		t.Fatalf("socktui logs logfail shows no podman error for the missing image:\n%s", fail)
	}
	if bytes.Contains(fail, []byte("logtest")) {
		t.Errorf("logtest's lines in logfail's log:\n%s", fail)
	}
	again, _ := runSocktui(t, s, bin, "logs", "logtest")
	if bytes.Contains(again, []byte("no-such-image")) || bytes.Contains(again, []byte("logfail")) {
		t.Errorf("logfail's lines in logtest's log:\n%s", again)
	}
	assertTerminalSafe(t, "socktui logs", string(fail)+string(again))
}

// netDial connects to the first listen address of a socket unit of s.
func netDial(s *sandbox.Sandbox, socket string) (io.Closer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.Systemctl(ctx, "show", "-p", "Listen", "--value", socket).Output()
	if err != nil {
		return nil, err
	}
	addr, _, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
