package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// run is one `go test -bench` invocation.
type run struct {
	pkg, bench, benchtime string
	count                 int      // runs of each benchmark (0: one); the table shows the median
	args                  []string // after -args: the benchmark's own flags
}

// runs are the benchmarks `make bench` runs. Benchmarks that repeat their
// own rounds inside one op run once (1x); the others get enough ops for a
// stable median.
var runs = []run{
	{"sandbox", "^BenchmarkSandboxStart$", "5x", 0, nil},
	{"systemdbus", "^BenchmarkListVsSystemctl$", "1x", 0, nil},
	{"systemdbus", "^BenchmarkListCodecVsGodbus$", "1x", 3, nil},
	{"systemdbus", "^BenchmarkWatchEventLag$", "30x", 0, nil},
	{"ui", "^Benchmark(StateChangeToFrame|FirstFrame|Memory)$", "1x", 0, nil},
	{"ui", "^BenchmarkIdleCPU$/^fps=40$", "1x", 3, []string{"-idle-window=10s"}},
	{"probe", "^BenchmarkWarmEcho$", "3000x", 0, nil},
	{"cli", "^BenchmarkProbeEchoWorkload$/^(tcp4|unix|all)$", "300x", 0, nil},
	{"cli", "^BenchmarkProbeEchoWorkload$/^cold$", "3x", 0, nil},
	{"workloads/echo", "^BenchmarkEcho(Throughput|RoundTrip)$", "1x", 3, nil},
	{"workloads/echo", "^BenchmarkColdActivation$", "1x", 0, nil},
	{"authoring", "^BenchmarkColdActivationUnits$", "1x", 0, nil},
	{"workloads/echo", "^BenchmarkRootlessThroughput$", "1x", 0, nil},
	{"workloads/echo", "^BenchmarkRootlessColdActivation$", "1x", 0, nil},
	{"systemdbus", "^BenchmarkListVsSystemctlTrixie$", "1x", 0, nil},
	{"workloads/echo", "^Benchmark(ColdActivation|PublishedThroughput)Trixie$", "1x", 0, nil},
	{"ui", "^BenchmarkLogPaneFakeFlood$", "1x", 0, nil},
	{"cmd/socktui", "^BenchmarkLogPaneFlood$", "1x", 0, nil},
}

// goal is a bound on one metric.
type goal struct {
	max, min float64 // zero: no bound on that side
	text     string
}

func (g goal) met(v float64) string {
	switch {
	case g.max == 0 && g.min == 0:
		return ""
	case g.max != 0 && v > g.max, g.min != 0 && v < g.min:
		return "no"
	}
	return "yes"
}

// row is one line of the table: a ratio (or figure) and the absolute
// figures it was computed from.
type row struct {
	what      string
	bench     string // benchmark name without the -N suffix
	metric    string
	ours      string // metric of socktui's side, shown beside the ratio
	peer      string // metric of the floor or peer
	goal      goal
	precision int
}

func (r row) lookup(res map[string]map[string]float64) (float64, bool) {
	m, ok := res[r.bench]
	if !ok {
		return 0, false
	}
	v, ok := m[r.metric]
	return v, ok
}

var rows = []row{
	{what: "sandbox start: exec to a connectable private socket (ms)",
		bench: "BenchmarkSandboxStart", metric: "start-ms",
		goal: goal{max: 1000, text: "< 1 s"}, precision: 0},
	{what: "list 1,000 socket units: `socktui list --json` vs `systemctl --user list-sockets`",
		bench: "BenchmarkListVsSystemctl", metric: "socktui/systemctl", ours: "socktui-ms", peer: "systemctl-ms",
		goal: goal{max: 0.5, text: "<= 0.5x"}, precision: 2},
	{what: "list 1,000 socket units: the manager's own CPU for socktui's reads vs systemctl's whole time (a floor for any client)",
		bench: "BenchmarkListVsSystemctl", metric: "manager/systemctl", ours: "manager-ms", peer: "systemctl-ms", precision: 2},
	{what: "list 1,000 socket units in process, wall time: godbus alone over the private-socket codec (systemdbus/internal/wire), its gain",
		bench: "BenchmarkListCodecVsGodbus", metric: "godbus/codec-wall", ours: "codec-ms", peer: "godbus-ms",
		goal: goal{min: 1.1, text: ">= 1.1x, or drop the codec"}, precision: 2},
	{what: "list 1,000 socket units in process, socktui's CPU: godbus alone over the private-socket codec, its gain",
		bench: "BenchmarkListCodecVsGodbus", metric: "godbus/codec-cpu", ours: "codec-cpu-ms", peer: "godbus-cpu-ms",
		goal: goal{min: 1.1, text: ">= 1.1x, or drop the codec"}, precision: 2},
	{what: "systemd state change -> Watch event, p50 (ms)",
		bench: "BenchmarkWatchEventLag", metric: "p50-ms",
		goal: goal{max: 50, text: "<= 50 ms"}, precision: 2},
	{what: "systemd state change -> Watch event, p99 (ms)",
		bench: "BenchmarkWatchEventLag", metric: "p99-ms", precision: 2},
	{what: "systemd state change -> updated frame, p50 (ms)",
		bench: "BenchmarkStateChangeToFrame", metric: "p50-ms",
		goal: goal{max: 20, text: "< 20 ms"}, precision: 2},
	{what: "systemd state change -> updated frame, p99 (ms)",
		bench: "BenchmarkStateChangeToFrame", metric: "p99-ms", precision: 2},
	{what: "time to first full frame with 1,000 units (ms)",
		bench: "BenchmarkFirstFrame", metric: "ms",
		goal: goal{max: 300, text: "< 300 ms"}, precision: 1},
	{what: "memory with 1,000 units (MiB)",
		bench: "BenchmarkMemory", metric: "MiB",
		goal: goal{max: 50, text: "< 50 MiB"}, precision: 1},
	{what: "CPU while idle for 10 s with 1,000 units (% of one core)",
		bench: "BenchmarkIdleCPU/fps=40", metric: "cpu-%",
		goal: goal{max: 1, text: "< 1%"}, precision: 2},
	{what: "warm echo probe RTT vs dial/write/read floor, tcp4",
		bench: "BenchmarkWarmEcho/tcp4", metric: "probe/floor", ours: "probe-ns/rtt", peer: "floor-ns/rtt",
		goal: goal{max: 1.5, text: "<= 1.5x"}, precision: 2},
	{what: "warm echo probe RTT vs dial/write/read floor, unix",
		bench: "BenchmarkWarmEcho/unix", metric: "probe/floor", ours: "probe-ns/rtt", peer: "floor-ns/rtt",
		goal: goal{max: 1.5, text: "<= 1.5x"}, precision: 2},
	{what: "warm probe of the echo workload vs floor, tcp4",
		bench: "BenchmarkProbeEchoWorkload/tcp4", metric: "probe/floor", ours: "probe-ns/rtt", peer: "floor-ns/rtt",
		goal: goal{max: 1.5, text: "<= 1.5x"}, precision: 2},
	{what: "warm probe of the echo workload vs floor, unix",
		bench: "BenchmarkProbeEchoWorkload/unix", metric: "probe/floor", ours: "probe-ns/rtt", peer: "floor-ns/rtt",
		goal: goal{max: 1.5, text: "<= 1.5x"}, precision: 2},
	{what: "warm probe of every echo endpoint at once vs the slowest alone",
		bench: "BenchmarkProbeEchoWorkload/all", metric: "all/slowest", ours: "all-ns", peer: "slowest-ns",
		goal: goal{text: "about 1x"}, precision: 2},
	{what: "warm probe of every echo endpoint at once vs its CPU floor (CPU used by probe and echo server / cores)",
		bench: "BenchmarkProbeEchoWorkload/all", metric: "all/cpu-floor", ours: "all-ns", peer: "cpu-floor-ns",
		goal: goal{text: "about 1x"}, precision: 2},
	{what: "cold probe of every echo endpoint at once vs one endpoint",
		bench: "BenchmarkProbeEchoWorkload/cold", metric: "all/one", ours: "all-ms", peer: "one-ms",
		goal: goal{text: "about 1x"}, precision: 2},
	{what: "cold activation: container vs bare mode (first echo)",
		bench: "BenchmarkColdActivation", metric: "container/bare", ours: "container-ms", peer: "bare-ms", precision: 1},
	{what: "cold activation: container mode vs plain `podman run --rm`",
		bench: "BenchmarkColdActivation", metric: "container/podman-run", ours: "container-ms", peer: "podman-run-ms", precision: 2},
	{what: "systemd 257 (Debian 13): list 1,000 socket units, `socktui list --json` vs its own `systemctl --user list-sockets`",
		bench: "BenchmarkListVsSystemctlTrixie", metric: "socktui/systemctl", ours: "socktui-ms", peer: "systemctl-ms",
		goal: goal{max: 0.5, text: "<= 0.5x"}, precision: 2},
	{what: "systemd 257: the manager's own CPU for socktui's reads vs systemctl's whole time",
		bench: "BenchmarkListVsSystemctlTrixie", metric: "manager/systemctl", ours: "manager-ms", peer: "systemctl-ms", precision: 2},
	{what: "systemd 257, Podman 5.4: cold activation, container vs bare mode (first echo)",
		bench: "BenchmarkColdActivationTrixie", metric: "container/bare", ours: "container-ms", peer: "bare-ms", precision: 1},
	{what: "systemd 257, Podman 5.4: cold activation, container mode vs plain `podman run --rm`",
		bench: "BenchmarkColdActivationTrixie", metric: "container/podman-run", ours: "container-ms", peer: "podman-run-ms", precision: 2},
	{what: "Podman 5.4: 512 MiB echo, rootless container behind a published port through pasta vs the socket-activated container",
		bench: "BenchmarkPublishedThroughputTrixie", metric: "pasta/activated", ours: "pasta-MB/s", peer: "activated-MB/s", precision: 2},
	{what: "Podman 5.4: the same through slirp4netns vs the socket-activated container",
		bench: "BenchmarkPublishedThroughputTrixie", metric: "slirp4netns/activated", ours: "slirp4netns-MB/s", peer: "activated-MB/s", precision: 2},
	{what: "rootless: one TCP connection echoing 512 MiB in 64 KiB writes, socket-activated container vs the same binary on the host",
		bench: "BenchmarkRootlessThroughput", metric: "activated/host", ours: "activated-MB/s", peer: "host-MB/s",
		goal: goal{text: "about 1x (the tutorial's native throughput)"}, precision: 2},
	{what: "rootless: the same, the container behind a published port (slirp4netns network, rootlessport) vs the host",
		bench: "BenchmarkRootlessThroughput", metric: "published/host", ours: "published-MB/s", peer: "host-MB/s", precision: 2},
	{what: "rootless: cold activation (first answer after a stop), container, p50 vs a rootful one",
		bench: "BenchmarkRootlessColdActivation", metric: "rootless/rootful", ours: "rootless-p50-ms", peer: "rootful-p50-ms", precision: 2},
	{what: "rootless: cold activation, container, p50 vs a plain rootless `podman run --rm`",
		bench: "BenchmarkRootlessColdActivation", metric: "rootless/podman-run", ours: "rootless-p50-ms", peer: "podman-run-p50-ms", precision: 2},
	{what: "rootless: cold activation, container, p90 (ms) (rootful beside it)",
		bench: "BenchmarkRootlessColdActivation", metric: "rootless-p90-ms", peer: "rootful-p90-ms", precision: 1},
	{what: "rootless: plain rootless `podman run --rm` to serving, p90 (ms)",
		bench: "BenchmarkRootlessColdActivation", metric: "podman-run-p90-ms", precision: 1},
	{what: "cold activation, p50: the units `socktui new` writes vs those `podman generate systemd --new` writes, same image and socket",
		bench: "BenchmarkColdActivationUnits", metric: "socktui/podman", ours: "socktui-ms", peer: "podman-ms",
		goal: goal{max: 0.7, text: "<= 0.7x"}, precision: 2},
	{what: "log pane under a flood of 100,000 lines/s (fake source): key to frame p50, flood vs idle",
		bench: "BenchmarkLogPaneFakeFlood", metric: "x-flood/idle", ours: "key-ms-flood", peer: "key-ms-idle",
		goal: goal{max: 3, text: "<= 3x"}, precision: 2},
	{what: "log pane under that flood: resident memory (MiB)",
		bench: "BenchmarkLogPaneFakeFlood", metric: "MiB", goal: goal{max: 64, text: "< 64 MiB"}, precision: 1},
	{what: "log pane of the real binary, a unit flooding the real journal: key to frame p50, flood vs idle",
		bench: "BenchmarkLogPaneFlood", metric: "x-flood/idle", ours: "key-ms-flood", peer: "key-ms-idle",
		goal: goal{max: 3, text: "<= 3x"}, precision: 2},
	{what: "log pane of the real binary under that flood: peak resident memory (MiB)",
		bench: "BenchmarkLogPaneFlood", metric: "peak-MiB", goal: goal{max: 64, text: "< 64 MiB"}, precision: 1},
	{what: "echo throughput, 64 KiB writes, vs minimal echo loop, TCP",
		bench: "BenchmarkEchoThroughput/tcp", metric: "x-floor", ours: "echo-MB/s", peer: "floor-MB/s",
		goal: goal{min: 0.9, text: ">= 0.9x"}, precision: 2},
	{what: "echo throughput, 64 KiB writes, vs minimal echo loop, unix",
		bench: "BenchmarkEchoThroughput/unix", metric: "x-floor", ours: "echo-MB/s", peer: "floor-MB/s",
		goal: goal{min: 0.9, text: ">= 0.9x"}, precision: 2},
	{what: "echo p50 RTT vs minimal echo loop, TCP",
		bench: "BenchmarkEchoRoundTrip/tcp", metric: "x-floor", ours: "echo-p50-ns", peer: "floor-p50-ns",
		goal: goal{max: 1.2, text: "<= 1.2x"}, precision: 2},
	{what: "echo p50 RTT vs minimal echo loop, unix",
		bench: "BenchmarkEchoRoundTrip/unix", metric: "x-floor", ours: "echo-p50-ns", peer: "floor-p50-ns",
		goal: goal{max: 1.2, text: "<= 1.2x"}, precision: 2},
}

// Parse reads `go test -bench` output into benchmark name (without the
// -GOMAXPROCS suffix) -> metric unit -> value. A benchmark seen more than
// once (-count N) gets the median of its figures, metric by metric. Lines
// that are not benchmark results are ignored.
func Parse(out string) map[string]map[string]float64 {
	all := map[string]map[string][]float64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // "BenchmarkX ... --- FAIL" and the like
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if all[name] == nil {
			all[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			all[name][f[i+1]] = append(all[name][f[i+1]], v)
		}
	}
	res := map[string]map[string]float64{}
	for name, metrics := range all {
		res[name] = map[string]float64{}
		for metric, vs := range metrics {
			slices.Sort(vs)
			res[name][metric] = vs[len(vs)/2]
		}
	}
	return res
}

// Render lays the rows out as a Markdown table.
func Render(res map[string]map[string]float64, rows []row, machine string, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# socktui benchmarks\n\nMeasured %s on %s.\n", at.Format("2006-01-02 15:04 MST"), machine)
	b.WriteString("Every ratio compares socktui with its floor or peer measured in the same run.\n\n")
	b.WriteString("| measurement | figure | socktui | floor / peer | goal | met |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		v, ok := r.lookup(res)
		if !ok {
			fmt.Fprintf(&b, "| %s | (not measured) | | | %s | |\n", r.what, r.goal.text)
			continue
		}
		fig := strconv.FormatFloat(v, 'f', r.precision, 64)
		if strings.Contains(r.metric, "/") || strings.HasPrefix(r.metric, "x-") {
			fig += "x"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.what, fig,
			side(res[r.bench], r.ours), side(res[r.bench], r.peer), r.goal.text, r.goal.met(v))
	}
	return b.String()
}

// side formats one absolute figure with its unit, or nothing.
func side(m map[string]float64, metric string) string {
	v, ok := m[metric]
	if metric == "" || !ok {
		return ""
	}
	switch {
	case strings.HasSuffix(metric, "-ns") || strings.HasSuffix(metric, "ns/rtt"):
		return (time.Duration(v)).Round(100 * time.Nanosecond).String()
	case strings.HasSuffix(metric, "-ms"):
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case strings.HasSuffix(metric, "MB/s"):
		return strconv.FormatFloat(v, 'f', 0, 64) + " MB/s"
	}
	return strconv.FormatFloat(v, 'g', 4, 64) + " " + metric
}
