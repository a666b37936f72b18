package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// TestProbeEscapedNamesAndPaths probes, in a private user manager, a socket
// unit whose name systemd-escape wrote ("socktui\x2descaped-PID.socket") and
// whose unix paths hold "é", spaces, a backslash and quotes, which systemd
// reports C-escaped ("caf\303\251 ..."). The bundled echo answers on every
// one: `socktui probe` by the unit's name and by globs says ok, as socat
// does, and `socktui list` shows the addresses as systemd reports them.
func TestProbeEscapedNamesAndPaths(t *testing.T) {
	sandboxtest.Need(t, "socat", "socat")
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")

	u, err := echo.Spec{Name: "socktui-escaped", Mode: echo.ModeBare, Binary: echoBin}.Units()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf(`socktui\x2descaped-%d`, os.Getpid())
	u.Name, u.Service.Name = name+".socket", name+".service"
	dir := filepath.Join(s.Home, "café dir")
	stream, dgram, seq := dir+"/café é.sock", dir+"/café é.dgram", dir+`/back\slash "q".seq`
	abstract := fmt.Sprintf("@socktui café %d", os.Getpid())
	u.Listen = []unit.Listen{{Type: "Stream", Address: stream}, {Type: "Datagram", Address: dgram},
		{Type: "SequentialPacket", Address: seq}, {Type: "Stream", Address: abstract}}
	u.RemoveOnStop = true
	sandboxtest.InstallUnits(t, s, map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()})
	sandboxtest.Systemctl(t, s, "start", u.Name)
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })

	// What systemd reports, measured on systemd 252: paths and abstract
	// names C-escaped, spaces as they are.
	escaped := map[string]string{
		stream:   strings.ReplaceAll(stream, "é", `\303\251`),
		dgram:    strings.ReplaceAll(dgram, "é", `\303\251`),
		seq:      strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(seq, `\`, `\\`), `"`, `\"`), "é", `\303\251`),
		abstract: strings.ReplaceAll(abstract, "é", `\303\251`),
	}

	out, code := runSocktui(t, s, socktui, "list", "--json", name)
	var socks []unit.Socket
	if err := json.Unmarshal(out, &socks); err != nil || code != ExitOK {
		t.Fatalf("socktui list --json %s: exit %d, %v in\n%s", name, code, err, out)
	}
	if len(socks) != 1 || socks[0].Unit != u.Name || len(socks[0].Listen) != len(u.Listen) {
		t.Fatalf("socktui list %s = %+v, want %s with %d listeners", name, socks, u.Name, len(u.Listen))
	}
	for i, l := range socks[0].Listen {
		if want := escaped[u.Listen[i].Address]; l.Address != want {
			t.Errorf("listed address %q, want %q as systemd reports it", l.Address, want)
		}
	}

	for run, pattern := range []string{name, u.Name, `socktui\x2descaped-*`, `socktui?x2descaped-[0-9]*`} {
		out, code := runSocktui(t, s, socktui, "probe", "--json", "--kind", "echo", "--timeout", "3s", "--cold-timeout", "15s", pattern)
		var rs []jsonResult
		if err := json.Unmarshal(out, &rs); err != nil {
			t.Fatalf("probe %s: %v in\n%s", pattern, err, out)
		}
		if code != ExitOK || len(rs) != len(u.Listen) {
			t.Errorf("probe %s: exit %d with %d results, want 0 with %d:\n%s", pattern, code, len(rs), len(u.Listen), out)
			continue
		}
		for i, r := range rs {
			l := u.Listen[i]
			if r.Unit != u.Name || r.Address != escaped[l.Address] || r.Outcome != "ok" || r.Cold != (run == 0) {
				t.Errorf("probe %s: %s %q = %+v, want ok (cold %v)", pattern, l.Type, l.Address, r, run == 0)
			}
		}
	}

	// socat, a client of its own, reaches the real paths too.
	for network, path := range map[string]string{"unix": stream, "unixgram": dgram} {
		if !socatEchoes(t, network, path) {
			t.Errorf("socat got no echo over %s %q", network, path)
		}
	}
}
