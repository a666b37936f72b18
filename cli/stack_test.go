package cli

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// TestNewActivatesOnEveryStack creates a socket-activated echo container
// with socktui new on each stack in the format its Podman runs — the
// classic service on Podman 4.3, a Quadlet .container on Podman 5.4, which
// the stack's generator turns into the service at daemon-reload — probes
// it cold, and wants `socktui list --json` to recognise the service as a
// container and to name, on the Quadlet stack only, the .container file
// it came from (its SourcePath, as the stack's systemctl shows it).
func TestNewActivatesOnEveryStack(t *testing.T) {
	sandboxtest.OnStacks(t, testNewActivatesOnEveryStack)
}

func testNewActivatesOnEveryStack(t *testing.T, s *sandbox.Sandbox) {
	format := map[sandbox.Stack]string{sandbox.StackHost: "service", sandbox.StackTrixie: "quadlet"}[s.Stack]
	bin := testbin.Build(t, "cmd/socktui")
	tag := echotest.Image(t, s, bin, "stacknew", echo.Subcommand)
	name := newName("stack-" + format)
	echotest.RemoveContainerAtCleanup(t, s, name)
	t.Cleanup(func() { s.Systemctl(t.Context(), "stop", name+".socket", name+".service").Run() })

	runNewUntilBound(t, s, bin, []string{name, "--image", tag, "--format", format}, func(port, _ int) []string {
		return []string{"tcp:127.0.0.1:" + strconv.Itoa(port)}
	})
	out, code := runSocktui(t, s, bin, "probe", "--json", "--timeout", "3s", "--cold-timeout", "30s", name)
	var rs []jsonResult
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if len(rs) != 1 || rs[0].Outcome != "ok" || !rs[0].Cold || rs[0].Kind != "echo" || code != ExitOK {
		t.Fatalf("probe of %s (%s) = %+v, exit %d; want one cold echo ok, exit 0", name, format, rs, code)
	}
	t.Logf("%s %s: cold echo in %.1f ms", s.Stack, format, rs[0].RTTms)

	out, code = runSocktui(t, s, bin, "list", "--json", name)
	var socks []unit.Socket
	if err := json.Unmarshal(out, &socks); err != nil || code != ExitOK {
		t.Fatalf("socktui list --json %s: exit %d, %v in\n%s", name, code, err, out)
	}
	if len(socks) != 1 || len(socks[0].Services) != 1 {
		t.Fatalf("socktui list --json %s = %+v, want one socket with one service", name, socks)
	}
	svc := socks[0].Services[0]
	if svc.Container != name {
		t.Errorf("service %s: container %q, want %q", svc.Unit, svc.Container, name)
	}
	want := ""
	if format == "quadlet" {
		want = filepath.Join(s.Home, ".config", "containers", "systemd", name+".container")
	}
	if svc.Source != want {
		t.Errorf("service %s: source %q, want %q", svc.Unit, svc.Source, want)
	}
	if got := strings.TrimSpace(sandboxtest.Systemctl(t, s, "show", "-p", "SourcePath", "--value", svc.Unit)); got != svc.Source {
		t.Errorf("the stack's systemctl shows SourcePath %q, socktui list %q", got, svc.Source)
	}

	if out, code := runSocktui(t, s, bin, "rm", name); code != ExitOK {
		t.Fatalf("socktui rm: exit %d\n%s", code, out)
	}
	assertGone(t, s, name)
}
