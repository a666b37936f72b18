package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/authoring/authoringtest"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// TestNewLighttpdInSandbox: a real third-party server, Debian's lighttpd
// in an image built offline from this machine's files, created by socktui
// new (the classic service, and transient units), answers socktui's own
// http probe, chosen automatically from the image's name, with 200 from a
// cold socket; it serves the image's document, from a container; socktui
// rm leaves nothing, even though lighttpd fails its service as it stops
// with a connection open.
func TestNewLighttpdInSandbox(t *testing.T) {
	s := sandboxtest.Start(t)
	bin := testbin.Build(t, "cmd/socktui")
	tag := authoringtest.LighttpdImage(t, s, "new")
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"service", []string{"--format", "service"}},
		{"transient", []string{"--transient"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			name := newName("lighttpd-" + mode.name)
			echotest.RemoveContainerAtCleanup(t, s, name)
			t.Cleanup(func() { s.Systemctl(context.Background(), "stop", name+".socket", name+".service").Run() })
			port := runNewUntilBound(t, s, bin, append([]string{name, "--image", tag}, mode.args...), func(port, _ int) []string {
				return []string{"tcp:127.0.0.1:" + strconv.Itoa(port)}
			})
			if state := serviceState(t, s, name+".service"); state != "inactive" {
				t.Fatalf("%s.service is %s before any connection, want inactive", name, state)
			}
			r := probeOne(t, s, bin, name)
			if r.Kind != "http" || r.Outcome != "ok" || r.Status != "HTTP/1.1 200 OK" || !r.Cold {
				t.Errorf("lighttpd, cold: %+v, want a cold http ok with HTTP/1.1 200 OK", r)
			}
			if got := containerImage(t, s, name); got != tag {
				t.Errorf("container %s runs image %q, want %s", name, got, tag)
			}
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Server"), "lighttpd/") || string(body) != authoringtest.Index {
				t.Errorf("GET /: %s, Server %q, body %q; want 200 from lighttpd with the image's index", resp.Status, resp.Header.Get("Server"), body)
			}
			if r := probeOne(t, s, bin, name); r.Kind != "http" || r.Outcome != "ok" || r.Cold {
				t.Errorf("lighttpd, warm: %+v, want a warm http ok", r)
			}

			// The client's keep-alive connection is still open: lighttpd
			// 1.4.69 then exits 1 on SIGTERM, which leaves its service
			// failed; rm must forget it all the same.
			out, code := runSocktui(t, s, bin, "rm", name)
			if code != ExitOK {
				t.Fatalf("socktui rm: exit %d\n%s", code, out)
			}
			assertGone(t, s, name)
		})
	}
}

// probeOne probes the unit name's one endpoint with socktui probe --json
// (the kind chosen automatically) and returns its result.
func probeOne(t *testing.T, s *sandbox.Sandbox, bin, name string) jsonResult {
	t.Helper()
	out, code := runSocktui(t, s, bin, "probe", "--json", "--timeout", "5s", "--cold-timeout", "60s", name)
	var rs []jsonResult
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 1 {
		t.Fatalf("socktui probe %s: %v, results in\n%s", name, err, out)
	}
	if code != ExitOK {
		t.Errorf("socktui probe %s: exit %d for %+v", name, code, rs[0])
	}
	t.Logf("probe %s: %+v", name, rs[0])
	return rs[0]
}

// containerImage is the image of the running container name, "" when
// there is none.
func containerImage(t *testing.T, s *sandbox.Sandbox, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", "ps", "--filter", "name=^"+name+"$", "--format", "{{.Image}}")
	cmd.Env = s.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman ps: %v", err)
	}
	return strings.TrimSpace(string(out))
}
