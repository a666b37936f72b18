package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
)

// homeEnv is an environment whose HOME is a fresh folder.
func homeEnv(t *testing.T) (home string, getenv func(string) string) {
	home = t.TempDir()
	env := map[string]string{"HOME": home, "XDG_RUNTIME_DIR": filepath.Join(home, "run"), "PATH": os.Getenv("PATH")}
	return home, func(k string) string { return env[k] }
}

// TestUIAuthoringPreviewIsNewDryRun: the form's preview is socktui new
// --dry-run, files and refusals alike, and writes nothing.
func TestUIAuthoringPreviewIsNewDryRun(t *testing.T) {
	home, getenv := homeEnv(t)
	a := uiAuthoring{getenv: getenv}
	u := ui.NewUnit{Name: "web", Image: "localhost/socktui-echo:1", Listen: []string{"tcp:127.0.0.1:8080", "unix:%h/web.sock"}, Format: "service"}
	p, err := a.Preview(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	unitDir := filepath.Join(home, ".config", "systemd", "user")
	for _, want := range []string{
		"## " + filepath.Join(unitDir, "web.socket") + "\n# Written by socktui new",
		"ListenStream=127.0.0.1:8080\nListenStream=%h/web.sock\n",
		"## " + filepath.Join(unitDir, "web.service"),
		"--pull=never localhost/socktui-echo:1",
	} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("preview lacks %q:\n%s", want, p.Text)
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".config")); err == nil {
		t.Error("the preview wrote into HOME")
	}

	for _, tc := range []struct {
		u    ui.NewUnit
		want string
	}{
		{ui.NewUnit{Name: "web", Image: "i", Listen: []string{"tcp:0.0.0.0:8080"}}, "not loopback: other hosts could connect"},
		{ui.NewUnit{Name: "-web", Image: "i", Listen: []string{"tcp:127.0.0.1:8080"}}, `name "-web"`},
		{ui.NewUnit{Name: "web", Image: "--privileged", Listen: []string{"tcp:127.0.0.1:8080"}}, `image "--privileged": not an image reference`},
		{ui.NewUnit{Name: "web", Image: "i", Listen: []string{"tcp:127.0.0.1:8080"}, Format: "kube"}, `format "kube"`},
	} {
		_, err := a.Preview(context.Background(), tc.u)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Preview(%+v): %v, want an error saying %q", tc.u, err, tc.want)
		}
	}

	p, err = a.Preview(context.Background(), ui.NewUnit{Name: "web", Image: "i", Listen: []string{"tcp:127.0.0.1:8080"}, Format: "service"})
	if err != nil || len(p.Warnings) != 0 {
		t.Errorf("a plain unit: warnings %q, error %v", p.Warnings, err)
	}
}

// TestUIAuthoringWrote: D removes only what socktui wrote — a file with
// its marker, or a transient unit with its description.
func TestUIAuthoringWrote(t *testing.T) {
	home, getenv := homeEnv(t)
	a := uiAuthoring{getenv: getenv}
	dir := filepath.Join(home, ".config", "systemd", "user")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ours.socket", "# Written by socktui new; `socktui rm ours` removes it.\n[Socket]\n")
	write("theirs.socket", "[Socket]\nListenStream=8080\n")
	for _, tc := range []struct {
		s    unit.Socket
		want bool
	}{
		{unit.Socket{Unit: "ours.socket"}, true},
		{unit.Socket{Unit: "theirs.socket"}, false},
		{unit.Socket{Unit: "absent.socket"}, false},
		{unit.Socket{Unit: "tr.socket", UnitFileState: "transient", Description: "socktui tr (container i)"}, true},
		{unit.Socket{Unit: "tr.socket", UnitFileState: "transient", Description: "someone else's"}, false},
		{unit.Socket{Unit: "bad name.socket"}, false},
	} {
		got, err := a.Wrote(context.Background(), tc.s)
		if err != nil || got != tc.want {
			t.Errorf("Wrote(%s, %q) = %v, %v; want %v", tc.s.Unit, tc.s.Description, got, err, tc.want)
		}
	}
}
