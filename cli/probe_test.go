package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
)

func testEnv() (*Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}, &out, &errOut
}

func TestParseProbeArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    probeOptions
		wantErr bool
	}{
		{nil, probeOptions{kind: probe.KindAuto, timeout: probe.DefaultTimeout, coldTimeout: probe.DefaultColdTimeout}, false},
		{[]string{"echo", "web.socket", "--json", "--kind", "http", "--timeout", "5s"},
			probeOptions{units: []string{"echo.socket", "web.socket"}, kind: probe.KindHTTP, timeout: 5 * time.Second, coldTimeout: probe.DefaultColdTimeout, json: true}, false},
		{[]string{"--cold-timeout=1m", "echo*"},
			probeOptions{units: []string{"echo*"}, kind: probe.KindAuto, timeout: probe.DefaultTimeout, coldTimeout: time.Minute}, false},
		{[]string{"--kind", "ping"}, probeOptions{}, true},
		{[]string{"--timeout", "0s"}, probeOptions{}, true},
		{[]string{"--timeout", "soon"}, probeOptions{}, true},
		{[]string{"--bogus"}, probeOptions{}, true},
	}
	for _, tt := range tests {
		env, _, _ := testEnv()
		got, err := parseProbeArgs(env, tt.args)
		var ue *UsageError
		if tt.wantErr {
			if !errors.As(err, &ue) {
				t.Errorf("parseProbeArgs(%q) error = %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseProbeArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestProbeTargets(t *testing.T) {
	socks := []systemdbus.Socket{
		{Unit: "a.socket", State: systemdbus.StateIdle, Listen: []systemdbus.Listen{{Type: "Stream", Address: "127.0.0.1:1"}, {Type: "Datagram", Address: "/run/a"}},
			Services: []systemdbus.Service{{Unit: "a.service", ActiveState: "inactive"}}},
		{Unit: "b.socket", State: systemdbus.StateActive, Listen: []systemdbus.Listen{{Type: "Stream", Address: "[::1]:2"}},
			Services: []systemdbus.Service{{Unit: "b.service", ActiveState: "active"}}},
		{Unit: "c.socket", State: systemdbus.StateStopped, Listen: []systemdbus.Listen{{Type: "Stream", Address: "3"}}},
	}
	got := probeTargets(socks, probe.KindAuto, false)
	want := []probe.Target{
		{Unit: "a.socket", Type: "Stream", Address: "127.0.0.1:1", Kind: probe.KindAuto, Cold: true},
		{Unit: "a.socket", Type: "Datagram", Address: "/run/a", Kind: probe.KindAuto, Cold: true},
		{Unit: "b.socket", Type: "Stream", Address: "[::1]:2", Kind: probe.KindAuto, Cold: false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("probeTargets = %+v\nwant %+v", got, want)
	}
	// Named units are probed even when stopped, with the kind asked for.
	got = probeTargets(socks[2:], probe.KindEcho, true)
	want = []probe.Target{{Unit: "c.socket", Type: "Stream", Address: "3", Kind: probe.KindEcho, Cold: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("probeTargets(explicit) = %+v, want %+v", got, want)
	}
}

var sampleResults = []probe.Result{
	{Unit: "echo.socket", Type: "Stream", Address: "127.0.0.1:3000", Network: probe.TCP4, Kind: probe.KindEcho, Outcome: probe.OK,
		RTT: 171400 * time.Microsecond, RTTms: 171.4, Bytes: 41, Cold: true},
	{Unit: "echo.socket", Type: "Datagram", Address: "[::1]:3000", Network: probe.UDP6, Kind: probe.KindEcho, Outcome: probe.Timeout,
		RTT: 2 * time.Second, RTTms: 2000, Error: "reply: no answer within 2s"},
	{Unit: "echo.socket", Type: "Stream", Address: "vsock:4294967295:3000", Network: probe.Vsock, Kind: probe.KindEcho, Outcome: probe.Unsupported,
		RTT: 40 * time.Microsecond, RTTms: 0.04, Error: "vsock unsupported on this host"},
	{Unit: "podman.socket", Type: "Stream", Address: "/run/podman/podman.sock", Network: probe.Unix, Kind: probe.KindHTTP, Outcome: probe.OK,
		RTT: 1250 * time.Microsecond, RTTms: 1.25, Status: "HTTP/1.1 200 OK"},
	{Unit: "evil\x1b[2J.socket", Type: "FIFO", Address: "/run/f\tx", Kind: probe.KindConnect, Outcome: probe.Unsupported,
		Error: "FIFO is not a socket a probe can connect to"},
}

func TestWriteProbeTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeProbeTable(&b, sampleResults); err != nil {
		t.Fatal(err)
	}
	want := `UNIT                ENDPOINT                 NETWORK  KIND     OUTCOME      RTT     START  DETAIL
echo.socket         127.0.0.1:3000           tcp4     echo     ok           171ms   cold
echo.socket         [::1]:3000               udp6     echo     timeout      2.00s   warm   reply: no answer within 2s
echo.socket         vsock:4294967295:3000    vsock    echo     unsupported  -       warm   vsock unsupported on this host
podman.socket       /run/podman/podman.sock  unix     http     ok           1.25ms  warm   HTTP/1.1 200 OK
evil\x1b[2J.socket  /run/f\tx                -        connect  unsupported  -       warm   FIFO is not a socket a probe can connect to
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteProbeJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeProbeJSON(&b, sampleResults[:2]); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, b.String())
	}
	want := []map[string]any{
		{"unit": "echo.socket", "type": "Stream", "address": "127.0.0.1:3000", "network": "tcp4", "kind": "echo",
			"outcome": "ok", "rttMs": 171.4, "cold": true, "error": ""},
		{"unit": "echo.socket", "type": "Datagram", "address": "[::1]:3000", "network": "udp6", "kind": "echo",
			"outcome": "timeout", "rttMs": 2000.0, "cold": false, "error": "reply: no answer within 2s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON = %v\nwant %v", got, want)
	}
	b.Reset()
	if err := writeProbeJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no results: %q, %v; want []", b.String(), err)
	}
}

func TestFormatRTT(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{85 * time.Microsecond, "85µs"},
		{1250 * time.Microsecond, "1.25ms"},
		{42300 * time.Microsecond, "42.3ms"},
		{171 * time.Millisecond, "171ms"},
		{2 * time.Second, "2.00s"},
	}
	for _, tt := range tests {
		if got := formatRTT(tt.d); got != tt.want {
			t.Errorf("formatRTT(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// fakeProber is a prober whose ProbeAll is a function.
type fakeProber struct {
	probeAll func(ctx context.Context, ts []probe.Target) <-chan probe.Result
}

func (f *fakeProber) ProbeAll(ctx context.Context, ts []probe.Target) <-chan probe.Result {
	return f.probeAll(ctx, ts)
}

var _ prober = (*fakeProber)(nil)

// TestProbeUnits probes real loopback listeners named by a fake unit list.
func TestProbeUnits(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	dead, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	good := systemdbus.Socket{Unit: "socktui-echo-x.socket", State: systemdbus.StateIdle,
		Listen: []systemdbus.Listen{{Type: "Stream", Address: ln.Addr().String()}, {Type: "Stream", Address: "vsock:4294967295:3000"}}}
	bad := systemdbus.Socket{Unit: "bad.socket", State: systemdbus.StateIdle,
		Listen: []systemdbus.Listen{{Type: "Stream", Address: deadAddr}}}
	list := func(socks ...systemdbus.Socket) listSocketsFunc {
		return func(ctx context.Context, patterns []string) ([]systemdbus.Socket, error) { return socks, nil }
	}
	p := &probe.Prober{Timeout: 10 * time.Second}

	env, out, _ := testEnv()
	err = probeUnits(context.Background(), env, probeOptions{kind: probe.KindAuto, json: true}, list(good), p)
	if err != nil {
		t.Fatalf("probeUnits(all ok) = %v\n%s", err, out)
	}
	var rs []jsonResult
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Outcome != "ok" || rs[0].Kind != "echo" || !rs[0].Cold || rs[1].Outcome != "unsupported" {
		t.Errorf("results: %+v", rs)
	}

	env, out, _ = testEnv()
	err = probeUnits(context.Background(), env, probeOptions{kind: probe.KindConnect}, list(good, bad), p)
	if !errors.Is(err, errSilent) || report(env, "probe", err) != ExitFailure {
		t.Errorf("probeUnits(one refused) = %v, want errSilent (exit 1)", err)
	}
	if !strings.Contains(out.String(), "refused") || !strings.Contains(out.String(), "bad.socket") {
		t.Errorf("table does not show the refusal:\n%s", out)
	}

	env, _, _ = testEnv()
	err = probeUnits(context.Background(), env, probeOptions{units: []string{"nope.socket"}}, list(good), p)
	if err == nil || !strings.Contains(err.Error(), "nope.socket") {
		t.Errorf("probeUnits(unknown unit) = %v, want an error naming it", err)
	}

	env, _, errOut := testEnv()
	fp := &fakeProber{probeAll: func(context.Context, []probe.Target) <-chan probe.Result {
		t.Error("ProbeAll called with nothing to probe")
		return nil
	}}
	if err := probeUnits(context.Background(), env, probeOptions{}, list(), fp); err != nil || !strings.Contains(errOut.String(), "no listening socket unit") {
		t.Errorf("probeUnits(no units) = %v, stderr %q", err, errOut)
	}
}
