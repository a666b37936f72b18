package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

func sock(state unit.State, active unit.ActiveState, reason string) unit.Socket {
	return unit.Socket{Unit: "a.socket", ActiveState: active, State: state, Reason: reason}
}

func TestActivationOf(t *testing.T) {
	idle := sock(unit.StateIdle, "active", "")
	svcFailed := sock(unit.StateFailed, "active", "service a.service: exit-code")
	sockFailed := sock(unit.StateFailed, "failed", "socket: service-start-limit-hit")
	starting := sock(unit.StateActivating, "active", "")
	up := sock(unit.StateActive, "active", "")
	stopped := sock(unit.StateStopped, "inactive", "")
	tests := []struct {
		name      string
		prev      *unit.Socket
		cur       unit.Socket
		want      probe.ActivationState
		wantWhy   string
		wantEmpty bool
	}{
		{"first idle", nil, idle, probe.ActivationIdle, "", true},
		{"first starting", nil, starting, probe.ActivationStarting, "", true},
		{"first up", nil, up, probe.ActivationUp, "", true},
		{"a failure left from before is idle", nil, svcFailed, probe.ActivationIdle, "", true},
		{"the same old failure again is idle", &svcFailed, svcFailed, probe.ActivationIdle, "", true},
		{"a new service failure", &starting, svcFailed, probe.ActivationFailed, "exit-code", false},
		{"a failure after up", &up, svcFailed, probe.ActivationFailed, "exit-code", false},
		{"a failed socket, first", nil, sockFailed, probe.ActivationFailed, "start-limit", false},
		{"a failed socket", &svcFailed, sockFailed, probe.ActivationFailed, "start-limit", false},
		{"stopped while listening", &idle, stopped, probe.ActivationFailed, "socket stopped", false},
		{"stopped from the start", nil, stopped, probe.ActivationIdle, "", true},
	}
	for _, tt := range tests {
		got := activationOf(tt.prev, tt.cur)
		if got.State != tt.want || !strings.Contains(got.Reason, tt.wantWhy) || tt.wantEmpty && got.Reason != "" {
			t.Errorf("%s: got %+v, want state %d with reason %q", tt.name, got, tt.want, tt.wantWhy)
		}
	}
}

func TestActivationFeed(t *testing.T) {
	events := make(chan unit.Event, 16)
	started := 0
	f := newActivationFeed(func(ctx context.Context) <-chan unit.Event {
		started++
		go func() {
			<-ctx.Done()
			close(events)
		}()
		return events
	})
	defer f.Close()
	a := sock(unit.StateIdle, "active", "")
	accept := unit.Socket{Unit: "b.socket", ActiveState: "active", State: unit.StateIdle, Accept: true}
	events <- unit.Event{Kind: unit.Snapshot, Sockets: []unit.Socket{a, accept}}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := f.FollowActivation(ctx, "a.socket")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.FollowActivation(ctx, "b.socket"); !errors.Is(err, errNotFollowed) {
		t.Errorf("an Accept=yes socket: %v, want not followed", err)
	}
	if _, err := f.FollowActivation(ctx, "nope.socket"); !errors.Is(err, errNotFollowed) {
		t.Errorf("an unknown socket: %v, want not followed", err)
	}
	if started != 1 {
		t.Errorf("the watch started %d times, want once", started)
	}
	for _, s := range []unit.Socket{
		sock(unit.StateActivating, "active", ""),
		sock(unit.StateActive, "active", ""),
		sock(unit.StateFailed, "active", "service a.service: exit-code"),
	} {
		events <- unit.Event{Kind: unit.UnitChanged, Unit: s.Unit, Socket: &s}
	}
	events <- unit.Event{Kind: unit.UnitRemoved, Unit: "a.socket"}
	var got []probe.ActivationState
	for a := range ch { // closed once the unit is removed
		got = append(got, a.State)
	}
	want := []probe.ActivationState{probe.ActivationIdle, probe.ActivationStarting, probe.ActivationUp, probe.ActivationFailed}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", got, want)
	}
}

func TestActivationFeedDisconnected(t *testing.T) {
	events := make(chan unit.Event, 1)
	f := newActivationFeed(func(ctx context.Context) <-chan unit.Event {
		go func() {
			<-ctx.Done()
			close(events)
		}()
		return events
	})
	defer f.Close()
	events <- unit.Event{Kind: unit.Disconnected, Err: errors.New("no manager")}
	if _, err := f.FollowActivation(context.Background(), "a.socket"); err == nil || !strings.Contains(err.Error(), "no manager") {
		t.Errorf("no manager: %v, want its error", err)
	}
}

// TestProbeFailingServiceInSandbox: a socket on every probeable protocol
// whose service is ExecStart=/bin/false. The first, cold probe must call
// every endpoint failed with the reason, exit 1, for connect, echo and
// auto alike, and not by waiting out the cold timeout (an hour here).
func TestProbeFailingServiceInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	// One socket per kind, each started once: a socket stopped between
	// rounds would give its port back to whoever asks first.
	kinds := []string{"connect", "echo", "auto"}
	units := map[string]string{}
	name := func(kind string) string { return fmt.Sprintf("socktui-false-%s-%d", kind, os.Getpid()) }
	for _, kind := range kinds {
		port := sandboxtest.FreePort(t)
		dir := filepath.Join(s.Home, "false-"+kind)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		units[name(kind)+".socket"] = fmt.Sprintf(`[Socket]
ListenStream=127.0.0.1:%[1]d
ListenStream=[::1]:%[1]d
ListenDatagram=127.0.0.1:%[1]d
ListenDatagram=[::1]:%[1]d
ListenStream=%[2]s/s.sock
ListenDatagram=%[2]s/d.sock
ListenSequentialPacket=%[2]s/p.sock
`, port, dir)
		units[name(kind)+".service"] = "[Service]\nExecStart=/bin/false\n"
		t.Cleanup(func() { s.Systemctl(context.Background(), "stop", name(kind)+".socket", name(kind)+".service").Run() })
	}
	sandboxtest.InstallUnits(t, s, units)
	for _, kind := range kinds {
		sandboxtest.Systemctl(t, s, "start", name(kind)+".socket")
	}

	for _, kind := range kinds {
		if state := serviceState(t, s, name(kind)+".service"); state != "inactive" {
			t.Fatalf("%s: the service is %s before the probe, want inactive", kind, state)
		}
		out, code := runSocktui(t, s, socktui, "probe", "--json", "--kind", kind, "--cold-timeout", "1h", "--timeout", "1h", name(kind))
		var rs []jsonResult
		if err := json.Unmarshal(out, &rs); err != nil {
			t.Fatalf("%s: %v in\n%s", kind, err, out)
		}
		if len(rs) != 7 {
			t.Fatalf("%s: %d results, want 7:\n%s", kind, len(rs), out)
		}
		if code != ExitFailure {
			t.Errorf("%s: exit status %d, want %d", kind, code, ExitFailure)
		}
		for _, r := range rs {
			t.Logf("%s: %-10s %-8s %8.1fms %s", kind, r.Network, r.Outcome, r.RTTms, r.Error)
			if r.Outcome != string(probe.Failed) || !r.Cold ||
				!strings.Contains(r.Error, name(kind)+".service") && !strings.Contains(r.Error, "limit-hit") {
				t.Errorf("%s: %s %s: %s %q, want failed, cold, with the service's reason", kind, r.Network, r.Address, r.Outcome, r.Error)
			}
		}
	}
}

// TestProbeSilentServiceInSandbox: a service that takes the
// socket and never answers passes a connect probe (it came up and stayed
// up: all a connect probe proves) and fails an echo probe; the service
// is running afterwards either way.
func TestProbeSilentServiceInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	port := sandboxtest.FreePort(t)
	name := fmt.Sprintf("socktui-sleep-%d", os.Getpid())
	sandboxtest.InstallUnits(t, s, map[string]string{
		name + ".socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		name + ".service": "[Service]\nExecStart=/bin/sleep 100\n",
	})
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", name+".socket", name+".service").Run() })
	sandboxtest.Systemctl(t, s, "start", name+".socket")

	out, code := runSocktui(t, s, socktui, "probe", "--json", "--kind", "connect", "--settle", "200ms", name)
	var rs []jsonResult
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 1 {
		t.Fatalf("connect: %v, %d results in\n%s", err, len(rs), out)
	}
	if rs[0].Outcome != "ok" || !rs[0].Cold || code != ExitOK {
		t.Errorf("connect: %+v, exit %d; want a cold ok", rs[0], code)
	}
	if state := serviceState(t, s, name+".service"); state != "active" {
		t.Errorf("after the connect probe the service is %s, want active", state)
	}
	out, code = runSocktui(t, s, socktui, "probe", "--json", "--kind", "echo", "--timeout", "300ms", name)
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 1 {
		t.Fatalf("echo: %v, %d results in\n%s", err, len(rs), out)
	}
	if rs[0].Outcome != "timeout" || rs[0].Cold || code != ExitFailure {
		t.Errorf("echo: %+v, exit %d; want a warm timeout", rs[0], code)
	}
}
