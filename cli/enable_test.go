package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socktui/socktui/cli"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestEnableDisableCLI runs enable and disable, with and without --now, on
// a sandbox and checks exit statuses, what is said on stderr, and the
// manager's view (is-enabled, ActiveState) and list's FILE column after
// each step.
func TestEnableDisableCLI(t *testing.T) {
	s := sandboxtest.Start(t)
	dir := t.TempDir()
	sandboxtest.InstallUnits(t, s, map[string]string{
		"en.socket":     fmt.Sprintf("[Socket]\nListenStream=%s\n[Install]\nWantedBy=sockets.target\n", filepath.Join(dir, "en.sock")),
		"en.service":    "[Service]\nExecStart=/bin/sleep infinity\n",
		"static.socket": fmt.Sprintf("[Socket]\nListenStream=%s\n", filepath.Join(dir, "static.sock")),
	})
	link := filepath.Join(s.Home, ".config", "systemd", "user", "sockets.target.wants", "en.socket")
	state := func(name string) (enabled, active string) {
		out, _ := s.Systemctl(t.Context(), "is-enabled", name).Output()
		return strings.TrimSpace(string(out)),
			strings.TrimSpace(sandboxtest.Systemctl(t, s, "show", name, "-p", "ActiveState", "--value"))
	}
	steps := []struct {
		args            []string
		code            int
		stderr          string
		enabled, active string // en.socket's after the step
	}{
		{[]string{"enable", "en"}, cli.ExitOK, "Created symlink " + link + " → ", "enabled", "inactive"},
		{[]string{"enable", "en.socket"}, cli.ExitOK, "", "enabled", "inactive"},
		{[]string{"disable", "en"}, cli.ExitOK, `Removed "` + link + `".`, "disabled", "inactive"},
		{[]string{"enable", "--now", "en"}, cli.ExitOK, "Created symlink", "enabled", "active"},
		{[]string{"disable", "en", "--now"}, cli.ExitOK, "Removed", "disabled", "inactive"},
		{[]string{"enable", "static"}, cli.ExitOK, "no [Install] section", "disabled", "inactive"},
		{[]string{"enable", "missing"}, cli.ExitFailure, "missing.socket", "disabled", "inactive"},
		{[]string{"disable", "en", "missing"}, cli.ExitFailure, "missing.socket", "disabled", "inactive"},
		{[]string{"enable"}, cli.ExitUsage, "needs at least one unit", "disabled", "inactive"},
		{[]string{"disable", "e*"}, cli.ExitUsage, "not patterns", "disabled", "inactive"},
	}
	for _, st := range steps {
		code, stdout, stderr := runCLI(t, s.Env(), st.args...)
		what := "socktui " + strings.Join(st.args, " ")
		if code != st.code || !strings.Contains(stderr, st.stderr) || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q", what, code, stdout, stderr, st.code, st.stderr)
		}
		if enabled, active := state("en.socket"); enabled != st.enabled || active != st.active {
			t.Errorf("after %s: en.socket is %s and %s, want %s and %s", what, enabled, active, st.enabled, st.active)
		}
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("the link is left behind: %v", err)
	}

	// list's FILE column follows.
	runCLI(t, s.Env(), "enable", "en")
	code, stdout, stderr := runCLI(t, s.Env(), "list", "--all", "en", "static")
	if code != cli.ExitOK {
		t.Fatalf("list: %d %s", code, stderr)
	}
	header := strings.Fields(strings.SplitN(stdout, "\n", 2)[0])
	col := -1
	for i, h := range header {
		if h == "FILE" {
			col = i
		}
	}
	got := map[string]string{}
	for _, line := range strings.Split(stdout, "\n")[1:] {
		f := strings.Fields(line)
		if col >= 0 && len(f) > col && strings.HasSuffix(f[3], ".socket") {
			got[f[3]] = f[col]
		}
	}
	if got["en.socket"] != "enabled" || got["static.socket"] != "static" {
		t.Errorf("list --all: FILE column %v (header %v), want en.socket enabled, static.socket static\n%s", got, header, stdout)
	}
}
