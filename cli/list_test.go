package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/cli"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// getenvOf serves an environment given as KEY=value lines.
func getenvOf(env []string) func(string) string {
	return func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
}

func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code = cli.Run(ctx, &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: getenvOf(env)}, args)
	return code, out.String(), errb.String()
}

// TestListAndActionUsage covers bad usage (exit 2) and a manager that does
// not answer (exit 1, with a hint to socktui demo); no systemd is needed.
func TestListAndActionUsage(t *testing.T) {
	env := []string{"XDG_RUNTIME_DIR=" + t.TempDir()}
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"list", "--bogus"}, cli.ExitUsage, "unknown flag: --bogus"},
		{[]string{"list", "a b"}, cli.ExitUsage, "invalid unit name or pattern"},
		{[]string{"list", "[abc"}, cli.ExitUsage, "invalid unit name or pattern"},
		{[]string{"start"}, cli.ExitUsage, "needs at least one unit"},
		{[]string{"stop", "web*"}, cli.ExitUsage, "not patterns"},
		{[]string{"restart", "x;reboot"}, cli.ExitUsage, "invalid unit name"},
		{[]string{"reset-failed", "--nope", "x"}, cli.ExitUsage, "unknown flag: --nope"},
		{[]string{"list"}, cli.ExitFailure, "socktui demo"},
		{[]string{"start", "echo"}, cli.ExitFailure, "no systemd manager answered"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, env, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.err) {
			t.Errorf("socktui %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.err)
		}
	}
	code, stdout, _ := runCLI(t, env, "list", "--help")
	if code != cli.ExitOK || !strings.Contains(stdout, "--json") {
		t.Errorf("list --help: exit %d, %q", code, stdout)
	}
}

func show(t *testing.T, s *sandbox.Sandbox, unit string) map[string]string {
	t.Helper()
	m := map[string]string{}
	out := sandboxtest.Systemctl(t, s, "show", unit, "-p", "Description,LoadState,ActiveState,SubState,Result,Accept,Listen,Triggers,NConnections,NAccepted,NRefused,MainPID,UnitFileState")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		if old := m[k]; old != "" {
			v = old + "\n" + v
		}
		m[k] = v
	}
	return m
}

// jsonSocket is what `socktui list --json` promises, decoded independently
// of the systemdbus types.
type jsonSocket struct {
	Unit         string `json:"unit"`
	Description  string `json:"description"`
	LoadState    string `json:"loadState"`
	State        string `json:"state"`
	ActiveState  string `json:"activeState"`
	SubState     string `json:"subState"`
	Result       string `json:"result"`
	Accept       bool   `json:"accept"`
	Listen       []struct{ Type, Address string }
	Triggers     []string `json:"triggers"`
	NConnections uint32   `json:"nConnections"`
	NAccepted    uint32   `json:"nAccepted"`
	NRefused     uint32   `json:"nRefused"`
	Services     []struct {
		Unit        string `json:"unit"`
		ActiveState string `json:"activeState"`
		SubState    string `json:"subState"`
		Result      string `json:"result"`
		MainPID     uint32 `json:"mainPID"`
		Container   string `json:"container"`
	} `json:"services"`
	// UnitFileState is compared with systemctl's for every socket.
	UnitFileState string `json:"unitFileState"`
}

// TestListJSONAgreesWithSystemctl runs the real binary against a sandbox
// holding sockets in every state and compares each field of `socktui list
// --json --all` with `systemctl --user show`.
func TestListJSONAgreesWithSystemctl(t *testing.T) {
	sandboxtest.OnStacks(t, testListJSONAgreesWithSystemctl)
}

func testListJSONAgreesWithSystemctl(t *testing.T, s *sandbox.Sandbox) {
	bin := testbin.Build(t, "cmd/socktui")
	dir := filepath.Join(s.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	busyPort, acceptPort := sandboxtest.FreePort(t), sandboxtest.FreePort(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	units := map[string]string{
		"idle.socket":     fmt.Sprintf("[Unit]\nDescription=an idle socket\n[Socket]\nListenStream=127.0.0.1:%d\nListenDatagram=127.0.0.1:%d\n", sandboxtest.FreePort(t), sandboxtest.FreePort(t)),
		"idle.service":    "[Service]\nExecStart=/bin/sleep infinity\n",
		"busy.socket":     fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nListenFIFO=%s\n", busyPort, fifo),
		"busy.service":    "[Service]\nExecStart=/bin/sleep infinity\n",
		"accept.socket":   fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\n", acceptPort),
		"accept@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
		"pod.socket":      fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nService=pod-web.service\n", sandboxtest.FreePort(t)),
		"pod-web.service": "[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n\nExecStart=/usr/bin/podman run --rm --name socktui-cli-test-web localhost/none\n",
		"stopped.socket":  fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t)),
	}
	for name, body := range units {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sandboxtest.Systemctl(t, s, "daemon-reload")
	sandboxtest.Systemctl(t, s, "start", "idle.socket", "busy.socket", "accept.socket", "pod.socket")
	c1, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(busyPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(acceptPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	deadline := time.Now().Add(15 * time.Second)
	for show(t, s, "busy.service")["ActiveState"] != "active" || show(t, s, "accept.socket")["NConnections"] != "1" {
		if time.Now().After(deadline) {
			t.Fatal("busy.service or the accept.socket connection never came up")
		}
		time.Sleep(10 * time.Millisecond)
	}

	cmd := exec.Command(bin, "list", "--json", "--all")
	cmd.Env = s.Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("socktui list --json --all: %v\n%s", err, stderr.String())
	}
	var socks []jsonSocket
	if err := json.Unmarshal(out, &socks); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	byName := map[string]jsonSocket{}
	for _, sk := range socks {
		byName[sk.Unit] = sk
	}
	wantState := map[string]string{"idle.socket": "idle", "busy.socket": "active", "accept.socket": "active",
		"pod.socket": "idle", "stopped.socket": "stopped"}
	for name, state := range wantState {
		sk, ok := byName[name]
		if !ok {
			t.Errorf("%s missing from socktui list --json --all", name)
			continue
		}
		if sk.State != state {
			t.Errorf("%s: state %s, want %s", name, sk.State, state)
		}
	}
	yesno := map[bool]string{true: "yes", false: "no"}
	for _, sk := range socks {
		p := show(t, s, sk.Unit)
		var listen []string
		for _, l := range sk.Listen {
			listen = append(listen, l.Address+" ("+l.Type+")")
		}
		got := map[string]string{
			"Description": sk.Description, "LoadState": sk.LoadState, "ActiveState": sk.ActiveState,
			"SubState": sk.SubState, "Result": sk.Result, "Accept": yesno[sk.Accept],
			"Listen": strings.Join(listen, "\n"), "Triggers": strings.Join(sk.Triggers, " "),
			"NConnections": strconv.Itoa(int(sk.NConnections)), "NAccepted": strconv.Itoa(int(sk.NAccepted)),
			"NRefused": strconv.Itoa(int(sk.NRefused)), "UnitFileState": sk.UnitFileState,
		}
		for k, v := range got {
			if p[k] != v {
				t.Errorf("%s %s: socktui %q, systemctl %q", sk.Unit, k, v, p[k])
			}
		}
		if len(sk.Services) != len(sk.Triggers) {
			t.Errorf("%s: %d services for triggers %v", sk.Unit, len(sk.Services), sk.Triggers)
		}
		for _, svc := range sk.Services {
			p := show(t, s, svc.Unit)
			got := map[string]string{"ActiveState": svc.ActiveState, "SubState": svc.SubState, "Result": svc.Result,
				"MainPID": strconv.Itoa(int(svc.MainPID))}
			for k, v := range got {
				if p[k] != v {
					t.Errorf("%s %s: socktui %q, systemctl %q", svc.Unit, k, v, p[k])
				}
			}
			want := ""
			if svc.Unit == "pod-web.service" {
				want = "socktui-cli-test-web"
			}
			if svc.Container != want {
				t.Errorf("%s: container %q, want %q", svc.Unit, svc.Container, want)
			}
		}
	}

	// Without --all, only active and failed sockets; a pattern narrows it.
	code, stdout, stderrS := runCLI(t, s.Env(), "list", "--json", "*.socket")
	if code != cli.ExitOK {
		t.Fatalf("list: %d %s", code, stderrS)
	}
	var active []jsonSocket
	if err := json.Unmarshal([]byte(stdout), &active); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(active, func(s jsonSocket) bool { return s.Unit == "stopped.socket" }) {
		t.Errorf("list without --all shows stopped.socket")
	}
	for _, sk := range active {
		if want := show(t, s, sk.Unit)["UnitFileState"]; sk.UnitFileState != want {
			t.Errorf("list without --all: %s UnitFileState %q, systemctl %q", sk.Unit, sk.UnitFileState, want)
		}
	}
	code, stdout, _ = runCLI(t, s.Env(), "list", "busy")
	if code != cli.ExitOK || !strings.Contains(stdout, "busy.socket") || !strings.Contains(stdout, fifo) ||
		!strings.Contains(stdout, "active/running") || strings.Contains(stdout, "idle.socket") {
		t.Errorf("list busy: exit %d\n%s", code, stdout)
	}
	t.Logf("socktui list busy:\n%s", stdout)
}

// TestActionsCLI runs start, stop, restart and reset-failed through the real
// binary and checks exit statuses and the manager's state.
func TestActionsCLI(t *testing.T) { sandboxtest.OnStacks(t, testActionsCLI) }

func testActionsCLI(t *testing.T, s *sandbox.Sandbox) {
	bin := testbin.Build(t, "cmd/socktui")
	dir := filepath.Join(s.Home, ".config", "systemd", "user")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "act.socket"), fmt.Appendf(nil, "[Socket]\nListenStream=127.0.0.1:%d\n", sandboxtest.FreePort(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "act.service"), []byte("[Service]\nExecStart=/bin/sleep infinity\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sandboxtest.Systemctl(t, s, "daemon-reload")
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = s.Env()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	active := func(unit string) string {
		return strings.TrimSpace(sandboxtest.Systemctl(t, s, "show", unit, "-p", "ActiveState", "--value"))
	}
	steps := []struct {
		args  []string
		code  int
		state string // act.socket's ActiveState after the step
	}{
		{[]string{"start", "act"}, 0, "active"},
		{[]string{"stop", "act.socket"}, 0, "inactive"},
		{[]string{"restart", "act"}, 0, "active"},
		{[]string{"reset-failed", "act"}, 0, "active"},
		{[]string{"start", "act", "missing"}, 1, "active"},
		{[]string{"stop", "act", "--system=false"}, 0, "inactive"},
		{[]string{"start"}, 2, "inactive"},
	}
	for _, st := range steps {
		code, out := run(st.args...)
		if code != st.code {
			t.Errorf("socktui %s: exit %d, want %d\n%s", strings.Join(st.args, " "), code, st.code, out)
		}
		if got := active("act.socket"); got != st.state {
			t.Errorf("after socktui %s: act.socket is %s, want %s", strings.Join(st.args, " "), got, st.state)
		}
		if st.code == 1 && !strings.Contains(out, "missing.socket") {
			t.Errorf("socktui %s: the error does not name the unit: %s", strings.Join(st.args, " "), out)
		}
	}
}
