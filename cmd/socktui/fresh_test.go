package main_test

import (
	"context"
	"debug/elf"
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
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// TestDemoFromGoInstall is a Go user on a fresh machine: `go install
// ./cmd/socktui` into an empty GOBIN, then that binary alone, with no
// socktui-echo anywhere in PATH and no bin/ of the repository, runs
// `socktui demo --sandbox` in tmux to the screen with the echo unit
// listening, echoes through it, and quits with q leaving nothing behind.
// Where Podman is installed the demo must run in container mode, its image
// built from the installed binary (dynamically linked when cgo is on, as it
// is wherever gcc is installed).
func TestDemoFromGoInstall(t *testing.T) {
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	sandboxtest.Need(t, "tmux", "tmux")
	bin := testbin.Install(t, "cmd/socktui")
	if f, err := elf.Open(bin); err == nil {
		dynamic := false
		for _, p := range f.Progs {
			dynamic = dynamic || p.Type == elf.PT_INTERP
		}
		f.Close()
		t.Logf("go install built %s (dynamically linked: %v)", bin, dynamic)
	}
	path := freshPath(bin)
	_, podmanErr := exec.LookPath("podman")
	// An image of this very binary left by an earlier run would hide the
	// build: remove it before, and after.
	removeDemoImage(t, bin)
	t.Cleanup(func() { removeDemoImage(t, bin) })

	x := &tmux{t: t, session: fmt.Sprintf("socktui-fresh-%d", os.Getpid())}
	log := filepath.Join(t.TempDir(), "stderr")
	home := t.TempDir() // nothing of the repository's around it
	cmd := fmt.Sprintf("cd %s && exec %s demo --sandbox 2>%s", shellQuote(home), shellQuote(bin), shellQuote(log))
	x.run("new-session", "-d", "-s", x.session, "-x", "150", "-y", "45",
		"-e", "TERM=xterm-256color", "-e", "PATH="+path, cmd)
	x.endWithTest(log)

	x.waitFor("the demo's echo unit listening", 120*time.Second,
		regexp.MustCompile(`socktui-echo\.socket +\[idle\]`))
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if podmanErr == nil && !strings.Contains(string(b), "(container mode)") {
		t.Errorf("podman is installed but the demo did not run in container mode; stderr:\n%s", b)
	}
	// The installed binary serves: the first connection activates the
	// echo service (in the container built from that binary) and echoes.
	port := regexp.MustCompile(`socktui-echo\.socket listening on port (\d+)`).FindSubmatch(b)
	if port == nil {
		t.Fatalf("the demo did not say its port; stderr:\n%s", b)
	}
	echotest.Echoes(t, "127.0.0.1:"+string(port[1]), "hello from a fresh machine\n")
	x.waitFor("the echo unit active after a connection", 60*time.Second,
		regexp.MustCompile(`socktui-echo\.socket +\[active\]`))

	x.quit(60 * time.Second)
	if podmanErr == nil {
		// By image, not by name: every demo's container is named
		// socktui-echo, and another test's may be on its way out.
		tag, _ := echo.ImageTag(bin, []string{echo.Subcommand})
		out, err := exec.Command("podman", "ps", "-a", "--filter", "ancestor="+tag, "--format", "{{.Names}}").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("podman ps after quit: %q (%v), want no container of %s", out, err, tag)
		}
	}
	if b, err = os.ReadFile(log); err != nil {
		t.Fatal(err)
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

// freshPath is this process's PATH without the repository's bin/ and
// without any folder that holds a socktui or socktui-echo other than bin:
// the PATH of a machine that has only what `go install` made.
func freshPath(bin string) string {
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || dir == filepath.Dir(bin) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "go.mod")); err == nil && filepath.Base(dir) == "bin" {
			continue // a repository's bin/
		}
		found := false
		for _, name := range []string{"socktui", "socktui-echo"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				found = true
			}
		}
		if !found {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}

// removeDemoImage removes the image `bin demo` builds in container mode
// (named by bin's digest, so each build of socktui has its own), when
// Podman is installed.
func removeDemoImage(t *testing.T, bin string) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		return
	}
	tag, err := echo.ImageTag(bin, []string{echo.Subcommand})
	if err == nil {
		err = echo.RemoveImage(context.Background(), tag, nil)
	}
	if err != nil {
		t.Error(err)
	}
}
