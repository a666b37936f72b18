package journal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/socktui/socktui/unit"
)

var echoSocket = unit.Socket{
	Unit:     "echo.socket",
	Triggers: []string{"echo.service"},
	Services: []unit.Service{{Unit: "echo.service", Container: "echo-1"}},
}

// Lines as journalctl 252 writes them (-o json --all), taken from the
// sandbox's journal and trimmed to the fields that matter.
func TestParseEntry(t *testing.T) {
	at := time.UnixMicro(1796206088382983)
	tests := []struct {
		name string
		line string
		want unit.LogEntry
	}{
		{"string message of a service",
			`{"__CURSOR":"s=a;i=3","__REALTIME_TIMESTAMP":"1796206088382983","PRIORITY":"6","_PID":"9662","SYSLOG_IDENTIFIER":"sh","_COMM":"sh","_SYSTEMD_USER_UNIT":"echo.service","_SYSTEMD_UNIT":"user@0.service","MESSAGE":"hello from cat"}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: 6, Identifier: "sh", PID: 9662, Message: "hello from cat", Cursor: "s=a;i=3"}},
		{"escape sequence: a byte array",
			`{"__REALTIME_TIMESTAMP":"1796206088382983","PRIORITY":"6","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":[101,115,99,32,27,91,51,49,109,114,101,100]}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: 6, Message: "esc \x1b[31mred"}},
		{"not UTF-8: a byte array kept exact",
			`{"__REALTIME_TIMESTAMP":"1796206088382983","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":[99,97,102,255,254]}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: unit.PriorityUnknown, Message: "caf\xff\xfe"}},
		{"multi-line message",
			`{"__REALTIME_TIMESTAMP":"1796206088382983","PRIORITY":"3","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"panic: boom\n\tat main.go:3"}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: 3, Message: "panic: boom\n\tat main.go:3"}},
		{"null message (over 4 KiB without --all)",
			`{"__REALTIME_TIMESTAMP":"1796206088382983","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":null}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: unit.PriorityUnknown}},
		{"absent message, priority and time",
			`{"_SYSTEMD_USER_UNIT":"echo.service"}`,
			unit.LogEntry{Unit: "echo.service", Priority: unit.PriorityUnknown}},
		{"a field with several values",
			`{"_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":["one",[116,27,119],"three"]}`,
			unit.LogEntry{Unit: "echo.service", Priority: unit.PriorityUnknown, Message: "one\nt\x1bw\nthree"}},
		{"priority out of range",
			`{"_SYSTEMD_USER_UNIT":"echo.service","PRIORITY":"9","MESSAGE":"x"}`,
			unit.LogEntry{Unit: "echo.service", Priority: unit.PriorityUnknown, Message: "x"}},
		{"the manager's message about the service",
			`{"__REALTIME_TIMESTAMP":"1796206088382983","PRIORITY":"6","SYSLOG_IDENTIFIER":"systemd","_SYSTEMD_USER_UNIT":"init.scope","USER_UNIT":"echo.service","MESSAGE":"Started echo.service."}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: 6, Identifier: "systemd", Message: "Started echo.service."}},
		{"the manager's message about the socket",
			`{"_SYSTEMD_USER_UNIT":"init.scope","USER_UNIT":"echo.socket","MESSAGE":"Listening on echo.socket."}`,
			unit.LogEntry{Unit: "echo.socket", Priority: unit.PriorityUnknown, Message: "Listening on echo.socket."}},
		{"container output: tagged with its service, named by the container",
			`{"__REALTIME_TIMESTAMP":"1796206088382983","PRIORITY":"6","_COMM":"conmon","CONTAINER_NAME":"echo-1","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"listening"}`,
			unit.LogEntry{Time: at, Unit: "echo.service", Priority: 6, Identifier: "echo-1", Message: "listening"}},
		{"container output outside the service's cgroup",
			`{"CONTAINER_NAME":"echo-1","_COMM":"conmon","MESSAGE":"m"}`,
			unit.LogEntry{Unit: "echo.service", Priority: unit.PriorityUnknown, Identifier: "echo-1", Message: "m"}},
		{"non-UTF-8 identifier",
			`{"_SYSTEMD_USER_UNIT":"echo.service","SYSLOG_IDENTIFIER":[120,255],"MESSAGE":"m"}`,
			unit.LogEntry{Unit: "echo.service", Priority: unit.PriorityUnknown, Identifier: "x\xff", Message: "m"}},
	}
	tg := targetOf(echoSocket)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseEntry([]byte(tt.line), false, tg, userFields)
			if !ok {
				t.Fatalf("parseEntry(%s) not ok", tt.line)
			}
			if got != tt.want {
				t.Errorf("parseEntry(%s)\n got %#v\nwant %#v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseEntrySystem(t *testing.T) {
	tg := targetOf(echoSocket)
	line := `{"_SYSTEMD_UNIT":"init.scope","UNIT":"echo.service","_PID":"1","MESSAGE":"Started"}`
	got, ok := parseEntry([]byte(line), false, tg, systemFields)
	if !ok || got.Unit != "echo.service" || got.PID != 1 {
		t.Errorf("system entry = %#v, %v; want echo.service from PID 1", got, ok)
	}
}

func TestParseEntryRejects(t *testing.T) {
	tg := targetOf(echoSocket)
	for _, line := range []string{"", "   ", "not json", `[1,2]`, `{"MESSAGE":`} {
		if e, ok := parseEntry([]byte(line), false, tg, userFields); ok {
			t.Errorf("parseEntry(%q) = %#v, want not ok", line, e)
		}
	}
}

// A line cut at MaxLine keeps the fields before the cut and the start of a
// cut message.
func TestParseEntryCut(t *testing.T) {
	tg := targetOf(echoSocket)
	full := `{"__REALTIME_TIMESTAMP":"1796206088382983","PRIORITY":"4","_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":"` + strings.Repeat("a", 200) + `\u00e9tail"}`
	cut := full[:strings.Index(full, "aaaa")+50]
	got, ok := parseEntry([]byte(cut), true, tg, userFields)
	if !ok {
		t.Fatal("cut line not ok")
	}
	want := unit.LogEntry{Time: time.UnixMicro(1796206088382983), Unit: "echo.service", Priority: 4,
		Message: strings.Repeat("a", 50) + cutMark}
	if got != want {
		t.Errorf("cut entry\n got %#v\nwant %#v", got, want)
	}
	// Cut in the middle of an escape: the escape is dropped.
	cut = full[:strings.Index(full, `\u00e9`)+3]
	got, _ = parseEntry([]byte(cut), true, tg, userFields)
	if got.Message != strings.Repeat("a", 200)+cutMark {
		t.Errorf("cut inside an escape: message %q", got.Message)
	}
}

func TestFieldValue(t *testing.T) {
	tests := []struct {
		raw, want string
		err       bool
	}{
		{`"x"`, "x", false},
		{`"a\u001bb"`, "a\x1bb", false},
		{`[]`, "", false},
		{`[0,255]`, "\x00\xff", false},
		{`[256]`, "", true},
		{`[-1]`, "", true},
		{`null`, "", true},
		{``, "", true},
		{`[null,"b"]`, "b", false},
		{`12`, "", true},
	}
	for _, tt := range tests {
		got, err := fieldValue(json.RawMessage(tt.raw))
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("fieldValue(%s) = %q, %v; want %q, error %v", tt.raw, got, err, tt.want, tt.err)
		}
	}
}

func TestMatches(t *testing.T) {
	tg := targetOf(echoSocket)
	got := strings.Join(matches(tg, userFields, false), " ")
	want := "_SYSTEMD_USER_UNIT=echo.socket _SYSTEMD_USER_UNIT=echo.service + USER_UNIT=echo.socket USER_UNIT=echo.service + " +
		"OBJECT_SYSTEMD_USER_UNIT=echo.socket OBJECT_SYSTEMD_USER_UNIT=echo.service + " +
		"COREDUMP_USER_UNIT=echo.socket COREDUMP_USER_UNIT=echo.service + CONTAINER_NAME=echo-1"
	if got != want {
		t.Errorf("user matches\n got %s\nwant %s", got, want)
	}
	got = strings.Join(matches(targetOf(unit.Socket{Unit: "a.socket"}), systemFields, true), " ")
	want = "_SYSTEMD_UNIT=a.socket + UNIT=a.socket _PID=1 + OBJECT_SYSTEMD_UNIT=a.socket + COREDUMP_UNIT=a.socket"
	if got != want {
		t.Errorf("system matches\n got %s\nwant %s", got, want)
	}
}

func TestTargetOf(t *testing.T) {
	tg := targetOf(unit.Socket{Unit: "a.socket", Triggers: []string{"a.service", "b.service"},
		Services: []unit.Service{{Unit: "a.service", Container: "ca"}}})
	if want := []string{"a.socket", "a.service", "b.service"}; !slices.Equal(tg.units, want) {
		t.Errorf("units = %v, want %v", tg.units, want)
	}
	if got := tg.containerNames(); !slices.Equal(got, []string{"ca"}) {
		t.Errorf("containers = %v", got)
	}
}

func TestReadLines(t *testing.T) {
	in := "short\n" + strings.Repeat("x", 100) + "\n\nlast"
	type line struct {
		s   string
		cut bool
	}
	var got []line
	readLines(strings.NewReader(in), 10, func(b []byte, cut bool) bool {
		got = append(got, line{string(b), cut})
		return true
	})
	want := []line{{"short", false}, {"xxxxxxxxxx", true}, {"last", false}}
	if !slices.Equal(got, want) {
		t.Errorf("readLines = %v, want %v", got, want)
	}
	// A line far over the reader's own buffer is cut and skipped, not kept.
	big := strings.Repeat("y", 1<<20) + "\nnext\n"
	got = nil
	readLines(strings.NewReader(big), MaxLine, func(b []byte, cut bool) bool {
		got = append(got, line{fmt.Sprint(len(b)), cut})
		return true
	})
	if want := []line{{fmt.Sprint(MaxLine), true}, {"4", false}}; !slices.Equal(got, want) {
		t.Errorf("readLines of a 1 MiB line = %v, want %v", got, want)
	}
}

func TestParsePodmanLine(t *testing.T) {
	e, ok := parsePodmanLine([]byte("2026-12-02T10:11:12.123456789+00:00 listening on 3 sockets"), false, "echo.service", "echo-1", unit.PriorityInfo)
	want := unit.LogEntry{Time: time.Date(2026, 12, 2, 10, 11, 12, 123456789, time.UTC), Unit: "echo.service",
		Priority: unit.PriorityInfo, Identifier: "echo-1", Message: "listening on 3 sockets"}
	if !ok || !e.Time.Equal(want.Time) || e.Message != want.Message || e.Unit != want.Unit || e.Identifier != want.Identifier {
		t.Errorf("parsePodmanLine = %#v, %v; want %#v", e, ok, want)
	}
	if _, ok := parsePodmanLine([]byte(`Error: no container with name or ID "x" found`), false, "", "", 0); ok {
		t.Error("podman's own error parsed as a container line")
	}
}

// encodeLikeJournalctl writes MESSAGE as journalctl does: a string when it is
// UTF-8 without control characters (newline and tab allowed), else an array
// of byte values.
func encodeLikeJournalctl(msg []byte) string {
	printable := utf8.Valid(msg)
	for _, r := range string(msg) {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			printable = false
		}
	}
	if printable {
		b, _ := json.Marshal(string(msg))
		return `{"_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":` + string(b) + `}`
	}
	nums := make([]string, len(msg))
	for i, c := range msg {
		nums[i] = fmt.Sprint(c)
	}
	return `{"_SYSTEMD_USER_UNIT":"echo.service","MESSAGE":[` + strings.Join(nums, ",") + `]}`
}

// FuzzParseEntry: any line parses without panic, and any message encoded as
// journalctl encodes it comes back byte for byte.
func FuzzParseEntry(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte("esc \x1b[31mred"))
	f.Add([]byte("caf\xff"))
	f.Add([]byte("a\nb"))
	f.Add([]byte(`{"MESSAGE":[1,2`))
	tg := targetOf(echoSocket)
	f.Fuzz(func(t *testing.T, data []byte) {
		parseEntry(data, false, tg, userFields)
		parseEntry(data, true, tg, userFields)
		line := encodeLikeJournalctl(data)
		e, ok := parseEntry([]byte(line), false, tg, userFields)
		if !ok || e.Message != string(data) || e.Unit != "echo.service" {
			t.Fatalf("%s parsed as %#v, %v; want message %q", line, e, ok, data)
		}
	})
}
