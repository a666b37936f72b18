package systemdbus_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/internal/cputime"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

const benchSockets = 1000

// startManySockets writes n socket units (unix sockets in the sandbox, each
// with a service) and starts them with one systemctl call.
func startManySockets(b *testing.B, s *sandbox.Sandbox, n int) {
	b.Helper()
	dir := filepath.Join(s.Home, ".config", "systemd", "user")
	sockDir := filepath.Join(s.Dir, "bench")
	for _, d := range []string{dir, sockDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("bench%04d.socket", i)
		sock := fmt.Sprintf("[Unit]\nDescription=bench socket %d\n[Socket]\nListenStream=%s/%d.sock\n", i, sockDir, i)
		svc := "[Service]\nExecStart=/bin/sleep infinity\n"
		if err := os.WriteFile(filepath.Join(dir, names[i]), []byte(sock), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bench%04d.service", i)), []byte(svc), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	if out, err := s.Systemctl(ctx, "daemon-reload").CombinedOutput(); err != nil {
		b.Fatalf("daemon-reload: %v\n%s", err, out)
	}
	if out, err := s.Systemctl(ctx, append([]string{"start"}, names...)...).CombinedOutput(); err != nil {
		b.Fatalf("starting %d sockets: %v\n%s", n, err, out)
	}
}

func timeCmd(b *testing.B, cmd *exec.Cmd) time.Duration {
	b.Helper()
	cmd.Stdout, cmd.Stderr = nil, nil
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%.2000s", cmd, err, out)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkListVsSystemctl times `socktui list --json` (the real binary)
// against `systemctl --user list-sockets` on the same manager holding 1,000
// listening sockets, alternating the two, and reports the ratio of their
// medians (goal: at most 0.5).
//
// It also reports the manager's own CPU time per socktui listing, beside
// systemctl's time (manager/systemctl): systemd answers one message at a
// time on one thread, about 18 µs of its CPU per message however the client
// sends them, and socktui's listing needs three reads per socket (Listen,
// Triggers, and the service's ExecStart for its container) where systemctl
// reads two. No client can list faster than that floor.
func BenchmarkListVsSystemctl(b *testing.B) { benchListVsSystemctl(b, sandboxtest.Start(b)) }

// BenchmarkListVsSystemctlTrixie is BenchmarkListVsSystemctl on Debian 13's
// systemd 257 (sandbox.StackTrixie), against its own systemctl, which runs
// through nsenter and chroot (a few milliseconds more than on the host).
func BenchmarkListVsSystemctlTrixie(b *testing.B) {
	benchListVsSystemctl(b, sandboxtest.Trixie().Start(b))
}

func benchListVsSystemctl(b *testing.B, s *sandbox.Sandbox) {
	bin := testbin.Build(b, "cmd/socktui")
	startManySockets(b, s, benchSockets)

	// Both see every socket.
	c, err := systemdbus.Connect(context.Background(), systemdbus.Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		b.Fatal(err)
	}
	socks, err := c.ListSockets(context.Background(), systemdbus.ListOptions{})
	c.Close()
	if err != nil || len(socks) < benchSockets {
		b.Fatalf("ListSockets: %d sockets, %v", len(socks), err)
	}

	// timed runs cmd and returns its wall time and the manager's CPU time
	// meanwhile.
	timed := func(cmd *exec.Cmd) (wall, manager time.Duration) {
		m0, err := cputime.Process(s.ManagerPID())
		if err != nil {
			b.Fatal(err)
		}
		wall = timeCmd(b, cmd)
		m1, err := cputime.Process(s.ManagerPID())
		if err != nil {
			b.Fatal(err)
		}
		return wall, m1 - m0
	}
	const rounds = 9
	var ours, theirs, oursMgr, theirsMgr []time.Duration
	b.ResetTimer()
	for range b.N {
		for range rounds {
			cmd := exec.Command(bin, "list", "--json")
			cmd.Env = s.Env()
			w, m := timed(cmd)
			ours, oursMgr = append(ours, w), append(oursMgr, m)
			w, m = timed(s.Systemctl(context.Background(), "list-sockets", "--no-pager"))
			theirs, theirsMgr = append(theirs, w), append(theirsMgr, m)
		}
	}
	b.StopTimer()
	o, t, om := median(ours), median(theirs), median(oursMgr)
	b.ReportMetric(float64(o)/float64(t), "socktui/systemctl")
	b.ReportMetric(float64(o.Microseconds())/1000, "socktui-ms")
	b.ReportMetric(float64(t.Microseconds())/1000, "systemctl-ms")
	b.ReportMetric(float64(om.Microseconds())/1000, "manager-ms")
	b.ReportMetric(float64(median(theirsMgr).Microseconds())/1000, "systemctl-manager-ms")
	b.ReportMetric(float64(om)/float64(t), "manager/systemctl")
	b.ReportMetric(float64(len(socks)), "sockets")
}

// BenchmarkWatchEventLag measures how long after systemd records a change
// Watch delivers it (goal: 50 ms at most): each op activates a FIFO socket
// whose service reads one line and exits, and takes two samples, the event
// of the socket going active and the one of it going idle again, each
// against the service's StateChangeTimestamp that systemd sent with the
// change. TestWatchActivateIdleStop checks their order and content.
func BenchmarkWatchEventLag(b *testing.B) {
	s := sandboxtest.Start(b)
	c := connect(b, s)
	fifo := filepath.Join(b.TempDir(), "fifo")
	sandboxtest.InstallUnits(b, s, map[string]string{
		"lag.socket": "[Socket]\nListenFIFO=" + fifo + "\n",
		// No start limit: every op starts the service once. It stays up
		// a moment: systemd sends a unit's state when it flushes its bus
		// queue, so a service that is gone within one turn of its loop
		// is never seen active.
		"lag.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c 'read line <&3; sleep 0.3'\n",
	})
	sandboxtest.Systemctl(b, s, "start", "lag.socket")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := c.Watch(ctx)
	if ev := <-ch; ev.Kind != unit.Snapshot {
		b.Fatalf("first event %+v, want Snapshot", ev)
	}
	var lags []time.Duration
	sample := func(ev unit.Event) {
		if len(ev.Socket.Services) == 0 || ev.Socket.Services[0].Since.IsZero() {
			b.Fatalf("an event without the service's change time: %+v", ev.Socket)
		}
		lags = append(lags, ev.At.Sub(ev.Socket.Services[0].Since))
	}
	b.ResetTimer()
	for range b.N {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		_, err = f.WriteString("go\n")
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		sample(nextEvent(b, ch, "lag.socket active", socketEvent("lag.socket", unit.StateActive)))
		sample(nextEvent(b, ch, "lag.socket idle again", socketEvent("lag.socket", unit.StateIdle)))
	}
	b.StopTimer()
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lags[len(lags)/2]), "p50-ms")
	b.ReportMetric(ms(lags[(len(lags)*99)/100]), "p99-ms")
	b.ReportMetric(ms(lags[len(lags)-1]), "max-ms")
	b.ReportMetric(float64(len(lags)), "samples")
}

// BenchmarkListCodecVsGodbus lists 1,000 sockets with their services in
// process, alternating the two paths a one-shot listing can take on the
// same manager: the hand-written codec on a second connection to the
// private socket (systemdbus/internal/wire), and godbus alone (a client
// with a custom Dial, which never uses the codec). It reports, median over
// the rounds, each path's wall time, this process's CPU time and the
// manager's CPU time per listing, and godbus's over the codec's for wall
// and for our CPU: the codec's gain. Each listing starts after a GC, so
// it pays for the collections its own garbage causes, as a fresh
// `socktui list` does.
func BenchmarkListCodecVsGodbus(b *testing.B) {
	s := sandboxtest.Start(b)
	startManySockets(b, s, benchSockets)
	ctx := context.Background()
	codec, err := systemdbus.Connect(ctx, systemdbus.Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		b.Fatal(err)
	}
	defer codec.Close()
	godbus, err := systemdbus.Connect(ctx, systemdbus.Options{Dial: func(ctx context.Context) (*dbus.Conn, error) {
		return systemdbus.DialPrivate(ctx, s.PrivateSocket())
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer godbus.Close()

	type sample struct{ wall, cpu, manager time.Duration }
	list := func(c *systemdbus.Client) sample {
		runtime.GC()
		m0, err := cputime.Process(s.ManagerPID())
		if err != nil {
			b.Fatal(err)
		}
		c0, t0 := cputime.Self(), time.Now()
		socks, err := c.ListSockets(ctx, systemdbus.ListOptions{})
		wall, cpu := time.Since(t0), cputime.Self()-c0
		m1, err2 := cputime.Process(s.ManagerPID())
		if err != nil || err2 != nil || len(socks) < benchSockets {
			b.Fatalf("ListSockets: %d sockets, %v, %v", len(socks), err, err2)
		}
		return sample{wall, cpu, m1 - m0}
	}
	list(codec) // warm both: the first listing of a process loads more
	list(godbus)
	const rounds = 15
	var withCodec, withGodbus []sample
	b.ResetTimer()
	for range b.N {
		for range rounds {
			withCodec = append(withCodec, list(codec))
			withGodbus = append(withGodbus, list(godbus))
		}
	}
	b.StopTimer()
	med := func(ss []sample, f func(sample) time.Duration) time.Duration {
		ds := make([]time.Duration, len(ss))
		for i, s := range ss {
			ds[i] = f(s)
		}
		return median(ds)
	}
	wall := func(s sample) time.Duration { return s.wall }
	cpu := func(s sample) time.Duration { return s.cpu }
	manager := func(s sample) time.Duration { return s.manager }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(med(withGodbus, wall))/float64(med(withCodec, wall)), "godbus/codec-wall")
	b.ReportMetric(float64(med(withGodbus, cpu))/float64(med(withCodec, cpu)), "godbus/codec-cpu")
	b.ReportMetric(ms(med(withCodec, wall)), "codec-ms")
	b.ReportMetric(ms(med(withGodbus, wall)), "godbus-ms")
	b.ReportMetric(ms(med(withCodec, cpu)), "codec-cpu-ms")
	b.ReportMetric(ms(med(withGodbus, cpu)), "godbus-cpu-ms")
	b.ReportMetric(ms(med(withCodec, manager)), "codec-manager-ms")
	b.ReportMetric(ms(med(withGodbus, manager)), "godbus-manager-ms")
}

// BenchmarkListSockets times ListSockets in process (no exec, an open
// connection) on 1,000 sockets with their services.
func BenchmarkListSockets(b *testing.B) {
	s := sandboxtest.Start(b)
	startManySockets(b, s, benchSockets)
	c, err := systemdbus.Connect(context.Background(), systemdbus.Options{RuntimeDir: s.RuntimeDir})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// The first listing after a (re)load pays for systemd working out each
	// unit file's state (UnitFileState, cached until the next reload): about
	// 5 s for these 1,000 units in one folder, as much as `systemctl
	// list-unit-files`. This times the listings after it.
	if _, err := c.ListSockets(context.Background(), systemdbus.ListOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		socks, err := c.ListSockets(context.Background(), systemdbus.ListOptions{})
		if err != nil || len(socks) < benchSockets {
			b.Fatalf("ListSockets: %d, %v", len(socks), err)
		}
	}
}
