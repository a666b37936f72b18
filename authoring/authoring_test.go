package authoring

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

func listens(t *testing.T, specs ...string) []unit.Listen {
	t.Helper()
	var out []unit.Listen
	for _, s := range specs {
		l, err := unit.ParseListenSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func echoSpec(t *testing.T) Spec {
	return Spec{Name: "echo", Image: "localhost/echo:1",
		Listen: listens(t, "tcp:127.0.0.1:3000", "tcp:[::1]:3000", "udp:127.0.0.1:3000", "unix:%h/echo.sock", "vsock::3000")}
}

func TestValidateRefuses(t *testing.T) {
	ok := echoSpec(t)
	if err := ok.Validate(); err != nil {
		t.Fatalf("the echo spec: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Spec)
		says string
	}{
		{func(s *Spec) { s.Name = "" }, "a name is needed"},
		{func(s *Spec) { s.Name = "a/b" }, "use letters"},
		{func(s *Spec) { s.Name = "-x" }, "use letters"},
		{func(s *Spec) { s.Name = "echo.socket" }, "without a unit suffix"},
		{func(s *Spec) { s.Image = "" }, "an --image"},
		{func(s *Spec) { s.Image = "-x" }, "not an image reference"},
		{func(s *Spec) { s.Image = "a b" }, "not an image reference"},
		{func(s *Spec) { s.Listen = nil }, "at least one --listen"},
		{func(s *Spec) { s.Listen = append(s.Listen, s.Listen[0]) }, "given twice"},
		{func(s *Spec) { s.Listen = listens(t, "tcp:0.0.0.0:80") }, "not loopback"},
		{func(s *Spec) { s.Listen = listens(t, "tcp:80") }, "a port alone"},
		{func(s *Spec) { s.Listen = listens(t, "udp:[::]:80") }, "every address"},
		{func(s *Spec) { s.Listen = listens(t, "tcp:192.0.2.1:80") }, "not loopback"},
		{func(s *Spec) { s.Env = []string{"NOEQUALS"} }, "KEY=VALUE"},
		{func(s *Spec) { s.Env = []string{"1A=b"} }, "KEY=VALUE"},
		{func(s *Spec) { s.Env = []string{"A=b\nc"} }, "newline"},
		{func(s *Spec) { s.Volumes = []string{"--privileged"} }, "volume"},
		{func(s *Spec) { s.Network = "a b" }, "network"},
		{func(s *Spec) { s.Format = "docker" }, "format"},
		{func(s *Spec) { s.Notify = "never" }, "notify"},
		{func(s *Spec) { s.Image = ""; s.Command = []string{"cat"}; s.Format = FormatService }, "absolute path"},
		{func(s *Spec) { s.Image = ""; s.Command = []string{"/bin/cat"}; s.Format = FormatQuadlet }, "no Quadlet form"},
		{func(s *Spec) { s.Command = []string{"a\nb"} }, "newline"},
	} {
		s := echoSpec(t)
		tc.edit(&s)
		err := s.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%+v: %v, want ErrInvalid saying %q", s, err, tc.says)
		}
	}
	exposed := echoSpec(t)
	exposed.Listen, exposed.Expose = listens(t, "tcp:0.0.0.0:80"), true
	if err := exposed.Validate(); err != nil {
		t.Errorf("--expose on 0.0.0.0: %v", err)
	}
}

func TestRenderService(t *testing.T) {
	files, err := Render(echoSpec(t), Layout{ConfigHome: "/h/.config"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != "/h/.config/systemd/user/echo.socket" || files[1].Path != "/h/.config/systemd/user/echo.service" {
		t.Fatalf("files %+v", files)
	}
	for _, want := range []string{"ListenStream=127.0.0.1:3000\n", "ListenStream=[::1]:3000\n", "ListenDatagram=127.0.0.1:3000\n",
		"ListenStream=%h/echo.sock\n", "ListenStream=vsock::3000\n", "RemoveOnStop=yes\n", "WantedBy=sockets.target\n"} {
		if !strings.Contains(files[0].Content, want) {
			t.Errorf("socket lacks %q:\n%s", want, files[0].Content)
		}
	}
	svc := files[1].Content
	for _, want := range []string{"Requires=echo.socket\n", "After=echo.socket\n", "--pull=never", "--network=none", "--sdnotify=conmon",
		"--name echo ", "Type=notify\n", "NotifyAccess=all\n", "ExecStopPost=/usr/bin/podman rm -f --ignore"} {
		if !strings.Contains(svc, want) {
			t.Errorf("service lacks %q:\n%s", want, svc)
		}
	}
	for _, f := range files {
		if !Ours([]byte(f.Content)) {
			t.Errorf("%s does not begin with the marker", f.Path)
		}
	}
	if strings.Contains(svc, "network-online") || strings.Contains(svc, "Restart=") || strings.Contains(svc, "[Install]") {
		t.Errorf("a service with no network waits for it, restarts or installs itself:\n%s", svc)
	}
	net := echoSpec(t)
	net.Network = "host"
	files, _ = Render(net, Layout{ConfigHome: "/h/.config"})
	if !strings.Contains(files[1].Content, "Wants=network-online.target") {
		t.Errorf("a service with a network does not wait for it:\n%s", files[1].Content)
	}
	// What the user gives cannot expand a specifier or a variable.
	odd := echoSpec(t)
	odd.Env, odd.Command = []string{"P=100%n $HOME"}, []string{"run", "%t", "$X"}
	files, _ = Render(odd, Layout{ConfigHome: "/h/.config"})
	if !strings.Contains(files[1].Content, `--env "P=100%%n $$HOME" localhost/echo:1 run %%t $$X`) {
		t.Errorf("user words not escaped:\n%s", files[1].Content)
	}
}

func TestRenderAccept(t *testing.T) {
	s := echoSpec(t)
	s.Accept = true
	files, err := Render(s, Layout{ConfigHome: "/h"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(files[1].Path, "echo@.service") || !strings.Contains(files[1].Content, "--name echo-%i ") ||
		!strings.Contains(files[0].Content, "Accept=yes") || len(Warnings(s)) == 0 {
		t.Errorf("accept: %+v, warnings %q", files, Warnings(s))
	}
}

// quadletPath is Podman 5.4's Quadlet generator from Debian 13's package,
// unpacked by scripts/install-deps.sh.
func quadletPath(t *testing.T) string {
	p := os.Getenv("SOCKTUI_QUADLET")
	if p == "" {
		p = "/var/cache/socktui/trixie-podman/usr/libexec/podman/quadlet"
	}
	if _, err := os.Stat(p); err != nil {
		sandboxtest.Unavailable(t, "Podman 5's quadlet generator is missing at "+p+" (make deps unpacks Debian 13's podman package there)")
	}
	return p
}

// TestQuadletAcceptedByPodmansGenerator runs Podman's own generator on the
// .container socktui writes: it must accept every key and generate the
// service that runs the container as the classic service does.
func TestQuadletAcceptedByPodmansGenerator(t *testing.T) {
	quadlet := quadletPath(t)
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want []string
	}{
		{"echo", func(*Spec) {}, []string{"--name echo ", "--pull never", "--network none", "--sdnotify=conmon", "localhost/echo:1"}},
		{"args", func(s *Spec) {
			s.Env, s.Volumes, s.Command, s.Notify = []string{"A=b c", "P=100%"}, []string{"/srv:/srv:ro"}, []string{"serve", "a b"}, NotifyContainer
		}, []string{`--env "A=b c"`, "--env P=100%%", "-v /srv:/srv:ro", "--sdnotify=container", `localhost/echo:1 serve "a b"`}},
		{"accept", func(s *Spec) { s.Accept = true }, []string{"--name echo-%i "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := echoSpec(t)
			tc.edit(&s)
			s.Format = FormatQuadlet
			cfg := t.TempDir()
			files, err := Render(s, Layout{ConfigHome: cfg, PodmanVersion: "5.4.2"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Write(files, false); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(quadlet, "-dryrun", "-user")
			cmd.Env = append(os.Environ(), "QUADLET_UNIT_DIRS="+filepath.Join(cfg, "containers", "systemd"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || strings.Contains(stderr.String(), "unsupported") {
				t.Fatalf("quadlet -dryrun: %v\n%s\n%s", err, stderr.String(), out)
			}
			svc := string(out)
			want := append(tc.want, "Requires=echo.socket", "After=echo.socket", "Type=notify", Marker)
			for _, w := range want {
				if !strings.Contains(svc, w) {
					t.Errorf("the generated service lacks %q:\n%s", w, svc)
				}
			}
			if strings.Contains(svc, "network-online") {
				t.Errorf("the generated service waits for the network:\n%s", svc)
			}
		})
	}
	// Without DefaultDependencies=false the generator adds the wait for
	// the network: the check above is not hollow.
	s := echoSpec(t)
	s.Format = FormatQuadlet
	cfg := t.TempDir()
	files, _ := Render(s, Layout{ConfigHome: cfg, PodmanVersion: "5.0"})
	Write(files, false)
	cmd := exec.Command(quadlet, "-dryrun", "-user")
	cmd.Env = append(os.Environ(), "QUADLET_UNIT_DIRS="+filepath.Join(cfg, "containers", "systemd"))
	out, _ := cmd.Output()
	if !strings.Contains(string(out), "network-online") {
		t.Errorf("quadlet's default dependencies no longer wait for the network: the DefaultDependencies=false check is moot:\n%s", out)
	}
}

func TestWriteRefusesForeignAndUndoes(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "u", "b.service")
	os.MkdirAll(filepath.Dir(foreign), 0o755)
	os.WriteFile(foreign, []byte("[Service]\n"), 0o644)
	files := []File{{Path: filepath.Join(dir, "u", "a.socket"), Content: header("a") + "x"}, {Path: foreign, Content: header("a") + "y"}}
	if _, err := Write(files, false); !errors.Is(err, ErrNotOurs) || !errors.Is(err, ErrRefused) {
		t.Fatalf("Write over a foreign file: %v", err)
	}
	if _, err := os.Stat(files[0].Path); err == nil {
		t.Errorf("a refused Write wrote %s", files[0].Path)
	}
	w, err := Write(files, true)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(foreign); !Ours(b) {
		t.Errorf("--force did not replace the file: %q", b)
	}
	if err := w.Undo(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "[Service]\n" {
		t.Errorf("Undo did not restore the replaced file: %q", b)
	}
	if _, err := os.Stat(files[0].Path); err == nil {
		t.Errorf("Undo left %s", files[0].Path)
	}
}

// fakeManager records calls and fails the one named in fail.
type fakeManager struct {
	calls []string
	fail  string
}

func (m *fakeManager) do(call string) error {
	m.calls = append(m.calls, call)
	if call == m.fail {
		return errors.New(call + " failed")
	}
	return nil
}
func (m *fakeManager) Reload(context.Context) error                { return m.do("reload") }
func (m *fakeManager) StartUnit(_ context.Context, n string) error { return m.do("start " + n) }
func (m *fakeManager) StopUnit(_ context.Context, n string) error  { return m.do("stop " + n) }
func (m *fakeManager) ResetFailed(_ context.Context, n string) error {
	return m.do("reset-failed " + n)
}
func (m *fakeManager) EnableUnitFiles(_ context.Context, n []string) error {
	return m.do("enable " + strings.Join(n, " "))
}
func (m *fakeManager) DisableUnitFiles(_ context.Context, n []string) error {
	return m.do("disable " + strings.Join(n, " "))
}
func (m *fakeManager) CreateTransientSocket(_ context.Context, s unit.SocketSpec) error {
	return m.do("transient " + s.Name)
}
func (m *fakeManager) RemoveTransient(_ context.Context, a, b string) error {
	return m.do("remove-transient " + a + " " + b)
}

func TestCreateUndoesAFailureHalfWay(t *testing.T) {
	for _, fail := range []string{"reload", "enable echo.socket", "start echo.socket"} {
		cfg := t.TempDir()
		l := Layout{ConfigHome: cfg}
		files, err := Render(echoSpec(t), l)
		if err != nil {
			t.Fatal(err)
		}
		m := &fakeManager{fail: fail}
		if _, err := Create(context.Background(), m, echoSpec(t), l, files, CreateOptions{Enable: true}); err == nil {
			t.Fatalf("%s failing: Create succeeded", fail)
		}
		if left := snapshotDir(cfg); left != "" {
			t.Errorf("%s failing: left %s", fail, left)
		}
		calls := strings.Join(m.calls, ", ")
		if !strings.HasSuffix(calls, "reload") {
			t.Errorf("%s failing: calls %s, want a reload after the files went", fail, calls)
		}
		if fail == "start echo.socket" && !strings.Contains(calls, "disable echo.socket") {
			t.Errorf("a failed start left the socket enabled: %s", calls)
		}
	}
	m := &fakeManager{}
	cfg := t.TempDir()
	l := Layout{ConfigHome: cfg}
	files, _ := Render(echoSpec(t), l)
	c, err := Create(context.Background(), m, echoSpec(t), l, files, CreateOptions{})
	if err != nil || len(c.Files) != 2 || strings.Join(m.calls, ", ") != "reload, start echo.socket" {
		t.Errorf("Create: %+v, %v, calls %q", c, err, m.calls)
	}
	m.calls = nil
	r, err := Remove(context.Background(), m, nil, Removal{Name: "echo"}, l)
	if err != nil || len(r.Files) != 2 || snapshotDir(cfg) != "" {
		t.Errorf("Remove: %+v, %v; left %q", r, err, snapshotDir(cfg))
	}
	if got, want := strings.Join(m.calls, ", "), "stop echo.socket, stop echo.service, disable echo.socket, reload, reset-failed echo.socket, reset-failed echo.service"; got != want {
		t.Errorf("Remove's calls %q, want %q", got, want)
	}
	if _, err := Remove(context.Background(), m, nil, Removal{Name: "echo"}, l); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove again: %v, want ErrNotFound", err)
	}
}

// snapshotDir names the files under dir.
func snapshotDir(dir string) string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return strings.Join(out, " ")
}
