package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestAutoKindPicksHTTPForLighttpd: Debian's lighttpd, socket-activated
// (a server socktui did not write), is probed with http by the automatic
// choice, from its service's command line; a drop-in declaring
// SOCKTUI_PROBE=connect then overrides the choice.
func TestAutoKindPicksHTTPForLighttpd(t *testing.T) {
	sandboxtest.Need(t, "lighttpd", "lighttpd")
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	port := sandboxtest.FreePort(t)
	root := filepath.Join(s.Home, "www")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(s.Home, "lighttpd.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`server.document-root = %q
server.port = %d
server.bind = "127.0.0.1"
server.systemd-socket-activation = "enable"
server.errorlog = %q
index-file.names = ("index.html")
`, root, port, filepath.Join(s.Home, "lighttpd.err"))), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("socktui-lighttpd-%d", os.Getpid())
	sandboxtest.InstallUnits(t, s, map[string]string{
		name + ".socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", port),
		name + ".service": fmt.Sprintf("[Service]\nExecStart=/usr/sbin/lighttpd -D -f %s\n", conf),
	})
	t.Cleanup(func() { s.Systemctl(context.Background(), "stop", name+".socket", name+".service").Run() })
	sandboxtest.Systemctl(t, s, "start", name+".socket")

	probeOnce := func(what string) jsonResult {
		t.Helper()
		out, code := runSocktui(t, s, socktui, "probe", "--json", name)
		var rs []jsonResult
		if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 1 {
			t.Fatalf("%s: %v, results in\n%s", what, err, out)
		}
		if code != ExitOK {
			t.Errorf("%s: exit %d for %+v", what, code, rs[0])
		}
		t.Logf("%s: %+v", what, rs[0])
		return rs[0]
	}
	if r := probeOnce("cold"); r.Kind != "http" || r.Outcome != "ok" || r.Status != "HTTP/1.1 200 OK" || !r.Cold {
		t.Errorf("lighttpd, cold: %+v, want a cold http ok with 200 OK", r)
	}
	if r := probeOnce("warm"); r.Kind != "http" || r.Outcome != "ok" || r.Cold {
		t.Errorf("lighttpd, warm: %+v, want a warm http ok", r)
	}

	// A drop-in declares the kind.
	dropin := filepath.Join(s.Home, ".config/systemd/user", name+".service.d")
	if err := os.MkdirAll(dropin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dropin, "probe.conf"), []byte("[Service]\nEnvironment="+EnvProbeKind+"=connect\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sandboxtest.Systemctl(t, s, "daemon-reload")
	if r := probeOnce("declared"); r.Kind != "connect" || r.Outcome != "ok" {
		t.Errorf("with %s=connect: %+v, want a connect ok", EnvProbeKind, r)
	}
}
