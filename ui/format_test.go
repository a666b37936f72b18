package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

func TestStateBadge(t *testing.T) {
	tests := []struct {
		in   unit.State
		want string
	}{
		{unit.StateStopped, "[stopped]"},
		{unit.StateIdle, "[idle]"},
		{unit.StateActivating, "[activating]"},
		{unit.StateActive, "[active]"},
		{unit.StateFailed, "[failed]"},
		{"", "[unknown]"},
		{"weird\x1b[1m", `[weird\x1b[1m]`},
	}
	for _, tt := range tests {
		if got := stateBadge(tt.in); got != tt.want {
			t.Errorf("stateBadge(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(tt.want) > badgeWidth && tt.in != "" && tt.in != "weird\x1b[1m" {
			t.Errorf("badge %q is wider than badgeWidth", tt.want)
		}
	}
}

func TestListenSummary(t *testing.T) {
	tests := []struct {
		ls   []unit.Listen
		max  int
		want string
	}{
		{nil, 2, "-"},
		{echoListen[:1], 2, "tcp4 127.0.0.1:3100"},
		{echoListen[:2], 2, "tcp4 127.0.0.1:3100, tcp6 [::1]:3100"},
		{echoListen, 2, "tcp4 127.0.0.1:3100, tcp6 [::1]:3100 +5"},
		{echoListen, 0, "tcp4 127.0.0.1:3100 +6"},
		{[]unit.Listen{{Type: "Stream", Address: "/run/\x1b[2Jx.sock"}}, 2, `unix /run/\x1b[2Jx.sock`},
	}
	for _, tt := range tests {
		if got := listenSummary(tt.ls, tt.max); got != tt.want {
			t.Errorf("listenSummary(%d entries, %d) = %q, want %q", len(tt.ls), tt.max, got, tt.want)
		}
	}
}

func TestFormatClock(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 67_000_000, time.UTC)
	if got, want := formatClock(at), "03:04:05.067"; got != want {
		t.Errorf("formatClock = %q, want %q", got, want)
	}
}

func TestProbeSummary(t *testing.T) {
	tests := []struct {
		ok, total int
		want      string
	}{
		{0, 0, ""},
		{6, 7, "6/7 ok"},
		{7, 7, "7/7 ok"},
		{0, 3, "0/3 ok"},
	}
	for _, tt := range tests {
		if got := probeSummary(tt.ok, tt.total); got != tt.want {
			t.Errorf("probeSummary(%d, %d) = %q, want %q", tt.ok, tt.total, got, tt.want)
		}
	}
}

func TestFitListen(t *testing.T) {
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"tcp4 127.0.0.1:3100 +6", 30, "tcp4 127.0.0.1:3100 +6"},
		{"unix /tmp/socktui-sandbox-3609931570/run/gnupg/S.dirmngr", 30, "unix …1570/run/gnupg/S.dirmngr"},
		{"unix /tmp/socktui-sandbox-3609931570/run/gnupg/S.dirmngr", 26, "unix …/run/gnupg/S.dirmngr"},
		{"unix /run/user/0/podman/podman.sock +1", 25, "unix …dman/podman.sock +1"},
		{"unixpacket /run/x", 12, "unixpacket …"}, // no room for the address: cut
	}
	for _, tt := range tests {
		got := fitListen(tt.in, tt.w)
		if got != tt.want || textWidth(got) > tt.w {
			t.Errorf("fitListen(%q, %d) = %q (%d cells), want %q", tt.in, tt.w, got, textWidth(got), tt.want)
		}
	}
}

func TestResultText(t *testing.T) {
	tests := []struct {
		r    probe.Result
		want string
	}{
		{probe.Result{Outcome: probe.OK, RTT: 1200 * time.Microsecond}, "ok 1.2 ms warm"},
		{probe.Result{Outcome: probe.OK, RTT: 171 * time.Millisecond, Cold: true}, "ok 171 ms cold"},
		{probe.Result{Outcome: probe.Timeout, RTT: 5 * time.Second, Cold: true, Error: "i/o timeout"}, "timeout 5 s cold: i/o timeout"},
		{probe.Result{Outcome: probe.OK, RTT: 3 * time.Millisecond, Status: "HTTP/1.1 200 OK"}, "ok 3 ms warm HTTP/1.1 200 OK"},
		{probe.Result{Outcome: probe.Error, Error: "evil\x1b[2J\r\n"}, `error warm: evil\x1b[2J\r\n`},
	}
	for _, tt := range tests {
		if got := resultText(tt.r); got != tt.want {
			t.Errorf("resultText(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

// TestListenEntryNetwork: the UI names every Listen type as the domain
// rule and the probe do (the CLI's side is cli's
// TestOneNetworkNamePerListenType).
func TestListenEntryNetwork(t *testing.T) {
	for _, l := range unit.SampleListens() {
		ep, _ := probe.ParseListen(l.Type, l.Address)
		want := string(l.Network())
		if got, _, _ := strings.Cut(listenEntry(l), " "); got != want || string(ep.Network) != want {
			t.Errorf("%s %s: the UI says %q, the probe %q, the rule %q", l.Type, l.Address, got, ep.Network, want)
		}
	}
}
