package authoring_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// coldUnitRounds is how many cold activations BenchmarkColdActivationUnits
// measures of each variant, after one warm-up that is not counted.
const coldUnitRounds = 15

var coldToggles = flag.Bool("cold-toggles", false, "BenchmarkColdActivationUnits: also measure socktui's units with each of Podman's choices in turn (network, pull policy, notify, dependencies)")

// BenchmarkColdActivationUnits measures, in a private systemd user
// manager, cold activation — the time from a client's connect to the first
// echoed byte, the service inactive (stopped after the previous round) and
// its socket listening — of the units socktui new writes (authoring.Render,
// the classic service) against the units `podman generate systemd --new
// --name` writes for the same image (the echo workload) and the same
// socket file: the tutorial's `podman create --name NAME IMAGE`, with the
// network a rootless user gets by default spelled out (--network
// slirp4netns; root's default, a CNI bridge, would change the host's own
// network).
//
// With -cold-toggles it also measures socktui's units with one of the
// generated units' choices at a time: the network (slirp4netns), the pull
// policy (missing, podman's default, instead of never), notify (the
// container's own READY=1 instead of conmon's), and dependencies
// (Wants=/After=network-online.target).
//
// Each round activates every variant once, rotating the order so that
// noise hits all alike. Reported, as medians of coldUnitRounds
// activations: socktui-ms, podman-ms and socktui/podman (and, with
// toggles, one NAME-ms each). Nothing is asserted on speed.
//
//	go test -run '^$' -bench ColdActivationUnits -benchtime 1x ./authoring/ [-args -cold-toggles]
func BenchmarkColdActivationUnits(b *testing.B) {
	sandboxtest.Need(b, "podman", "podman")
	s := sandboxtest.Start(b)
	bin := testbin.Build(b, "workloads/echo/cmd/socktui-echo")
	tag := echotest.Image(b, s, bin, "coldunits")
	ours := func(b *testing.B, what string, edit func(*authoring.Spec)) *coldVariant {
		return installOurs(b, s, tag, what, edit)
	}
	variants := []*coldVariant{
		ours(b, "socktui", nil),
		installGenerated(b, s, tag),
	}
	if *coldToggles {
		variants = append(variants,
			ours(b, "slirp4netns", func(sp *authoring.Spec) { sp.Network = "slirp4netns" }),
			ours(b, "pull-missing", nil),
			ours(b, "notify-container", func(sp *authoring.Spec) { sp.Notify = authoring.NotifyContainer }),
			ours(b, "network-online", nil),
		)
	}
	for _, v := range variants {
		v.activate(b) // warm-up
	}
	for b.Loop() {
		for r := range coldUnitRounds {
			for i := range variants {
				v := variants[(r+i)%len(variants)]
				v.took = append(v.took, v.activate(b))
			}
		}
	}
	b.ReportMetric(0, "ns/op") // one op is a whole series of rounds: meaningless
	for _, v := range variants {
		b.Logf("%-16s p50 %7.1f ms  min %7.1f  max %7.1f  over %d: %v", v.what, ms(median(v.took)), ms(slices.Min(v.took)), ms(slices.Max(v.took)), len(v.took), v.took)
		if v.what == "socktui" || v.what == "podman" {
			b.ReportMetric(ms(median(v.took)), v.what+"-ms")
		} else {
			b.ReportMetric(ms(median(v.took)), "socktui+"+v.what+"-ms")
		}
	}
	b.ReportMetric(float64(median(variants[0].took))/float64(median(variants[1].took)), "socktui/podman")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// coldVariant is one pair of installed units whose service can be
// activated from cold.
type coldVariant struct {
	s    *sandbox.Sandbox
	what string
	name string // units NAME.socket and NAME.service, container NAME
	addr string
	took []time.Duration
}

// variantName is the units' (and container's) name for what.
func variantName(what string) string {
	return fmt.Sprintf("socktui-coldunits-%s-%d", what, os.Getpid())
}

// installOurs renders socktui new's units for the echo image on a free
// port (edit changes the spec first), changes the service file as the
// variant what says, installs both and starts the socket.
func installOurs(b *testing.B, s *sandbox.Sandbox, tag, what string, edit func(*authoring.Spec)) *coldVariant {
	b.Helper()
	name := variantName(what)
	port := sandboxtest.FreePort(b)
	l, err := unit.ParseListenSpec("tcp:127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	spec := authoring.Spec{Name: name, Image: tag, Listen: []unit.Listen{l}, Format: authoring.FormatService}
	if edit != nil {
		edit(&spec)
	}
	files, err := authoring.Render(spec, authoring.Layout{ConfigHome: "/unused"})
	if err != nil {
		b.Fatal(err)
	}
	svc := files[1].Content
	switch what {
	case "pull-missing":
		svc = mustReplace(b, svc, " --pull=never ", " ")
	case "network-online":
		svc = mustReplace(b, svc, "[Unit]\n", "[Unit]\nWants=network-online.target\nAfter=network-online.target\n")
	}
	return install(b, s, what, name, port, files[0].Content, svc)
}

// installGenerated installs the units `podman generate systemd --new`
// writes for `podman create --name NAME --network slirp4netns IMAGE`
// beside socktui's socket file for the same name, and starts the socket.
// The created container is removed once its unit is generated (the
// service's podman run --replace would remove it at its first start).
// generate writes options on continued lines: the unit keeps them so.
func installGenerated(b *testing.B, s *sandbox.Sandbox, tag string) *coldVariant {
	b.Helper()
	name := variantName("podman")
	port := sandboxtest.FreePort(b)
	l, err := unit.ParseListenSpec("tcp:127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	files, err := authoring.Render(authoring.Spec{Name: name, Image: tag, Listen: []unit.Listen{l}, Format: authoring.FormatService},
		authoring.Layout{ConfigHome: "/unused"})
	if err != nil {
		b.Fatal(err)
	}
	echotest.RemoveContainerAtCleanup(b, s, name)
	// The sandbox's containers log to its journal, whose socket only its
	// namespace has: podman create out here needs another log driver,
	// which generate then copies into the unit. Taking it out again gives
	// the unit of a plain create.
	podman(b, s, "create", "--log-driver", "k8s-file", "--name", name, "--network", "slirp4netns", tag)
	svc := podman(b, s, "generate", "systemd", "--new", "--name", name)
	podman(b, s, "rm", "-f", "--ignore", name)
	if strings.Contains(svc, "\t--log-driver k8s-file \\\n") {
		svc = strings.Replace(svc, "\t--log-driver k8s-file \\\n", "", 1)
	} else {
		svc = mustReplace(b, svc, " --log-driver k8s-file", "")
	}
	if strings.Contains(svc, "log-driver") {
		b.Fatalf("the log driver is left in\n%s", svc)
	}
	b.Logf("podman generate systemd --new --name %s:\n%s", name, svc)
	return install(b, s, "podman", name, port, files[0].Content, svc)
}

// install writes the socket and service files into the sandbox (with no
// start or trigger limit: the rounds start the service more often than
// the defaults allow), starts the socket and stops both at cleanup.
func install(b *testing.B, s *sandbox.Sandbox, what, name string, port int, socket, service string) *coldVariant {
	b.Helper()
	echotest.RemoveContainerAtCleanup(b, s, name)
	sandboxtest.InstallUnits(b, s, map[string]string{
		name + ".socket":  mustReplace(b, socket, "[Socket]\n", "[Socket]\nTriggerLimitIntervalSec=0\n"),
		name + ".service": mustReplace(b, service, "[Unit]\n", "[Unit]\nStartLimitIntervalSec=0\n"),
	})
	sandboxtest.Systemctl(b, s, "start", name+".socket")
	b.Cleanup(func() { s.Systemctl(context.Background(), "stop", name+".socket", name+".service").Run() })
	return &coldVariant{s: s, what: what, name: name, addr: "127.0.0.1:" + strconv.Itoa(port)}
}

// activate requires the service inactive, connects, sends one byte and
// returns the time from the connect until it came back; then it stops the
// service and waits until the container is gone, so that the next
// activation is cold too.
func (v *coldVariant) activate(b *testing.B) time.Duration {
	b.Helper()
	svc := v.name + ".service"
	waitActiveState(b, v.s, svc, "inactive")
	begin := time.Now()
	conn, err := net.DialTimeout("tcp4", v.addr, time.Minute)
	if err != nil {
		b.Fatalf("%s: dial %s: %v", v.what, v.addr, err)
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	got := []byte{0}
	if _, err := conn.Write([]byte{'x'}); err != nil {
		b.Fatalf("%s: write: %v", v.what, err)
	}
	if _, err := io.ReadFull(conn, got); err != nil || got[0] != 'x' {
		b.Fatalf("%s: first echo byte %q, err %v", v.what, got, err)
	}
	took := time.Since(begin)
	conn.Close()
	sandboxtest.Systemctl(b, v.s, "stop", svc)
	waitActiveState(b, v.s, svc, "inactive")
	waitContainerGone(b, v.s, v.name)
	return took
}

func mustReplace(b *testing.B, s, old, new string) string {
	b.Helper()
	if !strings.Contains(s, old) {
		b.Fatalf("no %q in\n%s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// podman runs podman with s's environment and returns its standard output.
func podman(b *testing.B, s *sandbox.Sandbox, args ...string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = s.Env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// waitActiveState polls the unit's ActiveState until it is state.
func waitActiveState(b *testing.B, s *sandbox.Sandbox, unit, state string) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := strings.TrimSpace(sandboxtest.Systemctl(b, s, "show", "-p", "ActiveState", "--value", unit))
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s is %s, want %s", unit, got, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitContainerGone polls until Podman has no container name.
func waitContainerGone(b *testing.B, s *sandbox.Sandbox, name string) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		cmd := exec.Command("podman", "container", "exists", name)
		cmd.Env = s.Env()
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("container %s still exists after a minute (podman container exists: %v)", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
