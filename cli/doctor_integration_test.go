package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// doctorUnit is one bad (or good) unit of TestDoctorInSandbox and the
// check that must find it.
type doctorUnit struct {
	name   string // the socket's base name
	check  doctor.Check
	sev    doctor.Severity
	files  map[string]string
	probe  bool // found only by doctor --probe
	starts bool // its socket is started (it binds its port)
}

// TestDoctorInSandbox builds, on one real manager, a unit that triggers
// each check and a healthy one, runs the real `socktui doctor` on them and
// checks that each check finds its unit and nothing finds the healthy one.
func TestDoctorInSandbox(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	s := sandboxtest.Start(t)
	socktui := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	image := echotest.Image(t, s, echoBin, "doctor")
	podmanPath, _ := exec.LookPath("podman")
	pid := os.Getpid()

	// container is a service running the echo image as the demo does,
	// with edit applied to its lines.
	container := func(name string, edit func(lines []string) []string) string {
		ctr := fmt.Sprintf("doc-%s-%d", name, pid)
		echotest.RemoveContainerAtCleanup(t, s, ctr)
		lines := []string{"[Service]", "Type=notify", "NotifyAccess=all",
			fmt.Sprintf("ExecStart=%s run --rm --sdnotify=container -d --replace --name %s --network=none --pull=never %s", podmanPath, ctr, image),
			fmt.Sprintf("ExecStop=%s stop --ignore -t 5 %s", podmanPath, ctr)}
		if edit != nil {
			lines = edit(lines)
		}
		return strings.Join(lines, "\n") + "\n"
	}
	replace := func(old, new string) func([]string) []string {
		return func(lines []string) []string {
			for i := range lines {
				lines[i] = strings.Replace(lines[i], old, new, 1)
			}
			return lines
		}
	}
	sock := func(lines ...string) string { return "[Socket]\n" + strings.Join(lines, "\n") + "\n" }
	listen := func() string { return fmt.Sprintf("ListenStream=127.0.0.1:%d", sandboxtest.FreePort(t)) }

	units := []doctorUnit{
		{name: "good", files: map[string]string{"doc-good.socket": sock(listen()), "doc-good.service": container("good", nil)}},
		{name: "pull", check: doctor.CheckImagePull, sev: doctor.Error, files: map[string]string{
			"doc-pull.socket":  sock(listen()),
			"doc-pull.service": container("pull", replace(image, "localhost/socktui-doctor-missing:1"))}},
		{name: "publish", check: doctor.CheckPublishedPort, sev: doctor.Warning, files: map[string]string{
			"doc-publish.socket":  sock(listen()),
			"doc-publish.service": container("publish", replace("--network=none", "--network=none -p 127.0.0.1:18080:3000"))}},
		{name: "network", check: doctor.CheckContainerNetwork, sev: doctor.Warning, files: map[string]string{
			"doc-network.socket":  sock(listen()),
			"doc-network.service": container("network", replace("--network=none ", ""))}},
		{name: "accept", check: doctor.CheckAcceptContainer, sev: doctor.Warning, files: map[string]string{
			"doc-accept.socket": sock(listen(), "Accept=yes"),
			"doc-accept@.service": "[Service]\nStandardInput=socket\n" +
				fmt.Sprintf("ExecStart=%s run -i --rm --network=none --pull=never %s\n", podmanPath, image)}},
		{name: "systemd", check: doctor.CheckContainerSystemd, sev: doctor.Error, files: map[string]string{
			"doc-systemd.socket":  sock(listen()),
			"doc-systemd.service": container("systemd", replace("--network=none", "--network=none --systemd=always"))}},
		{name: "notify", check: doctor.CheckNotify, sev: doctor.Error, files: map[string]string{
			"doc-notify.socket":  sock(listen()),
			"doc-notify.service": container("notify", replace("NotifyAccess=all", "NotifyAccess=main"))}},
		{name: "nosvc", check: doctor.CheckService, sev: doctor.Error, files: map[string]string{
			"doc-nosvc.socket": sock(listen(), "Service=doc-nothere.service")}},
		{name: "other", check: doctor.CheckService, sev: doctor.Warning, files: map[string]string{
			"doc-other.socket":      sock(listen(), "Service=doc-elsewhere.service"),
			"doc-other.service":     "[Service]\nExecStart=/bin/sleep infinity\n",
			"doc-elsewhere.service": "[Service]\nExecStart=/bin/sleep infinity\n"}},
		{name: "hand", check: doctor.CheckService, sev: doctor.Error, files: map[string]string{
			"doc-hand.socket":    sock(listen(), "Service=doc-handed.service"),
			"doc-handed.service": "[Service]\nExecStart=/bin/sleep infinity\n"}},
		{name: "limit", check: doctor.CheckStartLimit, sev: doctor.Error, starts: true, files: map[string]string{
			"doc-limit.socket":  sock(listen()),
			"doc-limit.service": "[Unit]\nStartLimitBurst=1\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/false\n"}},
		{name: "quadlet", check: doctor.CheckQuadletNetwork, sev: doctor.Warning, files: map[string]string{
			"doc-quadlet.socket": sock(listen()),
			"doc-quadlet.service": "[Unit]\nSourcePath=" + s.Home + "/.config/containers/systemd/doc-quadlet.container\n" +
				"After=" + doctor.WaitNetworkOnline + "\nWants=" + doctor.WaitNetworkOnline + "\n" +
				container("quadlet", nil)}},
		{name: "wide", check: doctor.CheckExposed, sev: doctor.Info, files: map[string]string{
			"doc-wide.socket":  sock(fmt.Sprintf("ListenStream=0.0.0.0:%d", sandboxtest.FreePort(t))),
			"doc-wide.service": container("wide", nil)}},
		{name: "mute", check: doctor.CheckNoAnswer, sev: doctor.Error, probe: true, starts: true, files: map[string]string{
			"doc-mute.socket":  sock(listen()),
			"doc-mute.service": "[Service]\nExecStart=/bin/sleep infinity\n"}},
		{name: "slow", check: doctor.CheckColdStart, sev: doctor.Warning, probe: true, starts: true, files: map[string]string{
			"doc-slow.socket": sock(listen()),
			// 5 s on top of the container's start: the check wants the cold
			// answer over twice a plain podman run's start, and one plain run
			// took over 1.25 s on a loaded machine, hiding a 2 s sleep.
			"doc-slow.service": container("slow", func(l []string) []string { return append(l, "ExecStartPre=/bin/sleep 5") })}},
	}
	files := map[string]string{}
	for _, u := range units {
		for name, body := range u.files {
			files[name] = body
		}
	}
	sandboxtest.InstallUnits(t, s, files)
	t.Cleanup(func() {
		var names []string
		for name := range files {
			if !strings.Contains(name, "@.") {
				names = append(names, name)
			}
		}
		s.Systemctl(context.Background(), append([]string{"stop"}, names...)...).Run()
	})
	for _, u := range units {
		if u.starts {
			sandboxtest.Systemctl(t, s, "start", "doc-"+u.name+".socket")
		}
	}
	// The start limit: the first connection's service fails, the socket
	// triggers it again, and the second start is refused.
	if c, err := net.Dial("tcp4", listenOf(units, "limit")); err == nil {
		c.Close()
	}
	waitSocketResult(t, s, "doc-limit.socket", "service-start-limit-hit")
	// A service started by hand holds the socket's place: starting the
	// socket then is refused.
	sandboxtest.Systemctl(t, s, "start", "doc-handed.service")
	s.Systemctl(context.Background(), "start", "doc-hand.socket").Run()

	out, code := runSocktui(t, s, socktui, "doctor", "--json", "doc-*")
	var found []doctor.Finding
	if err := json.Unmarshal(out, &found); err != nil {
		t.Fatalf("doctor --json: %v in\n%s", err, out)
	}
	if code != ExitFailure {
		t.Errorf("doctor exited %d with errors among the findings, want %d", code, ExitFailure)
	}
	probed := map[string][]doctor.Finding{}
	for _, u := range units {
		if !u.probe {
			continue
		}
		out, code := runSocktui(t, s, socktui, "doctor", "--json", "--probe", "doc-"+u.name)
		var fs []doctor.Finding
		if err := json.Unmarshal(out, &fs); err != nil || code != ExitFailure {
			t.Fatalf("doctor --probe doc-%s: exit %d, %v in\n%s", u.name, code, err, out)
		}
		probed[u.name] = fs
	}
	text, _ := runSocktui(t, s, socktui, "doctor", "doc-*")
	t.Logf("socktui doctor doc-*:\n%s", text)

	for _, u := range units {
		t.Run(u.name, func(t *testing.T) {
			fs := found
			if u.probe {
				fs = probed[u.name]
			}
			sockName := "doc-" + u.name + ".socket"
			var mine []doctor.Finding
			for _, f := range fs {
				if f.Unit == sockName {
					mine = append(mine, f)
				}
			}
			if u.check == "" {
				if len(mine) > 0 {
					t.Fatalf("the healthy unit has findings: %+v", mine)
				}
				return
			}
			i := slices.IndexFunc(mine, func(f doctor.Finding) bool { return f.Check == u.check && f.Severity == u.sev })
			if i < 0 {
				t.Fatalf("no %s %s finding on %s; its findings: %+v", u.sev, u.check, sockName, mine)
			}
			t.Logf("%s: %s: %s / fix: %s", sockName, u.check, mine[i].Evidence, mine[i].Fix)
		})
	}
	// No SELinux on this host: the check finds nothing and was not
	// skipped either (nothing to check).
	t.Run("selinux", func(t *testing.T) {
		if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
			t.Skip("this host runs SELinux")
		}
		for _, f := range found {
			if f.Check == doctor.CheckSELinux {
				t.Fatalf("a host without SELinux: %+v", f)
			}
		}
		if strings.Contains(string(text), string(doctor.CheckSELinux)) {
			t.Fatalf("the text output names %s on a host without SELinux:\n%s", doctor.CheckSELinux, text)
		}
	})
	t.Run("80 columns", func(t *testing.T) {
		for _, l := range strings.Split(string(text), "\n") {
			if n := len([]rune(l)); n > doctorWidth {
				t.Errorf("a line of %d columns: %q", n, l)
			}
		}
	})
}

// listenOf is the TCP address of the named unit's socket.
func listenOf(units []doctorUnit, name string) string {
	for _, u := range units {
		if u.name == name {
			for _, l := range strings.Split(u.files["doc-"+name+".socket"], "\n") {
				if a, ok := strings.CutPrefix(l, "ListenStream="); ok {
					return a
				}
			}
		}
	}
	return ""
}

// waitSocketResult waits (a minute at most) until the socket's Result is
// want.
func waitSocketResult(t *testing.T, s *sandbox.Sandbox, name, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := strings.TrimSpace(sandboxtest.Systemctl(t, s, "show", "-p", "Result", "--value", name))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: Result=%s, want %s", name, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDoctorDemoHasNoFinding installs the demo's echo workload in a
// container, as `socktui demo` does, and checks that socktui doctor finds
// nothing about it, probing included.
func TestDoctorDemoHasNoFinding(t *testing.T) {
	sandboxtest.Need(t, "podman", "podman")
	if err := sandbox.Available(); err != nil {
		sandboxtest.Unavailable(t, err.Error())
	}
	socktui := testbin.Build(t, "cmd/socktui")
	echoBin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sess, err := demo.Start(ctx, demo.Options{Sandbox: true, Mode: echo.ModeContainer, EchoBinary: echoBin, NoPodmanSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sess.Close(context.Background()); err != nil {
			t.Errorf("closing the demo: %v", err)
		}
	})
	text, _ := runSocktui(t, sess.Sandbox, socktui, "doctor", sess.Units.Name)
	if want := sess.Units.Name + ": no findings\n"; !strings.HasPrefix(string(text), want) {
		t.Errorf("socktui doctor:\n%s\nwant %q", text, want)
	}
	// The first probe finds the service idle: it is cold, and every check
	// runs. cold-start compares one measured activation with one plain
	// podman run: a wall-clock comparison, which a loaded machine can tip
	// either way, so this test (no test asserts a wall-clock bound) only
	// asks that it ran; its verdicts are tested in its table test and on
	// a unit two seconds slow (TestDoctorInSandbox).
	text, _ = runSocktui(t, sess.Sandbox, socktui, "doctor", "--probe", sess.Units.Name)
	t.Logf("socktui doctor --probe:\n%s", text)
	if strings.Contains(string(text), "not checked") {
		t.Errorf("socktui doctor --probe left a check not checked:\n%s", text)
	}
	for _, args := range [][]string{{"doctor", "--json", sess.Units.Name}, {"doctor", "--json", "--probe", sess.Units.Name}} {
		out, code := runSocktui(t, sess.Sandbox, socktui, args...)
		var fs []doctor.Finding
		if err := json.Unmarshal(out, &fs); err != nil {
			t.Fatalf("%v: %v in\n%s", args, err, out)
		}
		fs = slices.DeleteFunc(fs, func(f doctor.Finding) bool { return args[2] == "--probe" && f.Check == doctor.CheckColdStart })
		if len(fs) > 0 || (args[2] != "--probe" && code != ExitOK) {
			t.Errorf("socktui %s: exit %d, findings %+v; want none", strings.Join(args, " "), code, fs)
		}
	}
}
