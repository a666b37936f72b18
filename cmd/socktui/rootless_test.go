package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// The core end-to-end runs in both sandbox modes (sandboxtest.InModes):
// root, and rootless — the seed's setting, a normal user's systemd --user
// with rootless Podman — where socktui itself runs as the sandbox's user,
// as a user would (s.Command, s.AsUser), and StartRootless checks that the
// host is untouched and the user gone afterwards.

// asUser runs socktui ARGS as s's client (its user, in rootless mode) and
// returns stdout, stderr and the exit status.
func asUser(t *testing.T, s *sandbox.Sandbox, bin string, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, 2*time.Minute, args, func(ctx context.Context) *exec.Cmd { return s.Command(ctx, bin, args...) })
}

// listOne is `socktui list --all --json NAME` as the user: the one socket.
func listOne(t *testing.T, s *sandbox.Sandbox, bin, name string) unit.Socket {
	t.Helper()
	out, errOut, code := asUser(t, s, bin, "list", "--all", "--json", name)
	if code != 0 {
		t.Fatalf("socktui list --json %s: exit %d\n%s", name, code, errOut)
	}
	var socks []unit.Socket
	if err := json.Unmarshal([]byte(out), &socks); err != nil || len(socks) != 1 || socks[0].Unit != name {
		t.Fatalf("socktui list --json %s = %s (%v), want that one socket", name, out, err)
	}
	return socks[0]
}

type probeLine struct {
	Network string `json:"network"`
	Outcome string `json:"outcome"`
	Cold    bool   `json:"cold"`
	Error   string `json:"error"`
}

// TestModesCLI runs socktui's CLI as the sandbox's client on the echo
// workload in container mode: list, a cold probe that starts the container
// and a warm one, and the actions stop, start and restart.
func TestModesCLI(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	bin := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	sandboxtest.InModes(t, func(t *testing.T, s *sandbox.Sandbox) {
		tag := echotest.ImageIn(t, s, echoBin, "modes")
		spec := echo.Spec{Name: uniqueName(t, "modes"), Mode: echo.ModeContainer, Image: tag,
			RuntimeDir: s.RuntimeDir, Port: sandboxtest.FreePort(t)}
		u, err := spec.Units()
		if err != nil {
			t.Fatal(err)
		}
		echotest.RemoveContainerIn(t, s, spec.Name)
		sandboxtest.InstallUnits(t, s, map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()})
		sandboxtest.Systemctl(t, s, "start", u.Name)
		t.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })

		if got := listOne(t, s, bin, u.Name); got.State != unit.StateIdle || len(got.Listen) != 4 {
			t.Errorf("listed before any connection: state %q, %d listen entries; want idle, 4", got.State, len(got.Listen))
		}
		for i, want := range []bool{true, false} { // cold, then warm
			out, errOut, code := asUser(t, s, bin, "probe", "--json", u.Name)
			var lines []probeLine
			if err := json.Unmarshal([]byte(out), &lines); err != nil || code != 0 || len(lines) != 4 {
				t.Fatalf("probe %d: exit %d, %d results (%v)\n%s\n%s", i+1, code, len(lines), err, out, errOut)
			}
			for _, l := range lines {
				if l.Outcome != "ok" || l.Cold != want {
					t.Errorf("probe %d of %s: %s cold=%v (%s), want ok cold=%v", i+1, l.Network, l.Outcome, l.Cold, l.Error, want)
				}
			}
		}
		if got := listOne(t, s, bin, u.Name); got.State != unit.StateActive || len(got.Services) == 0 || got.Services[0].Container != spec.Name {
			t.Errorf("listed after the probes: state %q, services %+v; want active with container %s", got.State, got.Services, spec.Name)
		}
		if s.User != nil {
			assertRunsAsUser(t, s)
		}

		for _, step := range []struct {
			action string
			want   unit.State
		}{{"stop", unit.StateStopped}, {"start", unit.StateIdle}, {"restart", unit.StateIdle}} {
			if _, errOut, code := asUser(t, s, bin, step.action, u.Name); code != 0 {
				t.Fatalf("socktui %s %s: exit %d\n%s", step.action, u.Name, code, errOut)
			}
			if got := listOne(t, s, bin, u.Name); got.State != step.want {
				t.Errorf("after socktui %s: state %q, want %q", step.action, got.State, step.want)
			}
		}
	})
}

// assertRunsAsUser checks that every process of the rootless sandbox but
// its journald runs as its user or one of the user's subordinate UIDs.
func assertRunsAsUser(t *testing.T, s *sandbox.Sandbox) {
	t.Helper()
	for _, pid := range sandbox.Processes(s.Dir) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		name, uid := "", ""
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Name:" {
				name = f[1]
			} else if len(f) > 1 && f[0] == "Uid:" {
				uid = f[1]
			}
		}
		if uid == "0" && name != "systemd-journal" {
			t.Errorf("process %d (%s) of the rootless sandbox runs as root", pid, name)
		}
	}
}

// userTmux starts socktui ARGS in a tmux session as s's client: as its user
// (setpriv, s.AsUser) with only s's environment, like a user's terminal. Its
// stderr goes to the returned file.
func userTmux(t *testing.T, s *sandbox.Sandbox, env []string, bin string, args ...string) (*tmux, string) {
	t.Helper()
	return startUI(t, 150, 45, s.AsUser("env", "-i"), env, append([]string{bin}, args...)...)
}

// TestModesDemo runs `socktui demo` in tmux as the sandbox's client, for
// which the sandbox's manager is its user session: the demo must use that
// session (not start a sandbox of its own), run the echo workload in a
// container, and follow it live — P probes every endpoint and starts the
// container, x stops its service back to idle — and q removes what it made.
func TestModesDemo(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	bin := testbin.Build(t, "cmd/socktui")
	sandboxtest.InModes(t, func(t *testing.T, s *sandbox.Sandbox) {
		if s.User == nil {
			// Root's Podman storage outlives the sandbox; the user's goes
			// with its home.
			t.Cleanup(func() { removeDemoImage(t, bin) })
		}
		x, log := userTmux(t, s, s.Env(), bin, "demo")
		x.waitFor("the demo unit, idle, with the hint", 2*time.Minute,
			regexp.MustCompile(`socktui-echo\.socket`),
			regexp.MustCompile(`\[idle\]`),
			regexp.MustCompile(`press P to probe every endpoint`))
		x.keys("P")
		screen := x.waitFor("every endpoint ok and the service active", 90*time.Second,
			regexp.MustCompile(`(?m)^ +ok +.*tcp4 127\.0\.0\.1:\d+`),
			regexp.MustCompile(`(?m)^ +ok +.*tcp6 \[::1\]:\d+`),
			regexp.MustCompile(`(?m)^ +ok +.*udp4 127\.0\.0\.1:\d+`),
			regexp.MustCompile(`(?m)^ +ok +.*unix /\S+echo\.sock`),
			regexp.MustCompile(`socktui-echo\.socket +\[active\]`))
		t.Logf("after P:\n%s", screen)
		if s.User != nil {
			assertRunsAsUser(t, s)
		}
		x.keys("x")
		x.waitFor("the unit back to idle after x", 60*time.Second,
			regexp.MustCompile(`socktui-echo\.socket +\[idle\]`),
			regexp.MustCompile(`socktui-echo\.service inactive`))
		x.keys("q")
		deadline := time.Now().Add(60 * time.Second)
		for x.alive() {
			if time.Now().After(deadline) {
				t.Fatalf("socktui did not exit within 60s of q; screen:\n%s", x.screen())
			}
			time.Sleep(50 * time.Millisecond)
		}
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "using the user manager at "+s.RuntimeDir) {
			t.Errorf("the demo did not use the user session at %s; stderr:\n%s", s.RuntimeDir, b)
		}
		pm := regexp.MustCompile(`listening on port (\d+) \(container mode\)`).FindSubmatch(b)
		if pm == nil {
			t.Fatalf("the demo did not run in container mode; stderr:\n%s", b)
		}
		out := sandboxtest.Systemctl(t, s, "list-units", "--all", "--plain", "--no-legend", "socktui-echo*")
		if strings.TrimSpace(out) != "" {
			t.Errorf("the demo's units remain after q:\n%s", out)
		}
		ps, err := echotest.Podman(context.Background(), s, "ps", "-a", "--format", "{{.Names}}").CombinedOutput()
		if err != nil || strings.Contains(string(ps), "socktui-echo-"+string(pm[1])) {
			t.Errorf("podman ps after q: %q (%v), want no socktui-echo-%s", ps, err, pm[1])
		}
	})
}

// TestDemoWithoutSessionSaysWhatItNeeds runs `socktui demo` as a normal
// user (the rootless sandbox's, with none of its environment) that has no
// user session: it cannot start a private manager without root, so it must
// say in words what it needs and exit non-zero, leaving nothing behind.
func TestDemoWithoutSessionSaysWhatItNeeds(t *testing.T) {
	bin := testbin.Build(t, "cmd/socktui")
	s := sandboxtest.StartRootless(t)
	empty := t.TempDir() // an XDG_RUNTIME_DIR with no manager in it
	if err := os.Chown(empty, s.User.UID, s.User.GID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, runtimeDir string }{{"no XDG_RUNTIME_DIR", ""}, {"no manager in XDG_RUNTIME_DIR", empty}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.Home, "USER=" + s.User.Name, "TERM=dumb"}
			if c.runtimeDir != "" {
				env = append(env, "XDG_RUNTIME_DIR="+c.runtimeDir)
			}
			cmd := s.Command(ctx, bin, "demo")
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if strings.Contains(string(out), "starting a private") {
				t.Errorf("socktui demo without root says it starts a private manager:\n%s", out)
			}
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("socktui demo without a session: %v, want a non-zero exit\n%s", err, out)
			}
			why := "XDG_RUNTIME_DIR is not set"
			if c.runtimeDir != "" {
				why = "no manager listens on " + filepath.Join(c.runtimeDir, "systemd", "private")
			}
			for _, want := range []string{"no user manager is reachable (" + why + ")",
				"needs root", "run as root, or log in with a user session"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("socktui demo without a session does not say %q:\n%s", want, out)
				}
			}
			t.Logf("exit %d:\n%s", ee.ExitCode(), out)
		})
	}
}
