package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// TestNewFormCreatesProbesAndRemoves drives the real binary's UI in tmux
// on a sandbox manager with real Podman: n opens the form, the fields are
// typed (the echo image completed with tab from the local images), the
// preview shows the files, enter writes and starts them and the new socket
// is selected; p probes it (the first connection starts the container),
// and D with y removes it, leaving no file, unit or container.
func TestNewFormCreatesProbesAndRemoves(t *testing.T) {
	f := newFixture(t)
	tag := echotest.Image(t, f.s, f.bin, "tuinew", echo.Subcommand)
	name := uniqueName(t, "tuinew")
	sock := name + ".socket"
	layout := authoring.Layout{ConfigHome: filepath.Join(f.s.Home, ".config")}
	paths := authoring.Paths(name, layout, false)
	echotest.RemoveContainerAtCleanup(t, f.s, name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		f.s.Systemctl(ctx, "stop", sock, name+".service").Run()
		if _, skipped, _ := authoring.RemoveOwned(paths); len(skipped) > 0 {
			t.Logf("left files socktui did not write: %q", skipped)
		}
		f.s.Systemctl(ctx, "daemon-reload").Run()
	})

	x := f.ui()
	x.listTitle("the UI's first frame")
	x.keys("n")
	x.waitFor("the form", 30*time.Second, regexp.MustCompile(`▸ \[New socket-activated container\]`), regexp.MustCompile(`> name +█`))
	x.keys("-l", name)
	x.waitFor("the name typed", 30*time.Second, regexp.MustCompile(`> name +`+regexp.QuoteMeta(name)+`█`))
	x.keys("Tab")
	x.waitFor("the image field", 30*time.Second, regexp.MustCompile(`> image +█`))
	// The registry left out, the image's name is enough to complete it.
	typed := strings.TrimPrefix(tag[:strings.LastIndex(tag, ":")], "localhost/")
	x.keys("-l", typed)
	x.waitFor("the image's name typed, its tag offered", 30*time.Second,
		regexp.MustCompile(`> image +`+regexp.QuoteMeta(typed)+`█`), regexp.MustCompile(`tab: .*`+regexp.QuoteMeta(tag)))
	x.keys("Tab")
	x.waitFor("the image completed", 30*time.Second, regexp.MustCompile(`> image +`+regexp.QuoteMeta(tag)+`█`))
	x.keys("Tab")
	x.waitFor("the listen field", 30*time.Second, regexp.MustCompile(`> listen +█`))

	var port int
	for attempt := 1; ; attempt++ {
		port = sandboxtest.FreePort(t)
		listen := fmt.Sprintf("tcp:127.0.0.1:%d unix:%%h/%s.sock", port, name)
		x.keys("-l", listen)
		x.waitFor("the listen entries typed", 30*time.Second, regexp.MustCompile(`> listen +`+regexp.QuoteMeta(listen)+`█`))
		x.keys("Enter")
		preview := x.waitFor("the preview of the files", 60*time.Second,
			regexp.MustCompile(`▸ \[New `+regexp.QuoteMeta(name)+`: the files socktui new writes\]`),
			regexp.MustCompile(`(?m)^## `+regexp.QuoteMeta(paths[0])+` *$`),
			regexp.MustCompile(fmt.Sprintf(`ListenStream=127\.0\.0\.1:%d`, port)))
		t.Logf("the preview:\n%s", preview)
		for _, p := range paths {
			if _, err := os.Lstat(p); err == nil {
				t.Fatalf("%s exists before the preview was confirmed", p)
			}
		}
		x.keys("Enter")
		created := regexp.MustCompile(`(?m)^>\S? ?` + regexp.QuoteMeta(sock))
		bound := regexp.MustCompile(`error: .*already bound`)
		switch i, screen := x.waitAny("the unit created and selected", 120*time.Second, created, bound); i {
		case 0:
			t.Logf("created:\n%s", screen)
		case 1:
			if attempt == 3 {
				t.Fatalf("the port was taken three times:\n%s", screen)
			}
			x.keys("C-u") // the listen field has the keyboard: clear it
			x.waitFor("the listen field emptied", 30*time.Second, regexp.MustCompile(`> listen +█`))
			continue
		}
		break
	}
	x.waitFor("new's report in the timeline", 30*time.Second, regexp.MustCompile(regexp.QuoteMeta(sock)+` listening, triggers `+regexp.QuoteMeta(name)+`\.service`))
	owned := 0
	for _, p := range paths {
		if ours, err := authoring.Owned(p); err != nil {
			t.Fatal(err)
		} else if ours {
			owned++
		}
	}
	if owned < 2 {
		t.Fatalf("%d files with socktui's marker among %q, want the socket and its service", owned, paths)
	}

	x.keys("p")
	x.waitFor("the probe of both endpoints ok", 120*time.Second, regexp.MustCompile(`probe run \d+ finished: 2/2 ok`),
		regexp.MustCompile(fmt.Sprintf(`ok +.*cold +tcp4 127\.0\.0\.1:%d`, port)))

	x.keys("D")
	x.waitFor("the confirmation", 30*time.Second, regexp.MustCompile(`Remove `+regexp.QuoteMeta(sock)+`\? .*\[y/N\]`))
	x.keys("y")
	x.waitFor("the removal done", 120*time.Second, regexp.MustCompile(`remove `+regexp.QuoteMeta(sock)+`: done`))
	x.waitGone("the unit in the list", 30*time.Second, regexp.MustCompile(regexp.QuoteMeta(sock)+` +\[`))
	x.quit(30 * time.Second)

	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is left", p)
		}
	}
	for _, u := range []string{sock, name + ".service"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := f.s.Systemctl(ctx, "show", "-p", "LoadState", "-p", "ActiveState", "--value", u).Output()
		cancel()
		if err != nil {
			t.Fatalf("systemctl show %s: %v", u, err)
		}
		if got := strings.Fields(string(out)); len(got) != 2 || got[0] != "not-found" || got[1] != "inactive" {
			t.Errorf("%s after D: LoadState, ActiveState %q, want not-found inactive", u, got)
		}
	}
	cmd := exec.Command("podman", "container", "exists", name)
	cmd.Env = f.s.Env()
	if err := cmd.Run(); err == nil {
		t.Errorf("container %s is left", name)
	}
}

// waitAny polls the screen until one of patterns matches and returns its
// index and the screen, or fails the test with the last screen.
func (x *tmux) waitAny(what string, timeout time.Duration, patterns ...*regexp.Regexp) (int, string) {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := x.screen()
		for i, p := range patterns {
			if p.MatchString(s) {
				return i, s
			}
		}
		if time.Now().After(deadline) || !x.alive() {
			x.t.Fatalf("waiting for %s: none of %q matched; screen:\n%s", what, patterns, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
