package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// parseBenchArgs runs `socktui bench ARGS` through the command line's
// parsing and checks, and returns the options runBench would get.
func parseBenchArgs(args []string) (benchOptions, error) {
	env, _, _ := testEnv()
	var got benchOptions
	g := &globals{env: env}
	line := append([]string{"bench"}, args...)
	root := newBareRoot(g, line)
	root.AddCommand(newBenchCommand(g, func(_ context.Context, opts benchOptions) error { got = opts; return nil }))
	root.SetArgs(line)
	_, err := root.ExecuteC()
	return got, err
}

func TestParseBenchArgs(t *testing.T) {
	def := benchOptions{cycles: defaultBenchCycles, warm: defaultBenchWarm, bytes: defaultBenchBytes, kind: unit.KindAuto,
		timeout: probe.DefaultTimeout, coldTimeout: probe.DefaultColdTimeout}
	with := func(f func(*benchOptions)) benchOptions {
		o := def
		f(&o)
		return o
	}
	tests := []struct {
		args    []string
		want    benchOptions
		wantErr string
	}{
		{[]string{"echo"}, with(func(o *benchOptions) { o.units = []string{"echo.socket"} }), ""},
		{[]string{"echo", "web.socket", "echo.socket", "--cycles", "5", "--warm=0", "--bytes", "1MiB", "--json", "-y", "--kind", "echo"},
			with(func(o *benchOptions) {
				o.units, o.cycles, o.warm, o.bytes, o.json, o.yes, o.kind = []string{"echo.socket", "web.socket"}, 5, 0, 1<<20, true, true, unit.KindEcho
			}), ""},
		{[]string{"--system", "--bytes", "0", "--timeout", "5s", "--cold-timeout", "1m", "e"},
			with(func(o *benchOptions) {
				o.units, o.system, o.bytes, o.timeout, o.coldTimeout = []string{"e.socket"}, true, 0, 5*time.Second, time.Minute
			}), ""},
		{nil, benchOptions{}, "at least one socket unit"},
		{[]string{"echo*"}, benchOptions{}, "not a pattern"},
		{[]string{"web-[ab]"}, benchOptions{}, "not a pattern"},
		{[]string{"echo.service"}, benchOptions{}, `"echo.service" is not one`},
		{[]string{"--cycles", "0", "echo"}, benchOptions{}, "--cycles must be at least 1"},
		{[]string{"--warm", "-1", "echo"}, benchOptions{}, "--warm must not be negative"},
		{[]string{"--bytes", "lots", "echo"}, benchOptions{}, `--bytes: "lots" is not a size`},
		{[]string{"--kind", "ping", "echo"}, benchOptions{}, "--kind"},
		{[]string{"--timeout", "0s", "echo"}, benchOptions{}, "timeouts must be positive"},
		{[]string{"--cycles", "many", "echo"}, benchOptions{}, "invalid argument"},
		{[]string{""}, benchOptions{}, "empty"},
	}
	for _, tt := range tests {
		got, err := parseBenchArgs(tt.args)
		if tt.wantErr != "" {
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("bench %q: error %v, want a usage error with %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("bench %q = %+v, %v\nwant %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"65536", 65536, true},
		{"64K", 64 << 10, true},
		{"64KiB", 64 << 10, true},
		{"64kb", 64 << 10, true},
		{"512M", 512 << 20, true},
		{"512MiB", 512 << 20, true},
		{"1g", 1 << 30, true},
		{"1GiB", 1 << 30, true},
		{"100B", 100, true},
		{"1024G", 1 << 40, true},
		{"1025G", 0, false},
		{"", 0, false},
		{"M", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1.5M", 0, false},
		{"1T", 0, false},
		{"9223372036854775807K", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 512: "512 B", 64 << 10: "64 KiB", 64 << 20: "64 MiB", 3 << 29: "1.5 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPacerWait(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	const s10 = 10 * time.Second
	tests := []struct {
		name     string
		burst    uint32
		interval time.Duration
		events   []time.Time
		now      time.Time
		want     time.Duration
	}{
		{"no limit: burst 0", 0, s10, at(0, 1, 2, 3, 4, 5), t0.Add(10 * time.Millisecond), 0},
		{"no limit: interval 0", 5, 0, at(0, 1, 2, 3, 4, 5), t0.Add(10 * time.Millisecond), 0},
		{"none yet", 5, s10, nil, t0, 0},
		{"three of four allowed", 5, s10, at(0, 100, 200), t0.Add(300 * time.Millisecond), 0},
		// Four in the window: the fifth waits for the first to leave it
		// (one start is kept for one bench did not see).
		{"four: wait for the first", 5, s10, at(0, 100, 200, 300), t0.Add(400 * time.Millisecond),
			s10 + pacerMargin - 400*time.Millisecond},
		{"old events left the window", 5, s10, at(0, 100, 200, 300), t0.Add(s10 + time.Second), 0},
		{"sliding: the second oldest decides", 5, s10, at(0, 5000, 5100, 5200, 10100), t0.Add(10200 * time.Millisecond),
			5000*time.Millisecond + s10 + pacerMargin - 10200*time.Millisecond},
		{"burst 1 still allows one", 1, s10, nil, t0, 0},
		{"burst 1, one in the window", 1, s10, at(0), t0.Add(time.Second), s10 + pacerMargin - time.Second},
		{"trigger limit 20 per 2s", 20, 2 * time.Second, at(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18), t0.Add(20 * time.Millisecond),
			2*time.Second + pacerMargin - 20*time.Millisecond},
	}
	for _, tt := range tests {
		p := &pacer{burst: tt.burst, interval: tt.interval}
		for _, e := range slices.Backward(tt.events) { // record sorts
			p.record(e)
		}
		if got := p.wait(tt.now); got != tt.want {
			t.Errorf("%s: wait = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPacerKeepsWithinSystemdsLimit replays starts paced by a pacer
// against systemd's rate limit (ratelimit_below: a window opens at the
// first event and admits burst events until interval has passed) and
// checks that none is refused, whatever the service's speed.
func TestPacerKeepsWithinSystemdsLimit(t *testing.T) {
	for _, c := range []struct {
		burst    uint32
		interval time.Duration
		lag      time.Duration // from systemd counting a start to bench recording it
	}{{5, 10 * time.Second, time.Millisecond}, {5, 10 * time.Second, 300 * time.Millisecond}, {2, time.Second, 0}, {20, 2 * time.Second, 20 * time.Millisecond}} {
		p := &pacer{burst: c.burst, interval: c.interval}
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var begin time.Time
		var num uint32
		for i := range 60 {
			now = now.Add(p.wait(now))
			// systemd counts the start now.
			if begin.IsZero() || now.Sub(begin) > c.interval {
				begin, num = now, 0
			}
			num++
			if num > c.burst {
				t.Fatalf("burst %d per %v: start %d at %v refused (%d in the window begun %v)", c.burst, c.interval, i, now, num, begin)
			}
			now = now.Add(c.lag)
			p.record(now)
		}
	}
}

func TestBenchable(t *testing.T) {
	ok := unit.Socket{Unit: "e.socket", LoadState: "loaded", ActiveState: unit.Active, State: unit.StateIdle,
		Services: []unit.Service{{Unit: "e.service", ActiveState: unit.Inactive}}}
	tests := []struct {
		change func(*unit.Socket)
		want   string
	}{
		{func(*unit.Socket) {}, ""},
		{func(s *unit.Socket) { s.State = unit.StateActive; s.Services[0].ActiveState = unit.Active }, ""},
		{func(s *unit.Socket) { s.LoadState = "not-found" }, "not loaded (not-found)"},
		{func(s *unit.Socket) { s.Accept = true }, "Accept=yes"},
		{func(s *unit.Socket) { s.State, s.Reason = unit.StateFailed, "service e.service: exit-code" },
			"e.socket is failed (service e.service: exit-code): reset it first (socktui reset-failed e.socket)"},
		{func(s *unit.Socket) { s.State, s.ActiveState = unit.StateStopped, unit.Inactive },
			"e.socket is not listening (inactive): start it first (socktui start e.socket)"},
		{func(s *unit.Socket) { s.Services = nil }, "triggers no service"},
	}
	for i, tt := range tests {
		s := ok.Clone()
		tt.change(&s)
		err := benchable(s)
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("case %d: benchable = %v, want %q", i, err, tt.want)
		}
	}
}

func TestConfirmStops(t *testing.T) {
	idle := unit.Socket{Unit: "a.socket", Services: []unit.Service{{Unit: "a.service", ActiveState: unit.Inactive}}}
	active := unit.Socket{Unit: "b.socket", Services: []unit.Service{{Unit: "b.service", ActiveState: unit.Active}}}
	opts := benchOptions{cycles: 20}
	var asked []string
	answer := func(yes bool) func(string) (bool, error) {
		return func(q string) (bool, error) { asked = append(asked, q); return yes, nil }
	}

	if err := confirmStops([]unit.Socket{idle}, opts, answer(false)); err != nil || len(asked) > 0 {
		t.Errorf("nothing active: %v, asked %q; want no question", err, asked)
	}
	yes := opts
	yes.yes = true
	if err := confirmStops([]unit.Socket{idle, active}, yes, nil); err != nil {
		t.Errorf("--yes without a terminal: %v, want nil", err)
	}
	err := confirmStops([]unit.Socket{idle, active}, opts, nil)
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "b.service is active") || !strings.Contains(err.Error(), "--yes") ||
		!strings.Contains(err.Error(), "not a terminal") {
		t.Errorf("active without a terminal: %v, want a usage error naming b.service and --yes", err)
	}
	if err := confirmStops([]unit.Socket{active}, opts, answer(true)); err != nil {
		t.Errorf("confirmed: %v", err)
	}
	if len(asked) != 1 || !strings.Contains(asked[0], "b.service is active") || !strings.Contains(asked[0], "20 cold cycles") || !strings.HasSuffix(asked[0], "[y/N] ") {
		t.Errorf("question = %q", asked)
	}
	if err := confirmStops([]unit.Socket{active}, opts, answer(false)); err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("declined: %v, want an error (exit 1) saying nothing was changed", err)
	}
}

func TestBenchPlan(t *testing.T) {
	s := unit.Socket{Unit: "e\x1b[2J.socket", Services: []unit.Service{{Unit: "e.service", ActiveState: unit.Active}}}
	got := benchPlan(s, benchOptions{cycles: 20, warm: 100, bytes: 64 << 20})
	want := `e\x1b[2J.socket: 20 cold cycles (stopping e.service before each), 100 warm probes per endpoint, 64 MiB echoed per echoing stream endpoint; then e.service started again, as found`
	if got != want {
		t.Errorf("plan:\n%s\nwant\n%s", got, want)
	}
	s.Services[0].ActiveState = unit.Inactive
	if got := benchPlan(s, benchOptions{cycles: 3}); !strings.HasSuffix(got, "3 cold cycles (stopping e.service before each); then e.service stopped again, as found") {
		t.Errorf("plan = %q", got)
	}
}

// echoListener serves connections on ln with handle until the test ends.
func echoListener(t *testing.T, ln net.Listener, handle func(net.Conn)) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); handle(c) })
		}
	})
}

func TestMeasureThroughput(t *testing.T) {
	copyBack := func(c net.Conn) { io.Copy(c, c) }
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoListener(t, tcp, copyBack)
	path := filepath.Join(t.TempDir(), "echo.sock")
	ux, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	echoListener(t, ux, copyBack)
	for _, ep := range []probe.Endpoint{
		{Network: unit.TCP4, Dial: tcp.Addr().String(), Probeable: true},
		{Network: unit.Unix, Dial: path, Probeable: true},
	} {
		const total = 8<<20 + 123 // not a whole number of writes
		run, err := measureThroughput(context.Background(), ep, total, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", ep.Network, err)
		}
		if run.Bytes != total || run.WriteSize != 64<<10 || run.Elapsed <= 0 || run.MBps() <= 0 {
			t.Errorf("%s: run %+v (%.0f MB/s)", ep.Network, run, run.MBps())
		}
		t.Logf("%s: %.0f MB/s", ep.Network, run.MBps())
	}

	serve := func(handle func(net.Conn)) probe.Endpoint {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		echoListener(t, ln, handle)
		return probe.Endpoint{Network: unit.TCP4, Dial: ln.Addr().String(), Probeable: true}
	}
	tests := []struct {
		name   string
		handle func(net.Conn)
		want   string
	}{
		{"a byte changed", func(c net.Conn) {
			buf := make([]byte, 1000)
			io.ReadFull(c, buf)
			buf[777] ^= 1
			c.Write(buf)
			io.Copy(c, c)
		}, "byte 777 came back changed"},
		{"a byte lost", func(c net.Conn) {
			buf := make([]byte, 100)
			io.ReadFull(c, buf)
			c.Write(buf[1:])
			io.Copy(c, c)
		}, "byte 0 came back changed"},
		{"closed half-way", func(c net.Conn) {
			io.CopyN(c, c, 100<<10)
		}, "by the server after 102400 of 1048576 bytes came back"},
		{"never answers", func(c net.Conn) {
			io.Copy(io.Discard, c)
		}, "nothing came back for 300ms after 0 of 1048576 bytes"},
		{"sends more than it got", func(c net.Conn) {
			go io.Copy(io.Discard, c)
			pattern := make([]byte, 64<<10)
			for i := range pattern {
				pattern[i] = byte(i % 251)
			}
			for {
				if _, err := c.Write(pattern); err != nil {
					return
				}
			}
		}, ""},
	}
	for _, tt := range tests {
		ep := serve(tt.handle)
		start := time.Now()
		run, err := measureThroughput(context.Background(), ep, 1<<20, 300*time.Millisecond)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want a run of exactly 1 MiB", tt.name, err)
		case tt.want == "" && run.Bytes != 1<<20:
			t.Errorf("%s: %d bytes", tt.name, run.Bytes)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
		t.Logf("%s: %v after %v", tt.name, err, time.Since(start))
	}

	// Ending the context ends a run that gets no answer, long before its
	// timeout.
	ep := serve(func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := measureThroughput(ctx, ep, 1<<20, time.Hour)
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Error("cancelled run: no error")
	}
	// A context that ends as the run begins ends it too: the run's own
	// deadlines must not hide the cancellation (the AfterFunc that sets a
	// past deadline raced with the first read's deadline, and the run
	// waited out its hour). The server ends the context when it accepts.
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		ep := serve(func(c net.Conn) { cancel(); io.Copy(io.Discard, c) })
		if _, err := measureThroughput(ctx, ep, 1<<20, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("run whose context ended as it began: %v, want context.Canceled", err)
		}
	}
	if _, err := measureThroughput(context.Background(), probe.Endpoint{Network: unit.UDP4, Dial: "127.0.0.1:9", Probeable: true}, 1, time.Second); err == nil {
		t.Error("udp4: no error, want a refusal of datagram sockets")
	}
}

var sampleBench = []benchResult{{
	Unit:     "echo.socket",
	Services: []string{"echo.service"},
	Cycles:   3,
	Endpoints: []endpointBench{
		{Type: "Stream", Address: "127.0.0.1:3000", Network: unit.TCP4, Kind: unit.KindEcho,
			Cold:       []time.Duration{300 * time.Millisecond, 352 * time.Millisecond, 410 * time.Millisecond},
			Warm:       []time.Duration{130 * time.Microsecond, 150 * time.Microsecond, 2 * time.Millisecond, 140 * time.Microsecond},
			Throughput: &throughputRun{Bytes: 64 << 20, WriteSize: 64 << 10, Elapsed: 61600 * time.Microsecond}},
		{Type: "Datagram", Address: "[::1]:3000", Network: unit.UDP6, Kind: unit.KindEcho,
			Cold:        []time.Duration{301 * time.Millisecond, 351 * time.Millisecond, 409 * time.Millisecond},
			Warm:        []time.Duration{90 * time.Microsecond, 95 * time.Microsecond, 99 * time.Microsecond},
			WarmFailed:  1,
			WarmFailure: probe.Result{Outcome: probe.Timeout, Error: "reply: no answer within 2s"}},
		{Type: "Stream", Address: "/run/e\x1b[2J.sock", Network: unit.Unix, Kind: unit.KindEcho,
			Cold:          []time.Duration{302 * time.Millisecond, 353 * time.Millisecond, 411 * time.Millisecond},
			Warm:          []time.Duration{80 * time.Microsecond},
			ThroughputErr: "byte 12 came back changed"},
		{Type: "Stream", Address: "vsock:4294967295:3000", Network: unit.Vsock, Kind: unit.KindEcho,
			Unsupported: "vsock unsupported on this host"},
	},
}, {
	Unit:     "web\x1b]0;x\x07.socket",
	Services: []string{"web.service"},
	Cycles:   2,
	Endpoints: []endpointBench{
		{Type: "Stream", Address: "127.0.0.1:8080", Network: unit.TCP4, Kind: unit.KindHTTP,
			Cold:        []time.Duration{1200 * time.Millisecond},
			ColdFailure: probe.Result{Outcome: probe.Failed, Error: "activation failed: service web.service: exit-code"}, ColdCycle: 2},
	},
}}

func TestWriteBenchTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeBenchTable(&b, sampleBench); err != nil {
		t.Fatal(err)
	}
	want := `UNIT                  ENDPOINT               NETWORK  KIND  MEASURE     N  P50     P90     MAX     DETAIL
echo.socket           127.0.0.1:3000         tcp4     echo  cold        3  352 ms  410 ms  410 ms
echo.socket           [::1]:3000             udp6     echo  cold        3  351 ms  409 ms  409 ms
echo.socket           /run/e\x1b[2J.sock     unix     echo  cold        3  353 ms  411 ms  411 ms
echo.socket           vsock:4294967295:3000  vsock    echo  cold        0  -       -       -       unsupported: vsock unsupported on this host
echo.socket           127.0.0.1:3000         tcp4     echo  warm        4  140 µs  2 ms    2 ms
echo.socket           [::1]:3000             udp6     echo  warm        3  95 µs   99 µs   99 µs   1 of 4 failed: timeout: reply: no answer within 2s
echo.socket           /run/e\x1b[2J.sock     unix     echo  warm        1  80 µs   80 µs   80 µs
echo.socket           127.0.0.1:3000         tcp4     echo  throughput  1  -       -       -       1089 MB/s: 64 MiB echoed in 61.6 ms, 64 KiB writes
echo.socket           /run/e\x1b[2J.sock     unix     echo  throughput  1  -       -       -       failed: byte 12 came back changed
web\x1b]0;x\a.socket  127.0.0.1:8080         tcp4     http  cold        1  1.2 s   1.2 s   1.2 s   cycle 2: failed: activation failed: service web.service: exit-code
`
	got := b.String()
	assertTerminalSafe(t, "the bench table", got)
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteBenchJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeBenchJSON(&b, sampleBench); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, b.String())
	}
	if len(got) != 2 {
		t.Fatalf("%d units, want 2: %s", len(got), b.String())
	}
	checkBenchJSONKeys(t, got[0])
	eps := got[0]["endpoints"].([]any)
	tcp := eps[0].(map[string]any)
	cold := tcp["cold"].(map[string]any)
	if want := map[string]any{"n": 3.0, "p50Ms": 352.0, "p90Ms": 410.0, "maxMs": 410.0, "samplesMs": []any{300.0, 352.0, 410.0}}; !reflect.DeepEqual(cold, want) {
		t.Errorf("tcp4 cold = %v, want %v", cold, want)
	}
	if warm := tcp["warm"].(map[string]any); warm["p50Ms"] != 0.14 || warm["maxMs"] != 2.0 {
		t.Errorf("tcp4 warm = %v", warm)
	}
	if want := map[string]any{"bytes": float64(64 << 20), "writeBytes": float64(64 << 10), "seconds": 0.0616, "mbPerS": 1089.4}; !reflect.DeepEqual(tcp["throughput"], want) {
		t.Errorf("tcp4 throughput = %v, want %v", tcp["throughput"], want)
	}
	for i, want := range []struct {
		outcome, error string
		warmFailed     float64
		throughput     bool
	}{
		{"ok", "", 0, true},
		{"timeout", "reply: no answer within 2s", 1, false},
		{"error", "throughput: byte 12 came back changed", 0, false},
		{"unsupported", "vsock unsupported on this host", 0, false},
	} {
		e := eps[i].(map[string]any)
		if e["outcome"] != want.outcome || e["error"] != want.error || e["warmFailed"] != want.warmFailed || (e["throughput"] != nil) != want.throughput {
			t.Errorf("endpoint %d = %v, want %+v", i, e, want)
		}
	}
	web := got[1]["endpoints"].([]any)[0].(map[string]any)
	if web["outcome"] != "failed" || web["error"] != "cycle 2: activation failed: service web.service: exit-code" {
		t.Errorf("web = %v", web)
	}
	if u := got[1]["unit"]; u != "web\x1b]0;x\x07.socket" {
		t.Errorf("JSON unit = %q, want the exact name", u)
	}
}

// checkBenchJSONKeys fails t unless a unit of bench's JSON has exactly
// the documented keys, and each endpoint too.
func checkBenchJSONKeys(t *testing.T, u map[string]any) {
	t.Helper()
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got, want := keys(u), []string{"cycles", "endpoints", "services", "unit"}; !slices.Equal(got, want) {
		t.Errorf("unit keys %q, want %q", got, want)
	}
	eps, _ := u["endpoints"].([]any)
	for _, e := range eps {
		e := e.(map[string]any)
		if got, want := keys(e), []string{"address", "cold", "error", "kind", "network", "outcome", "throughput", "type", "warm", "warmFailed"}; !slices.Equal(got, want) {
			t.Errorf("endpoint keys %q, want %q", got, want)
		}
		for _, d := range []string{"cold", "warm"} {
			dm, _ := e[d].(map[string]any)
			if got, want := keys(dm), []string{"maxMs", "n", "p50Ms", "p90Ms", "samplesMs"}; !slices.Equal(got, want) {
				t.Errorf("%s keys %q, want %q", d, got, want)
			}
		}
		if tp, ok := e["throughput"].(map[string]any); ok {
			if got, want := keys(tp), []string{"bytes", "mbPerS", "seconds", "writeBytes"}; !slices.Equal(got, want) {
				t.Errorf("throughput keys %q, want %q", got, want)
			}
		}
	}
}

// fakeBenchManager records the jobs bench asks for and answers listings
// from its sockets.
type fakeBenchManager struct {
	mu    sync.Mutex
	socks []unit.Socket
	calls []string
	fail  map[string]error // by "VERB UNIT"
	// stopFails is a service that is failed once stopped.
	stopFails string
}

func (f *fakeBenchManager) ListSockets(context.Context, systemdbus.ListOptions) ([]unit.Socket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]unit.Socket, len(f.socks))
	for i, s := range f.socks {
		out[i] = s.Clone()
	}
	return out, nil
}

func (f *fakeBenchManager) SocketFacts(context.Context, []unit.Socket) (map[string]systemdbus.SocketFacts, error) {
	return nil, nil
}

func (f *fakeBenchManager) job(verb, name string, state unit.ActiveState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, verb+" "+name)
	if err := f.fail[verb+" "+name]; err != nil {
		return err
	}
	for i := range f.socks {
		for j := range f.socks[i].Services {
			if f.socks[i].Services[j].Unit == name {
				f.socks[i].Services[j].ActiveState = state
			}
		}
		if f.socks[i].Unit == name {
			f.socks[i].ActiveState = state
			f.socks[i].State = map[unit.ActiveState]unit.State{unit.Active: unit.StateIdle}[state]
		}
	}
	return nil
}

func (f *fakeBenchManager) StartUnit(_ context.Context, name string) error {
	return f.job("start", name, unit.Active)
}
func (f *fakeBenchManager) StopUnit(_ context.Context, name string) error {
	if name == f.stopFails {
		return f.job("stop", name, unit.Failed)
	}
	return f.job("stop", name, unit.Inactive)
}
func (f *fakeBenchManager) ResetFailed(_ context.Context, name string) error {
	return f.job("reset-failed", name, unit.Inactive)
}
func (f *fakeBenchManager) ReviveSocket(_ context.Context, socket string, _ []string) error {
	return f.job("revive", socket, unit.Active)
}

func TestBenchRestore(t *testing.T) {
	sock := func(svcState, otherState unit.ActiveState) unit.Socket {
		return unit.Socket{Unit: "a.socket", LoadState: "loaded", ActiveState: unit.Active, State: unit.StateIdle,
			Services: []unit.Service{{Unit: "a.service", ActiveState: svcState}, {Unit: "a2.service", ActiveState: otherState}}}
	}
	bystander := unit.Socket{Unit: "b.socket", LoadState: "loaded", ActiveState: unit.Active, State: unit.StateActive,
		Services: []unit.Service{{Unit: "b.service", ActiveState: unit.Active}}}
	tests := []struct {
		name          string
		before, now   unit.Socket
		want          []string
		wantErr       string
		failingAction string
	}{
		{"was inactive, now up: stopped", sock(unit.Inactive, unit.Inactive), sock(unit.Active, unit.Inactive), []string{"stop a.socket", "stop a.service", "start a.socket"}, "", ""},
		{"was active, now stopped: started", sock(unit.Active, unit.Inactive), sock(unit.Inactive, unit.Inactive), []string{"reset-failed a.service", "start a.service"}, "", ""},
		{"as found: nothing to do", sock(unit.Active, unit.Inactive), sock(unit.Active, unit.Inactive), nil, "", ""},
		{"failed by bench: reset", sock(unit.Inactive, unit.Inactive), sock(unit.Failed, unit.Inactive), []string{"reset-failed a.service"}, "", ""},
		{"failed, was active: reset and started", sock(unit.Active, unit.Inactive), sock(unit.Failed, unit.Inactive),
			[]string{"reset-failed a.service", "start a.service"}, "", ""},
		{"socket stopped: listens again", sock(unit.Inactive, unit.Inactive),
			func() unit.Socket {
				s := sock(unit.Inactive, unit.Inactive)
				s.ActiveState, s.State = unit.Failed, unit.StateFailed
				return s
			}(),
			[]string{"revive a.socket"}, "", ""},
		{"a start that fails is reported", sock(unit.Active, unit.Inactive), sock(unit.Inactive, unit.Inactive),
			[]string{"reset-failed a.service", "start a.service"}, "restoring a.socket as it was found: boom", "start a.service"},
		{"failed as it was stopped: reset", sock(unit.Inactive, unit.Inactive), sock(unit.Active, unit.Inactive),
			[]string{"stop a.socket", "stop a.service", "start a.socket", "reset-failed a.service"}, "", ""},
	}
	for _, tt := range tests {
		f := &fakeBenchManager{socks: []unit.Socket{tt.now, bystander.Clone()}, fail: map[string]error{}}
		if tt.failingAction != "" {
			f.fail[tt.failingAction] = errors.New("boom")
		}
		env, _, _ := testEnv()
		b := &bencher{env: env, m: f, progress: newProgressLine(io.Discard)}
		if strings.HasPrefix(tt.name, "failed as it was stopped") {
			f.stopFails = "a.service"
		}
		err := b.restore(tt.before)
		if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: restore = %v, want %q", tt.name, err, tt.wantErr)
		}
		if !slices.Equal(f.calls, tt.want) {
			t.Errorf("%s: calls %q, want %q", tt.name, f.calls, tt.want)
		}
		for _, c := range f.calls {
			if strings.Contains(c, "b.") {
				t.Errorf("%s: restore touched the bystander: %s", tt.name, c)
			}
		}
	}
}

func TestRestoredDiff(t *testing.T) {
	before := unit.Socket{Unit: "a.socket", ActiveState: unit.Active, State: unit.StateActive,
		Services: []unit.Service{{Unit: "a.service", ActiveState: unit.Active}}}
	after := before.Clone()
	if err := restoredDiff(before, after); err != nil {
		t.Errorf("same: %v", err)
	}
	after.Services[0].ActiveState = unit.Inactive
	after.State = unit.StateIdle
	if err := restoredDiff(before, after); err == nil || err.Error() != "a.service is inactive, it was active" {
		t.Errorf("service stopped: %v", err)
	}
	before.Services[0].ActiveState = unit.Inactive
	after.Services[0].ActiveState = unit.Failed
	if err := restoredDiff(before, after); err == nil || err.Error() != "a.service is failed, it was inactive" {
		t.Errorf("service failed: %v", err)
	}
	after.Services[0].ActiveState = unit.Inactive
	after.ActiveState, after.State = unit.Inactive, unit.StateStopped
	if err := restoredDiff(before, after); err == nil || !strings.Contains(err.Error(), "a.socket is inactive, it was active") {
		t.Errorf("socket stopped: %v", err)
	}
}

// setWidth sets the width of the terminal whose master end is ptmx.
func setWidth(t *testing.T, ptmx *os.File, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}); err != nil {
		t.Fatal(err)
	}
}

func TestTerminalAsk(t *testing.T) {
	env, _, _ := testEnv()
	if terminalAsk(context.Background(), env) != nil {
		t.Error("a strings.Reader stdin: terminalAsk asks")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env.Stdin = f
	if terminalAsk(context.Background(), env) != nil {
		t.Error("/dev/null stdin: terminalAsk asks")
	}

	master, slave := openPTY(t)
	var errOut bytes.Buffer
	env = &Env{Stdin: slave, Stderr: &errOut}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ask := terminalAsk(ctx, env)
	if ask == nil {
		t.Fatal("a terminal stdin: terminalAsk does not ask")
	}
	for _, c := range []struct {
		typed string
		want  bool
	}{{"y\n", true}, {"YES\n", true}, {"n\n", false}, {"\n", false}, {"yes please\n", false}} {
		errOut.Reset()
		master.WriteString(c.typed)
		got, err := ask("stop it? [y/N] ")
		if err != nil || got != c.want {
			t.Errorf("typed %q: %v, %v; want %v", c.typed, got, err, c.want)
		}
		if errOut.String() != "stop it? [y/N] " {
			t.Errorf("typed %q: stderr %q, want the question", c.typed, errOut.String())
		}
	}
	// ctrl+c (the context ending) ends the wait for an answer.
	cancel()
	if _, err := ask("stop it? [y/N] "); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgressLine(&b)
	p.update("a")
	p.update("b")
	p.done()
	if got := b.String(); got != "socktui bench: a\nsocktui bench: b\n" {
		t.Errorf("not a terminal: %q, want a line per update", got)
	}

	master, slave := openPTY(t)
	setWidth(t, master, 30)
	p = newProgressLine(slave)
	if !p.tty || p.width != 30 {
		t.Fatalf("on a 30-column terminal: tty %v, width %d", p.tty, p.width)
	}
	p.update("cycle 1/20: probing 8 endpoints cold")
	p.update("cycle 2/20")
	p.done()
	want := "\r\x1b[Ksocktui bench: cycle 1/20: p…\r\x1b[Ksocktui bench: cycle 2/20\r\x1b[K" // 29 columns: the last is left free
	slave.Close()
	got, _ := io.ReadAll(io.LimitReader(master, 4096)) // EIO once the slave is closed
	if string(got) != want {
		t.Errorf("on a terminal: %q, want %q", got, want)
	}
}

// TestBenchEchoInSandbox runs socktui bench on the echo workload in a
// real manager: bare with a service found inactive and one found active,
// interrupted, and once in container mode.
func TestBenchEchoInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")

	// A bystander whose name shares the bench units' prefix, active all
	// along: bench never stops it, nor restarts it.
	by := installBenchEcho(t, s, echo.Spec{Name: fmt.Sprintf("socktui-echo-bench-by-%d", os.Getpid()), Mode: echo.ModeBare, Binary: echoBin})
	sandboxtest.Systemctl(t, s, "start", by.ServiceName())
	byPID := unitProp(t, s, by.ServiceName(), "MainPID")
	t.Cleanup(func() {
		if got := unitProp(t, s, by.ServiceName(), "MainPID"); got != byPID || serviceState(t, s, by.ServiceName()) != "active" {
			t.Errorf("the bystander %s is %s with pid %s, was active with pid %s", by.ServiceName(), serviceState(t, s, by.ServiceName()), got, byPID)
		}
	})

	t.Run("bare", func(t *testing.T) {
		u := installBenchEcho(t, s, echo.Spec{Name: fmt.Sprintf("socktui-echo-bench-%d", os.Getpid()), Mode: echo.ModeBare, Binary: echoBin})
		name := strings.TrimSuffix(u.Name, ".socket")

		// A pattern is refused before anything is asked of the manager.
		_, stderr, code := runBenchBin(t, s, socktui, nil, "socktui-echo-bench-*")
		if code != ExitUsage || !strings.Contains(stderr, "not a pattern") {
			t.Errorf("pattern: exit %d, stderr %q; want 2 and a refusal", code, stderr)
		}

		// Found inactive: 6 cycles, more than systemd's default start
		// limit (5 in 10s) allows unless bench resets it.
		out, stderr, code := runBenchBin(t, s, socktui, nil, "--json", "--cycles", "6", "--warm", "20", "--bytes", "8MiB", name)
		if code != ExitOK {
			t.Fatalf("bench: exit %d\n%s\n%s", code, out, stderr)
		}
		checkBenchRun(t, u, out, 6, 20, 8<<20)
		if !strings.Contains(stderr, "cycle 6/6") || !strings.Contains(stderr, "then "+u.ServiceName()+" stopped again, as found") {
			t.Errorf("stderr lacks the plan or the progress:\n%s", stderr)
		}
		if got := serviceState(t, s, u.ServiceName()); got != "inactive" {
			t.Errorf("%s is %s after bench, want inactive as found", u.ServiceName(), got)
		}
		if got := serviceState(t, s, u.Name); got != "active" {
			t.Errorf("%s is %s after bench, want active as found", u.Name, got)
		}

		// Found active: refused without --yes (stdin is not a terminal),
		// the service untouched; with --yes measured and started again.
		sandboxtest.Systemctl(t, s, "start", u.ServiceName())
		pid := unitProp(t, s, u.ServiceName(), "MainPID")
		out, stderr, code = runBenchBin(t, s, socktui, nil, "--cycles", "2", name)
		if code != ExitUsage || !strings.Contains(stderr, "--yes") || len(out) > 0 {
			t.Errorf("active without --yes: exit %d, stdout %q, stderr %q; want 2 and a refusal", code, out, stderr)
		}
		if got := unitProp(t, s, u.ServiceName(), "MainPID"); got != pid {
			t.Errorf("refused, yet %s's pid changed from %s to %s", u.ServiceName(), pid, got)
		}
		// On a terminal bench asks: no changes nothing; yes measures, with
		// one progress line that each update rewrites.
		code, term := runBenchOnTerminal(t, s, socktui, "n", "--cycles", "2", name)
		if code != ExitFailure || !strings.Contains(term, "is active: stop it before each of 2 cold cycles") || !strings.Contains(term, "nothing was changed") {
			t.Errorf("answered n: exit %d, terminal %q; want 1 after the question", code, term)
		}
		if got := unitProp(t, s, u.ServiceName(), "MainPID"); got != pid {
			t.Errorf("declined, yet %s's pid changed from %s to %s", u.ServiceName(), pid, got)
		}
		code, term = runBenchOnTerminal(t, s, socktui, "y", "--cycles", "2", "--warm", "3", "--bytes", "64K", name)
		if code != ExitOK || !strings.Contains(term, "\r\x1b[Ksocktui bench: "+u.Name+": cycle 2/2: ") || strings.Count(term, "\n") > 3 {
			t.Errorf("answered y: exit %d, terminal %q; want 0 and one progress line rewritten", code, term)
		}
		if got := serviceState(t, s, u.ServiceName()); got != "active" {
			t.Errorf("%s is %s after bench on a terminal, want active as found", u.ServiceName(), got)
		}
		pid = unitProp(t, s, u.ServiceName(), "MainPID")

		out, stderr, code = runBenchBin(t, s, socktui, nil, "--yes", "--json", "--cycles", "3", "--warm", "5", "--bytes", "1MiB", name)
		if code != ExitOK {
			t.Fatalf("bench --yes: exit %d\n%s\n%s", code, out, stderr)
		}
		checkBenchRun(t, u, out, 3, 5, 1<<20)
		if got := serviceState(t, s, u.ServiceName()); got != "active" {
			t.Errorf("%s is %s after bench, want active as found", u.ServiceName(), got)
		}
		if got := unitProp(t, s, u.ServiceName(), "MainPID"); got == pid {
			t.Errorf("%s kept pid %s: bench never stopped it", u.ServiceName(), pid)
		}

		// The table: a cold, a warm and a throughput row per echoing
		// stream endpoint.
		sandboxtest.Systemctl(t, s, "stop", u.ServiceName())
		out, _, code = runBenchBin(t, s, socktui, nil, "--cycles", "1", "--warm", "3", "--bytes", "64K", name)
		if code != ExitOK {
			t.Fatalf("bench table: exit %d\n%s", code, out)
		}
		for _, re := range []string{`(?m)^UNIT +ENDPOINT +NETWORK +KIND +MEASURE +N +P50 +P90 +MAX +DETAIL$`,
			`(?m)^` + u.Name + ` +127\.0\.0\.1:\d+ +tcp4 +echo +cold +1 `,
			`(?m)^` + u.Name + ` +\[::1\]:\d+ +udp6 +echo +warm +3 `,
			`(?m)^` + u.Name + ` +\S+/echo\.sock +unix +echo +throughput +1 .* MB/s: 64 KiB echoed in `} {
			if !regexp.MustCompile(re).Match(out) {
				t.Errorf("the table has no line matching %s:\n%s", re, out)
			}
		}

		// Interrupted half-way, found inactive: restored all the same.
		testBenchInterrupted(t, s, socktui, u)
	})

	t.Run("container", func(t *testing.T) {
		sandboxtest.Need(t, "podman", "podman")
		tag := echotest.Image(t, s, echoBin, "benchtest")
		spec := echo.Spec{Name: fmt.Sprintf("socktui-echo-bench-ctr-%d", os.Getpid()), Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir}
		echotest.RemoveContainerAtCleanup(t, s, spec.Name)
		u := installBenchEcho(t, s, spec)
		out, stderr, code := runBenchBin(t, s, socktui, nil, "--json", "--cycles", "3", "--warm", "10", "--bytes", "16MiB", strings.TrimSuffix(u.Name, ".socket"))
		if code != ExitOK {
			t.Fatalf("bench: exit %d\n%s\n%s", code, out, stderr)
		}
		checkBenchRun(t, u, out, 3, 10, 16<<20)
		if got := serviceState(t, s, u.ServiceName()); got != "inactive" {
			t.Errorf("%s is %s after bench, want inactive as found", u.ServiceName(), got)
		}
	})
}

// testBenchInterrupted starts a long bench of u (its service inactive),
// interrupts it (SIGINT, as ctrl+c) once a cycle has been measured, and
// checks that it exits 1 with the service inactive again.
func testBenchInterrupted(t *testing.T, s *sandbox.Sandbox, socktui string, u unit.SocketSpec) {
	t.Helper()
	if got := serviceState(t, s, u.ServiceName()); got != "inactive" {
		t.Fatalf("%s is %s before the interrupted bench, want inactive", u.ServiceName(), got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, socktui, "bench", "--cycles", "50", strings.TrimSuffix(u.Name, ".socket"))
	cmd.Env = s.Env()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	interrupted := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !interrupted && strings.Contains(sc.Text(), "cycle 2/50: probing") {
			// The service is down or starting: the worst moment.
			cmd.Process.Signal(syscall.SIGINT)
			interrupted = true
		}
	}
	err = cmd.Wait()
	t.Logf("interrupted bench:\n%s", log.String())
	if !interrupted {
		t.Fatalf("bench ended before its second cycle: %v", err)
	}
	if code := cmd.ProcessState.ExitCode(); code != ExitFailure {
		t.Errorf("interrupted bench: exit %d, want 1", code)
	}
	if !strings.Contains(log.String(), "interrupted after") {
		t.Errorf("stderr does not say it was interrupted")
	}
	if got := serviceState(t, s, u.ServiceName()); got != "inactive" {
		t.Errorf("%s is %s after an interrupted bench, want inactive as found", u.ServiceName(), got)
	}
	if got := serviceState(t, s, u.Name); got != "active" {
		t.Errorf("%s is %s after an interrupted bench, want active as found", u.Name, got)
	}
}

// checkBenchRun checks bench's JSON for the echo units u: every endpoint
// with its cycles of cold samples and its warm samples (vsock
// unsupported), and a throughput run of size bytes exactly on the stream
// endpoints.
func checkBenchRun(t *testing.T, u unit.SocketSpec, out []byte, cycles, warm int, size int64) {
	t.Helper()
	var raw []map[string]any
	if err := json.Unmarshal(out, &raw); err != nil || len(raw) != 1 {
		t.Fatalf("bench JSON: %v, %d units in\n%s", err, len(raw), out)
	}
	checkBenchJSONKeys(t, raw[0])
	var rs []benchJSON
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Unit != u.Name || !slices.Equal(r.Services, []string{u.ServiceName()}) || r.Cycles != cycles || len(r.Endpoints) != len(u.Listen) {
		t.Fatalf("bench of %s = unit %s services %q cycles %d with %d endpoints; want %d cycles of %d endpoints", u.Name, r.Unit, r.Services, r.Cycles, len(r.Endpoints), cycles, len(u.Listen))
	}
	streams := 0
	for i, e := range r.Endpoints {
		t.Logf("%-10s %-11s cold p50 %8.3fms p90 %8.3fms max %8.3fms  warm p50 %7.3fms p90 %7.3fms max %7.3fms  %v %s",
			e.Network, e.Outcome, e.Cold.P50ms, e.Cold.P90ms, e.Cold.MaxMs, e.Warm.P50ms, e.Warm.P90ms, e.Warm.MaxMs, throughputText(e.Throughput), e.Error)
		if e.Type != u.Listen[i].Type || e.Kind != "echo" {
			t.Errorf("endpoint %d: %+v for %v", i, e, u.Listen[i])
		}
		if e.Network == "vsock" {
			if e.Outcome != "unsupported" || e.Cold.N != 0 || e.Throughput != nil {
				t.Errorf("vsock: %+v, want unsupported without samples", e)
			}
			continue
		}
		if e.Outcome != "ok" || e.Cold.N != cycles || len(e.Cold.SamplesMs) != cycles || e.Warm.N != warm || e.WarmFailed != 0 {
			t.Errorf("%s: outcome %s (%s), %d cold and %d warm samples; want ok, %d and %d", e.Network, e.Outcome, e.Error, e.Cold.N, e.Warm.N, cycles, warm)
		}
		if e.Cold.N > 0 && (e.Cold.P50ms <= 0 || e.Cold.P50ms > e.Cold.P90ms || e.Cold.P90ms > e.Cold.MaxMs || e.Cold.MaxMs != slices.Max(e.Cold.SamplesMs)) {
			t.Errorf("%s: cold %+v is no distribution", e.Network, e.Cold)
		}
		if e.Warm.N > 0 && e.Warm.MaxMs != slices.Max(e.Warm.SamplesMs) {
			t.Errorf("%s: warm %+v", e.Network, e.Warm)
		}
		switch e.Network {
		case "tcp4", "tcp6", "unix":
			streams++
			if e.Throughput == nil || e.Throughput.Bytes != size || e.Throughput.MBps <= 0 {
				t.Errorf("%s: throughput %+v, want a run of %d bytes", e.Network, e.Throughput, size)
			}
		default:
			if e.Throughput != nil {
				t.Errorf("%s: throughput %+v on a datagram or packet socket", e.Network, e.Throughput)
			}
		}
	}
	if streams != 3 {
		t.Errorf("%d stream endpoints, want tcp4, tcp6 and unix", streams)
	}
}

func throughputText(t *throughputJSON) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f MB/s", t.MBps)
}

// installBenchEcho installs the echo workload's units for spec in s
// (on free ports, trying others when one was taken meanwhile), with unix
// and vsock listeners, starts the socket and stops both at the end.
func installBenchEcho(t *testing.T, s *sandbox.Sandbox, spec echo.Spec) unit.SocketSpec {
	t.Helper()
	spec.UnixDir = filepath.Join(s.Home, spec.Name)
	var u unit.SocketSpec
	for attempt := 1; ; attempt++ {
		spec.Port = sandboxtest.FreePort(t)
		spec.VsockPort = freeVsockPort(t)
		var err error
		if u, err = spec.Units(); err != nil {
			t.Fatal(err)
		}
		sandboxtest.InstallUnits(t, s, map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()})
		out, err := s.Systemctl(context.Background(), "start", u.Name).CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("starting %s: %v\n%s", u.Name, err, out)
		}
		t.Logf("starting %s on port %d: %v; trying other ports", u.Name, spec.Port, err)
		_ = s.Systemctl(context.Background(), "reset-failed", u.Name).Run()
	}
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })
	return u
}

// runBenchBin runs `socktui bench ARGS` against s with stdin (nil: none)
// and returns its stdout, stderr and exit status.
func runBenchBin(t *testing.T, s *sandbox.Sandbox, socktui string, stdin io.Reader, args ...string) ([]byte, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, socktui, append([]string{"bench"}, args...)...)
	cmd.Env = s.Env()
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("socktui bench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, stderr.String(), cmd.ProcessState.ExitCode()
}

// runBenchOnTerminal runs `socktui bench ARGS` against s with stdin and
// stderr on a terminal, types answer once it asks, and returns its exit
// status and what it wrote on the terminal.
func runBenchOnTerminal(t *testing.T, s *sandbox.Sandbox, socktui, answer string, args ...string) (int, string) {
	t.Helper()
	master, slave := openPTY(t)
	setWidth(t, master, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, socktui, append([]string{"bench"}, args...)...)
	cmd.Env = s.Env()
	cmd.Stdin, cmd.Stderr = slave, slave
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // the child has its own: reads of master end when it exits
	var (
		mu   sync.Mutex
		term []byte
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		typed := false
		for {
			n, err := master.Read(buf)
			mu.Lock()
			term = append(term, buf[:n]...)
			asked := bytes.Contains(term, []byte("[y/N] "))
			mu.Unlock()
			if asked && !typed {
				master.WriteString(answer + "\n")
				typed = true
			}
			if err != nil {
				return
			}
		}
	}()
	err := cmd.Wait()
	<-done
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("socktui bench %s: %v", strings.Join(args, " "), err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("socktui bench %s, answered %s: terminal %q\nstdout:\n%s", strings.Join(args, " "), answer, term, stdout.String())
	return cmd.ProcessState.ExitCode(), string(term)
}

// unitProp is one property of a unit, as systemctl show prints it.
func unitProp(t *testing.T, s *sandbox.Sandbox, name, prop string) string {
	t.Helper()
	return strings.TrimSpace(sandboxtest.Systemctl(t, s, "show", "-p", prop, "--value", name))
}
