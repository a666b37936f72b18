package main_test

import (
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
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// TestDemoEndToEnd runs `socktui demo` in tmux against a private manager
// with the echo workload, probes every endpoint with P, stops the service
// with x, quits with q, and checks that nothing is left running.
func TestDemoEndToEnd(t *testing.T) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	sandboxtest.Need(t, "tmux", "tmux")
	bin := testbin.Build(t, "cmd/socktui")
	t.Cleanup(func() { removeDemoImage(t, bin) })

	x := &tmux{t: t, session: fmt.Sprintf("socktui-e2e-%d", os.Getpid())}
	log := filepath.Join(t.TempDir(), "stderr")
	cmd := fmt.Sprintf("%s demo --sandbox 2>%s", bin, log)
	x.run("new-session", "-d", "-s", x.session, "-x", "150", "-y", "45", "-e", "TERM=xterm-256color", cmd)
	x.endWithTest(log)

	x.waitFor("the demo unit, idle, with the hint", 90*time.Second,
		regexp.MustCompile(`socktui-echo\.socket`),
		regexp.MustCompile(`\[idle\]`),
		regexp.MustCompile(`press P to probe every endpoint`))

	x.keys("P")
	screen := x.waitFor("every endpoint ok and the service active", 60*time.Second,
		regexp.MustCompile(`(?m)^ +ok +.*tcp4 127\.0\.0\.1:\d+`),
		regexp.MustCompile(`(?m)^ +ok +.*tcp6 \[::1\]:\d+`),
		regexp.MustCompile(`(?m)^ +ok +.*udp4 127\.0\.0\.1:\d+`),
		regexp.MustCompile(`(?m)^ +ok +.*udp6 \[::1\]:\d+`),
		regexp.MustCompile(`(?m)^ +ok +.*unix /\S+echo\.sock`),
		regexp.MustCompile(`(?m)^ +ok +.*unixpacket /\S+`),
		regexp.MustCompile(`(?m)^ +unsupported +.*vsock \S+`),
		regexp.MustCompile(`socktui-echo\.socket +\[active\]`))
	t.Logf("after P:\n%s", screen)

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
	// The demo names its port (and so its container) and its private
	// manager's folder on stderr.
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if pm := regexp.MustCompile(`listening on port (\d+) \(container mode\)`).FindSubmatch(b); pm != nil {
		container := "socktui-echo-" + string(pm[1])
		out, err := exec.Command("podman", "ps", "-a", "--filter", "name=^"+container+"$", "--format", "{{.Names}}").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("podman ps after quit: %q (%v), want no %s container", out, err, container)
		}
	} else if _, err := exec.LookPath("podman"); err == nil {
		t.Errorf("the demo did not run in container mode though podman is here; stderr:\n%s", b)
	}
	m := regexp.MustCompile(`private manager ready in [^(]+\((\S+)\)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the demo did not say which sandbox it started; stderr:\n%s", b)
	}
	dir := string(m[1])
	if left := sandbox.Processes(dir); len(left) > 0 {
		t.Errorf("processes of the demo's sandbox still run after quit: %v", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo left its sandbox folder %s behind (%v)", dir, err)
	}
}
