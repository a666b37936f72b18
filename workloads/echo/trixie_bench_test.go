package echo_test

import (
	"slices"
	"testing"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
	"github.com/socktui/socktui/workloads/echo/echotest"
)

// BenchmarkPublishedThroughputTrixie measures, on Debian 13's Podman 5.4
// (sandbox.StackTrixie, rootful), one TCP connection echoing 512 MiB in
// 64 KiB writes: the socket-activated echo container (the kernel's socket,
// no network stack between), the same image behind a published port
// through pasta (Podman 5's default network for rootless containers), and
// through slirp4netns, in rotating order, medians of several rounds.
//
//	go test -run '^$' -bench PublishedThroughputTrixie -benchtime 1x ./workloads/echo/
func BenchmarkPublishedThroughputTrixie(b *testing.B) {
	s := sandboxtest.Trixie().Start(b)
	bin := testbin.Build(b, "workloads/echo/cmd/socktui-echo")
	tag := echotest.Image(b, s, bin, "trixie-bench")

	act := installCold(b, s, echo.Spec{Mode: echo.ModeContainer, Image: tag, RuntimeDir: s.RuntimeDir})
	echotest.Echoes(b, act.addr, "warm up\n") // activated once: the rounds measure the stream only
	pasta := startPublished(b, s, tag, "pasta")
	slirp := startPublished(b, s, tag, "slirp4netns")

	targets := []struct {
		name string
		addr string
		mbs  []float64
	}{{name: "activated", addr: act.addr}, {name: "pasta", addr: pasta.addr}, {name: "slirp4netns", addr: slirp.addr}}
	const rounds = 5 // the machine is shared: medians of several
	for b.Loop() {
		for r := range rounds {
			for i := range targets {
				tg := &targets[(r+i)%len(targets)]
				d := throughput(b, echoTarget{"tcp4", tg.addr}, rootlessStreamBytes)
				tg.mbs = append(tg.mbs, float64(rootlessStreamBytes)/d.Seconds()/1e6)
			}
		}
	}
	med := map[string]float64{}
	for _, tg := range targets {
		m := slices.Clone(tg.mbs)
		slices.Sort(m)
		med[tg.name] = m[len(m)/2]
		b.Logf("%s %s: %.0f MB/s (rounds %.0f)", tg.name, tg.addr, med[tg.name], tg.mbs)
	}
	b.ReportMetric(0, "ns/op")
	for _, n := range []string{"activated", "pasta", "slirp4netns"} {
		b.ReportMetric(med[n], n+"-MB/s")
	}
	b.ReportMetric(med["pasta"]/med["activated"], "pasta/activated")
	b.ReportMetric(med["slirp4netns"]/med["activated"], "slirp4netns/activated")
	b.ReportMetric(med["pasta"]/med["slirp4netns"], "pasta/slirp4netns")
}
