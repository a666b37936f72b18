package echo_test

import (
	"bufio"
	"context"
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

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// coldRounds is how many cold starts BenchmarkColdActivation measures of
// each kind, after one warm-up round that is not counted.
const coldRounds = 8

// BenchmarkColdActivation measures, in a private systemd user manager, the
// time from a client's connect to the first echoed byte for a cold echo
// service (its socket listening, its service inactive), in bare mode and in
// container mode, and beside them the time a plain
//
//	podman run --rm --network=none --pull=never IMAGE --listen tcp:127.0.0.1:3000
//
// of the same image takes from exec until the server in the container has
// logged that it serves its socket: what the container runtime itself
// costs to get the same binary running, without systemd or socket
// activation. (The --listen is inside the container's own empty network
// namespace; it only gives the server something to serve, so that it runs
// and logs as it does when activated. A container that exits at once, such
// as one run with --help, would time its teardown too.)
//
// Each round measures the three in turn, rotating the order so that noise
// hits all three alike; between rounds the service is stopped, so each
// activation is cold. The first round warms the page cache and Podman's
// storage and is not counted. Reported, as medians over the rounds:
// bare-ms, container-ms, podman-run-ms, and the ratios container/bare and
// container/podman-run. Nothing is asserted on speed.
//
//	go test -run '^$' -bench ColdActivation -benchtime 1x ./workloads/echo/
func BenchmarkColdActivation(b *testing.B) {
	sandboxtest.Need(b, "podman", "podman")
	benchColdActivation(b, sandboxtest.Start(b))
}

// BenchmarkColdActivationTrixie is BenchmarkColdActivation on Debian 13's
// systemd 257 and Podman 5.4 (sandbox.StackTrixie).
func BenchmarkColdActivationTrixie(b *testing.B) {
	benchColdActivation(b, sandboxtest.Trixie().Start(b))
}

func benchColdActivation(b *testing.B, s *sandbox.Sandbox) {
	bin := testbin.Build(b, "workloads/echo/cmd/socktui-echo")

	tag := echotest.Image(b, s, bin, "bench")

	bare := installCold(b, s, echo.Spec{Mode: echo.ModeBare, Binary: bin})
	ctr := installCold(b, s, echo.Spec{Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir})
	run := &podmanRun{s: s, image: tag}

	kinds := []struct {
		measure func(testing.TB) time.Duration
		took    []time.Duration
	}{{measure: bare.activate}, {measure: ctr.activate}, {measure: run.start}}
	for _, k := range kinds {
		k.measure(b) // warm-up
	}
	for b.Loop() {
		for r := range coldRounds {
			for i := range kinds {
				k := &kinds[(r+i)%len(kinds)]
				k.took = append(k.took, k.measure(b))
			}
		}
	}
	tb, tc, tp := median(kinds[0].took), median(kinds[1].took), median(kinds[2].took)
	b.Logf("cold activation over %d rounds: bare %v, container %v, podman run %v",
		len(kinds[0].took), kinds[0].took, kinds[1].took, kinds[2].took)
	b.ReportMetric(0, "ns/op") // one op is a whole series of rounds: meaningless
	b.ReportMetric(ms(tb), "bare-ms")
	b.ReportMetric(ms(tc), "container-ms")
	b.ReportMetric(ms(tp), "podman-run-ms")
	b.ReportMetric(float64(tc)/float64(tb), "container/bare")
	b.ReportMetric(float64(tc)/float64(tp), "container/podman-run")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// coldUnit is an installed echo socket unit whose service can be activated
// from cold.
type coldUnit struct {
	s     *sandbox.Sandbox
	spec  echo.Spec
	units unit.SocketSpec
	addr  string
}

// installCold writes spec's units (TCP and UDP on a free port of 127.0.0.1
// and [::1], no unix or vsock sockets, no idle exit) into the sandbox's
// user unit folder and starts the socket.
func installCold(tb testing.TB, s *sandbox.Sandbox, spec echo.Spec) *coldUnit {
	tb.Helper()
	spec.Name = fmt.Sprintf("socktui-echo-cold-%s-%d", spec.Mode, os.Getpid())
	spec.Port = sandboxtest.FreePort(tb)
	u, err := spec.Units()
	if err != nil {
		tb.Fatal(err)
	}
	if spec.Mode == echo.ModeContainer {
		echotest.RemoveContainerAtCleanup(tb, s, spec.Name)
	}
	// Rounds start the service more often than systemd's default start
	// limit (5 in 10 s) and socket trigger limit allow: lift both, or a
	// quick machine has the socket refuse the connection mid-benchmark.
	sandboxtest.InstallUnits(tb, s, map[string]string{
		u.Name:          strings.Replace(u.SocketFile(), "[Socket]\n", "[Socket]\nTriggerLimitIntervalSec=0\n", 1),
		u.ServiceName(): strings.Replace(u.ServiceFile(), "[Unit]\n", "[Unit]\nStartLimitIntervalSec=0\n", 1),
	})
	sandboxtest.Systemctl(tb, s, "start", u.Name)
	tb.Cleanup(func() { s.Systemctl(context.Background(), "stop", u.Name, u.ServiceName()).Run() })
	return &coldUnit{s: s, spec: spec, units: u, addr: "127.0.0.1:" + strconv.Itoa(spec.Port)}
}

// activate requires the service inactive, connects, sends one byte and
// returns the time from the connect until the byte came back; then it
// stops the service (and, in container mode, waits until the container is
// gone) so that the next activation is cold too.
func (u *coldUnit) activate(tb testing.TB) time.Duration {
	tb.Helper()
	waitActiveState(tb, u.s, u.units.ServiceName(), "inactive")
	begin := time.Now()
	conn, err := net.DialTimeout("tcp4", u.addr, time.Minute)
	if err != nil {
		tb.Fatalf("%s: dial %s: %v", u.spec.Mode, u.addr, err)
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	got := []byte{0}
	if _, err := conn.Write([]byte{'x'}); err != nil {
		tb.Fatalf("%s: write: %v", u.spec.Mode, err)
	}
	if _, err := io.ReadFull(conn, got); err != nil || got[0] != 'x' {
		tb.Fatalf("%s: first echo byte %q, err %v", u.spec.Mode, got, err)
	}
	took := time.Since(begin)
	conn.Close()

	sandboxtest.Systemctl(tb, u.s, "stop", u.units.ServiceName())
	waitActiveState(tb, u.s, u.units.ServiceName(), "inactive")
	if u.spec.Mode == echo.ModeContainer {
		waitContainerGone(tb, u.s, u.spec.Name)
	}
	return took
}

// podmanRun runs the image the plain way, as the floor for container mode.
type podmanRun struct {
	s     *sandbox.Sandbox
	image string
	n     int
}

// start runs `podman run --rm --network=none --pull=never` with the image
// and returns the time from exec until the server in the container logged
// its "serving" line; then it stops the container with podman stop and
// waits until podman run exits and the container is gone.
func (p *podmanRun) start(tb testing.TB) time.Duration {
	tb.Helper()
	p.n++
	name := fmt.Sprintf("socktui-echo-bench-run-%d-%d", os.Getpid(), p.n)
	tb.Cleanup(func() {
		p.s.Command(context.Background(), "podman", "rm", "-f", "--ignore", name).Run()
	})
	cmd := p.s.Command(context.Background(), "podman", "run", "--rm", "--network=none", "--log-driver=none", "--pull=never", "--name", name,
		p.image, "--listen", "tcp:127.0.0.1:3000")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("podman run: %v", err)
	}
	serving := make(chan time.Duration, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "): serving") {
				select {
				case serving <- time.Since(begin):
				default:
				}
			}
			if out.Len() < 4096 {
				out.WriteString(line + "\n")
			}
		}
	}()
	var took time.Duration
	select {
	case took = <-serving:
	case <-done:
		cmd.Wait()
		tb.Fatalf("podman run exited before the server served: %v\n%s", cmd.ProcessState, out.String())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		tb.Fatalf("podman run: no serving line within a minute\n%s", out.String())
	}

	// podman stop signals the container itself: a SIGTERM to podman run
	// right after the container started can come before podman proxies
	// signals, and is then lost.
	stop := p.s.Command(context.Background(), "podman", "stop", "-t", "10", name)
	if b, err := stop.CombinedOutput(); err != nil {
		tb.Fatalf("podman stop %s: %v\n%s", name, err, b)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
	}
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("podman run after podman stop: %v\n%s", err, out.String())
	}
	waitContainerGone(tb, p.s, name)
	return took
}

// waitActiveState polls the unit's ActiveState until it is state.
func waitActiveState(tb testing.TB, s *sandbox.Sandbox, unit, state string) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := s.Systemctl(ctx, "show", "-p", "ActiveState", "--value", unit).Output()
		cancel()
		if err != nil {
			tb.Fatalf("systemctl show %s: %v", unit, err)
		}
		got := strings.TrimSpace(string(out))
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s is %s, want %s", unit, got, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitContainerGone(tb testing.TB, s *sandbox.Sandbox, name string) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := s.Command(context.Background(), "podman", "container", "exists", name).Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("container %s still exists after a minute (podman container exists: %v)", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
