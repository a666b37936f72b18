package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// Bad usage of the UI commands exits 2 with a message, before anything is
// started or connected.
func TestUIUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--mode", "vm"}, "--mode must be auto, container or bare"},
		{[]string{"demo", "--port", "70000"}, "out of range"},
		{[]string{"demo", "extra"}, `unexpected argument "extra"`},
		{[]string{"demo", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"--system", "extra"}, `unexpected argument "extra"`},
		{[]string{"--kind", "ping"}, `--kind: unknown probe kind "ping": want auto, echo, connect or http`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), env, c.args); code != ExitUsage {
			t.Errorf("socktui %v: exit %d, want %d (stderr %q)", c.args, code, ExitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("socktui %v: stderr %q, want it to contain %q", c.args, errb.String(), c.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"-h"}, {"help"}} {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), env, args); code != ExitOK {
			t.Errorf("socktui %v: exit %d, want 0 (stderr %q)", args, code, errb.String())
		}
		if !strings.Contains(out.String(), "socktui") || !strings.Contains(out.String(), "demo") {
			t.Errorf("socktui %v printed %q, want usage naming demo", args, out.String())
		}
	}
}

func TestUnitProberSetsKind(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ts := []unit.Target{
		{Unit: "x.socket", Service: "x.service", Type: "Stream", Address: ln.Addr().String(), Kind: unit.KindAuto},
		{Unit: "y.socket", Service: "y.service", Type: "Stream", Address: ln.Addr().String(), Kind: unit.KindAuto},
		{Unit: "z.socket", Service: "z.service", Type: "Stream", Address: ln.Addr().String(), Kind: unit.KindAuto},
	}
	envs := func(ctx context.Context, services []string) (map[string][]string, error) {
		return map[string][]string{
			"x.service": {"A=1", EnvProbeKind + "=connect", EnvProbeKind + "=http"}, // the last one wins, as in systemd
			"y.service": {EnvProbeKind + "=bogus"},
		}, nil
	}
	for _, c := range []struct {
		kind unit.Kind
		want []unit.Kind
	}{
		{unit.KindAuto, []unit.Kind{unit.KindHTTP, unit.KindConnect, unit.KindConnect}},
		{unit.KindEcho, []unit.Kind{unit.KindEcho, unit.KindEcho, unit.KindEcho}},
	} {
		p := unitProber{p: &probe.Prober{Timeout: 50 * time.Millisecond}, kind: c.kind, envs: envs}
		for r := range p.ProbeAll(context.Background(), ts) {
			if r.Kind != c.want[r.Index] {
				t.Errorf("--kind %s: %s probed as %s, want %s", c.kind, r.Unit, r.Kind, c.want[r.Index])
			}
		}
	}
	if ts[0].Kind != unit.KindAuto {
		t.Errorf("unitProber changed its caller's targets: %+v", ts[0])
	}
}
