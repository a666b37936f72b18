package doctor

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// echoExec is the demo's echo service's command line (workloads/echo).
var echoExec = strings.Fields("/usr/bin/podman run --cidfile=/run/e.ctr-id --cgroups=no-conmon --rm " +
	"--sdnotify=container -d --replace --name socktui-echo --network=none --pull=never localhost/socktui-echo:1")

// healthy is the demo's echo workload with every fact gathered: no check
// finds anything.
func healthy() Facts {
	return Facts{
		Socket: unit.Socket{Unit: "echo.socket", LoadState: "loaded", ActiveState: unit.Active, SubState: "listening",
			Result: "success", State: unit.StateIdle, Triggers: []string{"echo.service"},
			Listen: []unit.Listen{{Type: unit.TypeStream, Address: "127.0.0.1:3000"}, {Type: unit.TypeDatagram, Address: "[::1]:3000"},
				{Type: unit.TypeStream, Address: "/run/echo/echo.sock"}, {Type: unit.TypeStream, Address: "vsock:4294967295:3000"}}},
		TriggerLimitBurst: 200, TriggerLimitInterval: 2 * time.Second,
		Service: Known(Service{Unit: "echo.service", LoadState: "loaded", ActiveState: "inactive", SubState: "dead",
			Result: "success", Type: "notify", NotifyAccess: "all", Exec: echoExec, StartLimitBurst: 5,
			StartLimitInterval: 10 * time.Second, StartLimit: 90 * time.Second, After: []string{"echo.socket"}}),
		Image:   Known(Image{Name: "localhost/socktui-echo:1", Local: true, Config: Known(ImageConfig{Entrypoint: []string{"/socktui-echo"}})}),
		SELinux: Known(SELinux{}),
		Probe: Known(Probe{Results: []probe.Result{{Unit: "echo.socket", Type: unit.TypeStream, Address: "127.0.0.1:3000",
			Network: unit.TCP4, Kind: unit.KindEcho, Outcome: probe.OK, RTT: 300 * time.Millisecond, Cold: true}},
			Plain: Known(270 * time.Millisecond)}),
	}
}

// exec replaces one word of the echo command line, or adds words before
// the image when old is "".
func withExec(old string, new ...string) []string {
	argv := slices.Clone(echoExec)
	if old == "" {
		i := len(argv) - 1
		return slices.Concat(argv[:i], new, argv[i:])
	}
	i := slices.Index(argv, old)
	return slices.Concat(argv[:i], new, argv[i+1:])
}

// run is one table row: facts changed from healthy, and what the check
// under test must say.
type row struct {
	name   string
	change func(f *Facts)
	// want is the severity the check must report ("" none), with words
	// its evidence holds.
	want     Severity
	evidence string
	// skipped: the check reports it could not run, with these words.
	skipped string
}

func runRows(t *testing.T, c Check, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			f := healthy()
			if r.change != nil {
				r.change(&f)
			}
			findings, skipped := Diagnose(f)
			var got []Finding
			for _, x := range findings {
				if x.Check == c {
					got = append(got, x)
				}
			}
			switch {
			case r.want == "" && len(got) > 0:
				t.Fatalf("%s found %+v, want nothing", c, got)
			case r.want != "" && len(got) == 0:
				t.Fatalf("%s found nothing, want a %s (all findings: %+v)", c, r.want, findings)
			case r.want != "":
				if got[0].Severity != r.want || !strings.Contains(got[0].Evidence, r.evidence) || got[0].Fix == "" || got[0].Unit != "echo.socket" {
					t.Fatalf("%s = %+v, want a %s with %q in its evidence and a fix", c, got[0], r.want, r.evidence)
				}
			}
			i := slices.IndexFunc(skipped, func(n NotChecked) bool { return n.Check == c })
			switch {
			case r.skipped == "" && i >= 0:
				t.Fatalf("%s not checked: %s", c, skipped[i].Why)
			case r.skipped != "" && (i < 0 || !strings.Contains(skipped[i].Why, r.skipped)):
				t.Fatalf("%s: not checked = %+v, want one saying %q", c, skipped, r.skipped)
			}
		})
	}
}

func TestHealthyEchoHasNoFinding(t *testing.T) {
	findings, skipped := Diagnose(healthy())
	if len(findings) > 0 || len(skipped) > 0 {
		t.Fatalf("the healthy echo unit: findings %+v, not checked %+v", findings, skipped)
	}
}

func TestImagePull(t *testing.T) {
	runRows(t, CheckImagePull, []row{
		{name: "local, --pull=never"},
		{name: "missing, --pull=never", want: Error, evidence: "--pull=never",
			change: func(f *Facts) { f.Image.Value.Local = false }},
		{name: "missing, no policy", want: Warning, evidence: "waits for the pull", change: func(f *Facts) {
			f.Image.Value.Local = false
			f.Service.Value.Exec = withExec("--pull=never")
		}},
		{name: "local, always", want: Warning, evidence: "every activation asks the registry",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("--pull=never", "--pull=always") }},
		{name: "local, no policy", want: Info, evidence: "no --pull",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("--pull=never") }},
		{name: "podman could not tell", skipped: "podman is not installed",
			change: func(f *Facts) { f.Image = Unknown[Image]("podman is not installed") }},
		{name: "line unreadable", skipped: "cannot be read to its image",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("", "--bogus") }},
		{name: "no container", change: func(f *Facts) {
			f.Service.Value.Exec = []string{"/usr/bin/socktui", "echo-server"}
			f.Image = Unknown[Image]("no container")
		}},
	})
}

func TestPublishedPort(t *testing.T) {
	runRows(t, CheckPublishedPort, []row{
		{name: "none published"},
		{name: "-p", want: Warning, evidence: "-p 8080:80",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("", "-p", "8080:80") }},
		{name: "--publish=", want: Warning, evidence: "127.0.0.1:9000:9000",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("", "--publish=127.0.0.1:9000:9000") }},
	})
}

func TestContainerNetwork(t *testing.T) {
	runRows(t, CheckContainerNetwork, []row{
		{name: "none"},
		{name: "host costs no start", change: func(f *Facts) { f.Service.Value.Exec = withExec("--network=none", "--network=host") }},
		{name: "default network", want: Warning, evidence: "no --network",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("--network=none") }},
		{name: "slirp4netns", want: Warning, evidence: "--network=slirp4netns",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("--network=none", "--network", "slirp4netns") }},
		{name: "with a published port it is check 2's", change: func(f *Facts) {
			f.Service.Value.Exec = withExec("--network=none", "-p", "80:80")
		}},
	})
}

func TestAcceptContainer(t *testing.T) {
	accept := func(f *Facts) {
		f.Socket.Accept = true
		f.Socket.Triggers = nil
		f.Service.Value.Unit, f.Service.Value.Template = "echo@doctor.service", "echo@.service"
	}
	runRows(t, CheckAcceptContainer, []row{
		{name: "Accept=no"},
		{name: "Accept=yes with podman", want: Warning, evidence: "took 300 ms", change: accept},
		{name: "Accept=yes, not probed", want: Warning, evidence: "--probe measures", change: func(f *Facts) {
			accept(f)
			f.Probe = Unknown[Probe]("run with --probe")
		}},
		{name: "Accept=yes, bare", change: func(f *Facts) {
			accept(f)
			f.Service.Value.Exec = []string{"/usr/sbin/sshd", "-i"}
		}},
	})
}

func TestContainerSystemd(t *testing.T) {
	runRows(t, CheckContainerSystemd, []row{
		{name: "a server"},
		{name: "--systemd=always", want: Error, evidence: "--systemd=always",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("", "--systemd=always") }},
		{name: "/sbin/init on the line", want: Error, evidence: "/sbin/init",
			change: func(f *Facts) { f.Service.Value.Exec = append(slices.Clone(echoExec), "/sbin/init") }},
		{name: "the image's entrypoint", want: Error, evidence: "/usr/lib/systemd/systemd", change: func(f *Facts) {
			f.Image.Value.Config.Value.Entrypoint = []string{"/usr/lib/systemd/systemd"}
		}},
		{name: "the image's command", want: Error, evidence: "/usr/sbin/init", change: func(f *Facts) {
			f.Image.Value.Config.Value = ImageConfig{Cmd: []string{"/usr/sbin/init"}}
		}},
		{name: "--systemd=false", change: func(f *Facts) {
			f.Service.Value.Exec = append(withExec("", "--systemd=false"), "/sbin/init")
		}},
		{name: "image unreadable", skipped: "the image's command", change: func(f *Facts) {
			f.Image.Value.Config = Unknown[ImageConfig]("inspect failed")
		}},
	})
}

func TestNotify(t *testing.T) {
	runRows(t, CheckNotify, []row{
		{name: "NotifyAccess=all, --sdnotify=container"},
		{name: "NotifyAccess=main", want: Error, evidence: "NotifyAccess=main",
			change: func(f *Facts) { f.Service.Value.NotifyAccess = "main" }},
		{name: "NotifyAccess unset", want: Error, evidence: "NotifyAccess=main",
			change: func(f *Facts) { f.Service.Value.NotifyAccess = "" }},
		{name: "--sdnotify=ignore", want: Error, evidence: "--sdnotify=ignore",
			change: func(f *Facts) { f.Service.Value.Exec = withExec("--sdnotify=container", "--sdnotify=ignore") }},
		{name: "container never sent READY", want: Error, evidence: "never sent READY=1",
			change: func(f *Facts) { f.Service.Value.Result = "timeout" }},
		{name: "conmon timing out is not the image's", change: func(f *Facts) {
			f.Service.Value.Exec = withExec("--sdnotify=container", "--sdnotify=conmon")
			f.Service.Value.Result = "timeout"
		}},
		{name: "Type=exec", change: func(f *Facts) { f.Service.Value.Type, f.Service.Value.NotifyAccess = "exec", "none" }},
		{name: "bare, NotifyAccess=none", want: Error, evidence: "NotifyAccess=none", change: func(f *Facts) {
			f.Service.Value.Exec = []string{"/usr/bin/socktui", "echo-server"}
			f.Service.Value.NotifyAccess = "none"
		}},
		{name: "bare, NotifyAccess=main", change: func(f *Facts) {
			f.Service.Value.Exec = []string{"/usr/bin/socktui", "echo-server"}
			f.Service.Value.NotifyAccess = "main"
		}},
		{name: "service unknown", skipped: "connection closed",
			change: func(f *Facts) { f.Service = Unknown[Service]("connection closed") }},
	})
}

func TestService(t *testing.T) {
	runRows(t, CheckService, []row{
		{name: "its own service"},
		{name: "missing", want: Error, evidence: "does not exist",
			change: func(f *Facts) { f.Service.Value.LoadState = "not-found" }},
		{name: "masked", want: Error, evidence: "masked",
			change: func(f *Facts) { f.Service.Value.LoadState = "masked" }},
		{name: "Service= beside a namesake", want: Warning, evidence: "not echo.service", change: func(f *Facts) {
			f.Service.Value.Unit = "other.service"
			f.Namesake = "loaded"
		}},
		{name: "Service= without a namesake", change: func(f *Facts) {
			f.Service.Value.Unit = "other.service"
			f.Namesake = "not-found"
		}},
		{name: "started by hand", want: Error, evidence: "already active, refusing", change: func(f *Facts) {
			f.Service.Value.ActiveState = "active"
			f.Socket.ActiveState, f.Socket.State = unit.Failed, unit.StateFailed
		}},
		{name: "running through its socket", change: func(f *Facts) {
			f.Service.Value.ActiveState = "active"
			f.Socket.State = unit.StateActive
		}},
	})
}

func TestStartLimit(t *testing.T) {
	runRows(t, CheckStartLimit, []row{
		{name: "no limit hit"},
		{name: "service-start-limit-hit", want: Error, evidence: "StartLimitBurst=5", change: func(f *Facts) {
			f.Socket.ActiveState, f.Socket.Result, f.Socket.State = unit.Failed, "service-start-limit-hit", unit.StateFailed
		}},
		{name: "trigger-limit-hit", want: Error, evidence: "TriggerLimitBurst=200", change: func(f *Facts) {
			f.Socket.ActiveState, f.Socket.Result, f.Socket.State = unit.Failed, "trigger-limit-hit", unit.StateFailed
		}},
		{name: "the service's start-limit-hit", want: Error, evidence: "echo.service failed to start too often",
			change: func(f *Facts) { f.Service.Value.Result = "start-limit-hit" }},
	})
	f := healthy()
	f.Socket.Result = "trigger-limit-hit"
	if fs, _ := Diagnose(f); len(fs) == 0 || fs[0].Action != ActionResetFailed {
		t.Fatalf("a start limit's finding = %+v, want the reset-failed action", fs)
	}
}

func TestQuadletNetwork(t *testing.T) {
	quadlet := func(f *Facts) {
		f.Service.Value.SourcePath = "/home/u/.config/containers/systemd/echo.container"
		f.Service.Value.After = []string{"echo.socket", WaitNetworkOnline}
		f.Service.Value.Wants = []string{WaitNetworkOnline}
	}
	runRows(t, CheckQuadletNetwork, []row{
		{name: "not Quadlet"},
		{name: "Quadlet waiting", want: Warning, evidence: "(After= Wants=)", change: quadlet},
		{name: "Quadlet with DefaultDependencies=false", change: func(f *Facts) {
			f.Service.Value.SourcePath = "/home/u/.config/containers/systemd/echo.container"
		}},
		{name: "hand-written unit after it", change: func(f *Facts) {
			quadlet(f)
			f.Service.Value.SourcePath = ""
		}},
	})
}

func TestSELinux(t *testing.T) {
	enforcing := func(version string) func(f *Facts) {
		return func(f *Facts) { f.SELinux = Known(SELinux{Enabled: true, Enforcing: true, ContainerSELinux: version}) }
	}
	runRows(t, CheckSELinux, []row{
		{name: "no SELinux"},
		{name: "enforcing, 2.185.0", want: Error, evidence: "container-selinux is 2.185.0", change: enforcing("2.185.0")},
		{name: "enforcing, 2:2.99.1-1.fc38", want: Error, evidence: "2:2.99.1", change: enforcing("2:2.99.1-1.fc38")},
		{name: "enforcing, not installed", want: Error, evidence: "not installed", change: enforcing("")},
		{name: "enforcing, 2.186.0", change: enforcing("2.186.0")},
		{name: "enforcing, 2.232.1", change: enforcing("2.232.1")},
		{name: "permissive, old", change: func(f *Facts) {
			f.SELinux = Known(SELinux{Enabled: true, ContainerSELinux: "2.100.0"})
		}},
		{name: "label disabled", change: func(f *Facts) {
			enforcing("2.100.0")(f)
			f.Service.Value.Exec = withExec("", "--security-opt", "label=disable")
		}},
		{name: "unknown", skipped: "cannot read", change: func(f *Facts) { f.SELinux = Unknown[SELinux]("cannot read") }},
	})
}

func TestNoAnswer(t *testing.T) {
	runRows(t, CheckNoAnswer, []row{
		{name: "answered"},
		{name: "echo timed out", want: Error, evidence: "got no answer", change: func(f *Facts) {
			f.Probe.Value.Results[0].Outcome = probe.Timeout
			f.Probe.Value.Results[0].Error = "read: no answer within 30s"
		}},
		{name: "connection queued", want: Error, evidence: "accept queue of 127.0.0.1:3000", change: func(f *Facts) {
			f.Probe.Value.Queued = map[string]int{"127.0.0.1:3000": 1}
		}},
		{name: "refused is not this", change: func(f *Facts) {
			f.Probe.Value.Results[0].Outcome = probe.Refused
		}},
		{name: "not probed", skipped: "run with --probe",
			change: func(f *Facts) { f.Probe = Unknown[Probe]("run with --probe") }},
	})
}

func TestExposed(t *testing.T) {
	listen := func(typ, addr string) func(f *Facts) {
		return func(f *Facts) { f.Socket.Listen = append(f.Socket.Listen, unit.Listen{Type: typ, Address: addr}) }
	}
	runRows(t, CheckExposed, []row{
		{name: "loopback, unix and vsock"},
		{name: "0.0.0.0", want: Info, evidence: "every address", change: listen(unit.TypeStream, "0.0.0.0:80")},
		{name: "[::]", want: Info, evidence: "[::]:80", change: listen(unit.TypeDatagram, "[::]:80")},
		{name: "a port alone", want: Info, evidence: "a port alone", change: listen(unit.TypeStream, "8080")},
		{name: "an interface", want: Info, evidence: "interface address", change: listen(unit.TypeStream, "192.168.1.5:80")},
		{name: "127.0.0.2", change: listen(unit.TypeStream, "127.0.0.2:80")},
		{name: "::ffff:127.0.0.1", change: listen(unit.TypeStream, "[::ffff:127.0.0.1]:80")},
		{name: "a FIFO", change: listen(unit.TypeFIFO, "/run/fifo")},
	})
}

func TestColdStart(t *testing.T) {
	slow := func(f *Facts) { f.Probe.Value.Results[0].RTT = 2 * time.Second }
	runRows(t, CheckColdStart, []row{
		{name: "close to plain"},
		{name: "slow, notify wait", want: Warning, evidence: "READY=1", change: slow},
		{name: "slow, network", want: Warning, evidence: "the network's setup", change: func(f *Facts) {
			slow(f)
			f.Service.Value.Exec = withExec("--network=none")
		}},
		{name: "slow, unknown part", want: Warning, evidence: "cannot tell", change: func(f *Facts) {
			slow(f)
			f.Service.Value.Exec = withExec("--sdnotify=container", "--sdnotify=conmon")
		}},
		{name: "twice but within the margin", change: func(f *Facts) {
			f.Probe.Value.Plain = Known(50 * time.Millisecond)
			f.Probe.Value.Results[0].RTT = 200 * time.Millisecond
		}},
		{name: "warm only", skipped: "no cold probe", change: func(f *Facts) { f.Probe.Value.Results[0].Cold = false }},
		{name: "plain unmeasured", skipped: "podman run failed",
			change: func(f *Facts) { f.Probe.Value.Plain = Unknown[time.Duration]("podman run failed") }},
	})
}

// TestFindingJSON pins the JSON keys `socktui doctor --json` documents.
func TestFindingJSON(t *testing.T) {
	b, err := json.Marshal(Finding{Unit: "u.socket", Check: CheckNotify, Severity: Error, Evidence: "e", Fix: "f", Action: ActionResetFailed})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"unit":"u.socket","check":"notify","severity":"error","evidence":"e","fix":"f"}`; string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
}

func TestOrderAndSerious(t *testing.T) {
	f := healthy()
	f.Service.Value.Exec = withExec("--pull=never")                                              // info
	f.Socket.Listen = append(f.Socket.Listen, unit.Listen{Type: "Stream", Address: "0.0.0.0:1"}) // info
	fs, _ := Diagnose(f)
	if len(fs) != 2 || Serious(fs) {
		t.Fatalf("infos only: %+v, serious %v", fs, Serious(fs))
	}
	f.Service.Value.NotifyAccess = "main" // error, a later check
	fs, _ = Diagnose(f)
	if len(fs) != 3 || fs[0].Check != CheckNotify || !Serious(fs) {
		t.Fatalf("an error first: %+v", fs)
	}
	if len(Checks) != 13 || len(checks) != 13 {
		t.Fatalf("%d checks listed, %d run; want 13", len(Checks), len(checks))
	}
	for i, c := range checks {
		if Checks[i] != c.id {
			t.Fatalf("check %d is %s, listed as %s", i, c.id, Checks[i])
		}
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"2.185.0", "2.186.0", true}, {"2.186.0", "2.186.0", false}, {"2.99", "2.186.0", true},
		{"3.0", "2.186.0", false}, {"1:2.190.0-1.el9", "2.186.0", false}, {"2.186.0.1", "2.186.0", false}} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
