package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// assertTerminalSafe fails t when out holds anything but printable text and
// newlines: an escape sequence, another control character, a bidi override
// or invalid UTF-8.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not valid UTF-8:\n%q", what, out)
	}
	for i, r := range out {
		if r != '\n' && !unicode.IsGraphic(r) {
			t.Errorf("%s holds %U at byte %d:\n%q", what, r, i, out)
			return
		}
	}
}

func TestListTableEscapesHostileText(t *testing.T) {
	socks := []unit.Socket{{
		Unit:   "evil\x1b[2J.socket",
		State:  unit.StateFailed,
		Reason: "service evil.service: \x1b]0;pwned\x07",
		Listen: []unit.Listen{
			{Type: "FIFO", Address: "/run/fifo-\x1b]0;pwned\x07"},
			{Type: "MessageQueue", Address: "/mq\tx\ny"},
			{Type: "Stream", Address: "/run/\u202ekcos.evil"},
		},
		Services: []unit.Service{{Unit: "evil.service", ActiveState: "failed", SubState: "failed\u009b2J",
			Container: "ctr\x1b]0;pwned\x07\x1b[2J"}},
	}}
	var b bytes.Buffer
	writeTable(&b, socks, true, false)
	out := b.String()
	assertTerminalSafe(t, "the list table", out)
	for _, want := range []string{
		`evil\x1b[2J.socket`,
		`failed (service evil.service: \x1b]0;pwned\a)`,
		`/run/fifo-\x1b]0;pwned\a`,
		`/mq\tx\ny`,
		`/run/\u202ekcos.evil`,
		`failed/failed\u009b2J`,
		`ctr\x1b]0;pwned\a\x1b[2J`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the list table lacks %s:\n%s", want, out)
		}
	}
	// A header, a row per listen entry, a blank line and the count: a
	// newline in a value adds no line.
	if lines := strings.Count(out, "\n"); lines != 6 {
		t.Errorf("the list table has %d lines, want 6:\n%s", lines, out)
	}
}

func TestProbeTableCutsAndEscapesDetail(t *testing.T) {
	status := "HTTP/1.1 200 OK \x1b]0;pwned\x07" + strings.Repeat("x", 300)
	rs := []probe.Result{
		{Unit: "web.socket", Type: "Stream", Address: "127.0.0.1:80", Network: unit.TCP4, Kind: unit.KindHTTP,
			Outcome: probe.OK, RTT: 1, Status: status},
		{Unit: "web.socket", Type: "Stream", Address: "/run/w\x1b[2J.sock", Network: unit.Unix, Kind: unit.KindHTTP,
			Outcome: probe.Mismatch, Error: "not an HTTP response: \"\\x1b[2J\"\r\n"},
	}
	var b bytes.Buffer
	if err := writeProbeTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	assertTerminalSafe(t, "the probe table", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("the probe table has %d lines, want 3:\n%s", len(lines), out)
	}
	col := strings.Index(lines[0], "DETAIL")
	detail := string([]rune(lines[1])[utf8.RuneCountInString(lines[0][:col]):])
	if n := utf8.RuneCountInString(detail); n != 120 || !strings.HasSuffix(detail, "…") {
		t.Errorf("DETAIL of a long status is %d runes, want 120 ending in …: %q", n, detail)
	}
	if want := `HTTP/1.1 200 OK \x1b]0;pwned\axxx`; !strings.HasPrefix(detail, want) {
		t.Errorf("DETAIL = %q, want it to start with %q", detail, want)
	}
	if want := `/run/w\x1b[2J.sock`; !strings.Contains(lines[2], want) {
		t.Errorf("row %q lacks the escaped address %s", lines[2], want)
	}
	if want := `not an HTTP response: "\x1b[2J"\r\n`; !strings.HasSuffix(lines[2], want) {
		t.Errorf("row %q does not end with the escaped error %s", lines[2], want)
	}

	// JSON keeps the whole value; the encoder escapes the controls.
	b.Reset()
	if err := writeProbeJSON(&b, rs[:1]); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(b.String(), 0x1b) || !strings.Contains(b.String(), `\u001b]0;pwned\u0007`+strings.Repeat("x", 300)) {
		t.Errorf("probe --json does not hold the escaped, whole status:\n%s", b.String())
	}
}

func TestReportEscapesErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"list", errors.New("unit \x1b]0;pwned\x07 is\nbroken"), "socktui list: unit \\x1b]0;pwned\\a is\\nbroken\n"},
		{"", errors.New("bad \x9b2J utf8"), "socktui: bad \\x9b2J utf8\n"},
		{"list", usagef("bad pattern %s", "\x1b[2J"), "socktui list: bad pattern \\x1b[2J\nRun 'socktui list --help' for usage.\n"},
		// errors.Join (one error per host) is a line each; an error made
		// with several %w is its own text, whole.
		{"list", errors.Join(errors.New("a: down"), errors.New("b: \x1b[2Jgone\nx")), "socktui list: a: down\nsocktui list: b: \\x1b[2Jgone\\nx\n"},
		{"new", fmt.Errorf("%w: f was %w", errors.New("refused"), errors.New("not written by socktui")), "socktui new: refused: f was not written by socktui\n"},
	}
	for _, tt := range tests {
		env, _, errOut := testEnv()
		report(env, tt.name, tt.err)
		if got := errOut.String(); got != tt.want {
			t.Errorf("report(%q, %q) printed %q, want %q", tt.name, tt.err, got, tt.want)
		}
	}
}
