package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/demo"
	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/internal/podmancmd"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
)

const doctorLong = `Diagnose socket units: for each one (every socket unit, or those named),
what is wrong or slow about it, its service and its container, with the
evidence and the fix. Severities: error (activation cannot work), warning
(it works, slower or riskier than it should), info (a choice worth
knowing). The exit status is 1 when any finding is an error or a warning.

A UNIT is a unit name or a glob, matched as systemd matches them; a name
without a type suffix means a .socket unit (echo: echo.socket).

--probe also probes every endpoint (starting services that are idle) to
find endpoints that accept but never answer, and times a plain podman run
of each container's image against its cold activation. Without it those
two checks are listed as not checked.

--json prints a JSON array of findings, each with the keys unit, check,
severity, evidence and fix; the checks that could not run are listed in
the text output only.`

// doctorOptions are the arguments of `socktui doctor`.
type doctorOptions struct {
	units       []string
	json, probe bool
}

// newDoctorCommand is `socktui doctor [UNIT...]`.
func newDoctorCommand(g *globals) *cobra.Command {
	var o doctorOptions
	cmd := &cobra.Command{
		Use:               "doctor [UNIT...]",
		Short:             "Say why socket-activated services are slow or broken, with the fix",
		Long:              doctorLong,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, units []string) error {
			o.units = units
			return runDoctor(cmd.Context(), g, o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print a JSON array of findings")
	cmd.Flags().BoolVar(&o.probe, "probe", false, "also probe every endpoint and time a plain podman run of each image")
	return cmd
}

// runDoctor is `socktui doctor [UNIT...] [--json] [--probe]`.
func runDoctor(ctx context.Context, g *globals, o doctorOptions) error {
	for _, p := range o.units {
		if err := systemdbus.CheckPattern(p); err != nil {
			return usagef("%v", err)
		}
	}
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return err
	}
	defer c.Close()
	// Podman runs with this process's environment: that of the manager
	// whose containers are meant, as for systemctl --user.
	pm, pmErr := podman.Find(nil)
	gt := &doctorGatherer{
		list: func(ctx context.Context, patterns []string) ([]unit.Socket, error) {
			return c.ListSockets(ctx, systemdbus.ListOptions{Patterns: patterns, All: true})
		},
		facts:  c.SocketFacts,
		podman: pm,
		noPod:  pmErr,
		selinux: func(ctx context.Context) (podman.SELinux, error) {
			return podman.HostSELinux(ctx, podman.SELinuxFS, nil)
		},
	}
	if o.probe {
		feed := newActivationFeed(c.Watch)
		defer feed.Close()
		gt.prober = unitProber{p: &probe.Prober{Activations: feed}, kind: unit.KindAuto, envs: c.ServiceEnvironments}
		gt.queued = readQueued
		gt.plainRun = pm.TimePlainRun
	}
	g.env.hosts.remoteDoctor(ctx, gt, g.system) // --host: facts from that host (hosts.go)
	return doctorUnits(ctx, g.env, o, gt)
}

// doctorUnits gathers the facts of the socket units o names, diagnoses
// them and prints the findings; errSilent when one is an error or a
// warning.
func doctorUnits(ctx context.Context, env *Env, o doctorOptions, gt *doctorGatherer) error {
	pats := make([]string, 0, len(o.units))
	for _, u := range o.units {
		pats = append(pats, systemdbus.SocketName(u))
	}
	facts, err := gt.gather(ctx, pats)
	if err != nil {
		if errors.Is(err, systemdbus.ErrBadPattern) {
			return usagef("%v", err)
		}
		return err
	}
	var all []doctor.Finding
	reports := make([]doctorReport, 0, len(facts))
	for _, f := range facts {
		fs, skipped := doctor.Diagnose(f)
		all = append(all, fs...)
		reports = append(reports, doctorReport{unit: f.Socket.Unit, findings: fs, skipped: skipped})
	}
	if o.json {
		if all == nil {
			all = []doctor.Finding{}
		}
		err = encodeJSON(env.Stdout, all)
	} else {
		_, err = io.WriteString(env.Stdout, doctorText(reports, doctorWidth))
	}
	if err != nil {
		return err
	}
	if doctor.Serious(all) {
		return errSilent
	}
	return nil
}

// doctorGatherer gathers the doctor's facts of socket units: the listing
// and the services' properties from the manager, the images from Podman,
// SELinux from the host and, with a prober, what probing measures.
type doctorGatherer struct {
	list  listSocketsFunc
	facts func(ctx context.Context, socks []unit.Socket) (map[string]systemdbus.SocketFacts, error)
	// podman asks about images; noPod is why there is none (podman not
	// installed).
	podman  imageAsker
	noPod   error
	selinux func(ctx context.Context) (podman.SELinux, error)
	// prober, when set, probes every endpoint; queued then reads the
	// accept queues of TCP listeners, and plainRun times a plain podman
	// run of an image.
	prober   prober
	queued   func() (map[netip.AddrPort]int, error)
	plainRun func(ctx context.Context, name, image string, args []string) (time.Duration, error)
}

// imageAsker is what the doctor asks Podman (podman.Podman).
type imageAsker interface {
	ImageExists(ctx context.Context, image string) (bool, error)
	InspectImage(ctx context.Context, image string) (podman.ImageConfig, error)
}

var _ imageAsker = podman.Podman{}

// notProbed is why the checks that need a probe did not run.
const notProbed = "run socktui doctor --probe to measure it"

// gather lists the socket units matching pats (all when none; each pattern
// must match one) and reads every fact the checks need.
func (gt *doctorGatherer) gather(ctx context.Context, pats []string) ([]doctor.Facts, error) {
	socks, err := gt.list(ctx, pats)
	if err != nil {
		return nil, err
	}
	for _, pat := range pats {
		if !slices.ContainsFunc(socks, func(s unit.Socket) bool { return matchUnit(pat, s.Unit) }) {
			return nil, fmt.Errorf("no socket unit matches %q", pat)
		}
	}
	probes := map[string]doctor.Fact[doctor.Probe]{}
	if gt.prober != nil {
		var rs []probe.Result
		rs, socks, err = gt.probe(ctx, socks, pats)
		if err != nil {
			return nil, err
		}
		probes = gt.probeFacts(ctx, socks, rs)
	}
	return gt.factsOf(ctx, socks, probes)
}

// factsOf reads every fact of socks but what a probe measures, which
// probes holds (a unit it lacks was not probed).
func (gt *doctorGatherer) factsOf(ctx context.Context, socks []unit.Socket, probes map[string]doctor.Fact[doctor.Probe]) ([]doctor.Facts, error) {
	sf, err := gt.facts(ctx, socks)
	if err != nil {
		return nil, err
	}
	se := doctor.Unknown[doctor.SELinux]("")
	if s, err := gt.selinux(ctx); err != nil {
		se.Why = err.Error()
	} else {
		se = doctor.Known(doctor.SELinux{Enabled: s.Enabled, Enforcing: s.Enforcing, ContainerSELinux: s.ContainerSELinux})
	}
	images := map[string]doctor.Fact[doctor.Image]{}
	out := make([]doctor.Facts, 0, len(socks))
	for _, s := range socks {
		f := doctor.Facts{Socket: s, SELinux: se, Probe: doctor.Unknown[doctor.Probe](notProbed)}
		if p, ok := probes[s.Unit]; ok {
			f.Probe = p
		}
		x := sf[s.Unit]
		f.TriggerLimitBurst, f.TriggerLimitInterval, f.Namesake = x.TriggerLimitBurst, x.TriggerLimitInterval, x.Namesake
		f.Service = doctor.Known(doctorService(x.Service))
		f.Image = gt.image(ctx, x.Service.Exec, images)
		out = append(out, f)
	}
	return out, nil
}

// doctorService is systemdbus's ServiceFacts as the doctor reads them.
func doctorService(s systemdbus.ServiceFacts) doctor.Service {
	return doctor.Service{Unit: s.Unit, Template: s.Template, LoadState: s.LoadState, ActiveState: s.ActiveState,
		SubState: s.SubState, Result: s.Result, Type: s.Type, NotifyAccess: s.NotifyAccess, SourcePath: s.SourcePath,
		FragmentPath: s.FragmentPath, UnitFileState: s.UnitFileState, Requires: s.Requires, Wants: s.Wants, After: s.After,
		StartLimitBurst: s.StartLimitBurst, StartLimitInterval: s.StartLimitInterval, StartLimit: s.TimeoutStart, Exec: s.Exec}
}

// image asks Podman about the image a service's command line runs, once
// per image (seen); not Checked when it runs none or Podman cannot tell.
// Each question is bounded by 10 s.
func (gt *doctorGatherer) image(ctx context.Context, exec []string, seen map[string]doctor.Fact[doctor.Image]) doctor.Fact[doctor.Image] {
	cmd := podmancmd.Parse(exec)
	if cmd.Image == "" || cmd.Rootfs || (cmd.Subcommand != "run" && cmd.Subcommand != "create") {
		return doctor.Unknown[doctor.Image]("the service runs no container image")
	}
	if f, ok := seen[cmd.Image]; ok {
		return f
	}
	f := gt.askImage(ctx, cmd.Image)
	seen[cmd.Image] = f
	return f
}

func (gt *doctorGatherer) askImage(ctx context.Context, name string) doctor.Fact[doctor.Image] {
	if gt.noPod != nil || gt.podman == nil {
		why := "podman is not installed"
		if gt.noPod != nil {
			why = gt.noPod.Error()
		}
		return doctor.Unknown[doctor.Image](why)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	local, err := gt.podman.ImageExists(ctx, name)
	if err != nil {
		return doctor.Unknown[doctor.Image](err.Error())
	}
	img := doctor.Image{Name: name, Local: local, Config: doctor.Unknown[doctor.ImageConfig]("the image is not in local storage")}
	if local {
		c, err := gt.podman.InspectImage(ctx, name)
		if err != nil {
			img.Config = doctor.Unknown[doctor.ImageConfig](err.Error())
		} else {
			img.Config = doctor.Known(doctor.ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd})
		}
	}
	return doctor.Known(img)
}

// probe probes every endpoint of the listening sockets and lists them again
// afterwards: the facts are read from the state the probes left.
func (gt *doctorGatherer) probe(ctx context.Context, socks []unit.Socket, pats []string) ([]probe.Result, []unit.Socket, error) {
	ts := probeTargets(socks, unit.KindAuto, false)
	rs := collectResults(gt.prober.ProbeAll(ctx, ts), len(ts))
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	after, err := gt.list(ctx, pats)
	if err != nil {
		return nil, nil, err
	}
	return rs, after, nil
}

// plainRuns numbers the containers TimePlainRun starts, for their names.
var plainRuns atomic.Int64

// probeFacts is what the probe measured, per socket: its results, the
// accept queues of its TCP listeners when its service is up, and the plain
// podman run of its image when a cold probe answered.
func (gt *doctorGatherer) probeFacts(ctx context.Context, socks []unit.Socket, rs []probe.Result) map[string]doctor.Fact[doctor.Probe] {
	queued, qErr := map[netip.AddrPort]int{}, error(nil)
	if gt.queued != nil {
		queued, qErr = gt.queued()
	}
	out := make(map[string]doctor.Fact[doctor.Probe], len(socks))
	for _, s := range socks {
		p := doctor.Probe{Plain: doctor.Unknown[time.Duration]("no cold probe answered")}
		for _, r := range rs {
			if r.Unit == s.Unit {
				p.Results = append(p.Results, r)
			}
		}
		if len(p.Results) == 0 {
			out[s.Unit] = doctor.Unknown[doctor.Probe]("the socket is not listening: nothing to probe")
			continue
		}
		if qErr == nil && s.ServiceUp() {
			p.Queued = queuedOf(s.Listen, queued)
		}
		if cold := slices.ContainsFunc(p.Results, func(r probe.Result) bool { return r.Cold && r.Outcome == probe.OK }); cold && gt.plainRun != nil {
			p.Plain = gt.timePlain(ctx, s)
		}
		out[s.Unit] = doctor.Known(p)
	}
	return out
}

// timePlain times a plain podman run of the image the socket's service
// runs, with the service's command, within a minute.
func (gt *doctorGatherer) timePlain(ctx context.Context, s unit.Socket) doctor.Fact[time.Duration] {
	if len(s.Services) != 1 {
		return doctor.Unknown[time.Duration]("the socket has no one service")
	}
	cmd := podmancmd.Parse(s.Services[0].Exec)
	if cmd.Image == "" || cmd.Rootfs || cmd.Subcommand != "run" {
		return doctor.Unknown[time.Duration]("the service runs no image with podman run")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	name := fmt.Sprintf("socktui-doctor-%d-%d", os.Getpid(), plainRuns.Add(1))
	d, err := gt.plainRun(ctx, name, cmd.Image, cmd.Args)
	if err != nil {
		return doctor.Unknown[time.Duration](err.Error())
	}
	return doctor.Known(d)
}

// queuedOf maps each TCP listen address of a socket to the connections in
// its accept queue (from queued, by address); a bare port matches the
// wildcard listener of that port.
func queuedOf(listen []unit.Listen, queued map[netip.AddrPort]int) map[string]int {
	out := map[string]int{}
	for _, l := range listen {
		if n := l.Network(); n != unit.TCP4 && n != unit.TCP6 {
			continue
		}
		var keys []netip.AddrPort
		if port, err := strconv.ParseUint(l.Address, 10, 16); err == nil {
			keys = []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)),
				netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))}
		} else if ap, err := netip.ParseAddrPort(l.Address); err == nil {
			keys = []netip.AddrPort{netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port())}
		}
		for _, k := range keys {
			if n := queued[k]; n > 0 {
				out[l.Address] = n
			}
		}
	}
	return out
}

// readQueued reads the accept queues of this network namespace's TCP
// listeners from /proc/net/tcp and tcp6, at most 16 MiB of each.
func readQueued() (map[netip.AddrPort]int, error) {
	out := map[netip.AddrPort]int{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		err = parseQueued(io.LimitReader(f, 16<<20), out)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return out, nil
}

// parseQueued reads a /proc/net/tcp or tcp6 table into out: for each
// listening socket (st 0A), its local address and its rx_queue, which for
// a listener is the number of connections waiting to be accepted.
func parseQueued(r io.Reader, out map[netip.AddrPort]int) error {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false // the header
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[3] != "0A" {
			continue
		}
		ap, ok := procAddr(f[1])
		_, rx, ok2 := strings.Cut(f[4], ":")
		n, err := strconv.ParseUint(rx, 16, 32)
		if !ok || !ok2 || err != nil {
			continue
		}
		out[ap] += int(n)
	}
	return sc.Err()
}

// procAddr reads a /proc/net/tcp address, "0100007F:0BB8" (the address as
// 32-bit words in host byte order, little-endian here, then the port).
func procAddr(s string) (netip.AddrPort, bool) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil || (len(hexAddr) != 8 && len(hexAddr) != 32) {
		return netip.AddrPort{}, false
	}
	b := make([]byte, len(hexAddr)/2)
	for i := 0; i < len(hexAddr)/8; i++ {
		w, err := strconv.ParseUint(hexAddr[i*8:i*8+8], 16, 32)
		if err != nil {
			return netip.AddrPort{}, false
		}
		b[i*4], b[i*4+1], b[i*4+2], b[i*4+3] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24)
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}

// doctorReport is one unit's findings and the checks that could not run.
type doctorReport struct {
	unit     string
	findings []doctor.Finding
	skipped  []doctor.NotChecked
}

// doctorWidth is the width of the text output: an 80-column terminal.
const doctorWidth = 80

// doctorText is the text output: per unit a line with its name and count
// of findings, then each finding (severity and check, evidence, fix) and
// the checks that could not run, wrapped to width columns. Every text goes
// through termtext.Clean.
func doctorText(reports []doctorReport, width int) string {
	if len(reports) == 0 {
		return "No socket units.\n"
	}
	var b strings.Builder
	for i, r := range reports {
		if i > 0 {
			b.WriteString("\n")
		}
		head := termtext.Clean(r.unit) + ": " + countFindings(r.findings)
		writeWrapped(&b, head, "", "    ", width)
		for _, f := range r.findings {
			fmt.Fprintf(&b, "  %-7s  %s\n", termtext.Clean(string(f.Severity)), termtext.Clean(string(f.Check)))
			writeWrapped(&b, "evidence: "+termtext.Clean(f.Evidence), "    ", "      ", width)
			writeWrapped(&b, "fix: "+termtext.Clean(f.Fix), "    ", "      ", width)
		}
		for _, group := range groupSkipped(r.skipped) {
			writeWrapped(&b, "not checked: "+group, "  ", "    ", width)
		}
	}
	return b.String()
}

// countFindings says how many findings of each severity: "no findings",
// "1 error, 2 warnings".
func countFindings(fs []doctor.Finding) string {
	if len(fs) == 0 {
		return "no findings"
	}
	var parts []string
	for _, s := range []doctor.Severity{doctor.Error, doctor.Warning, doctor.Info} {
		n := 0
		for _, f := range fs {
			if f.Severity == s {
				n++
			}
		}
		switch {
		case n == 1 || n > 1 && s == doctor.Info:
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// groupSkipped joins the checks that could not run for the same reason:
// "no-answer, cold-start (run socktui doctor --probe to measure it)".
func groupSkipped(skipped []doctor.NotChecked) []string {
	var whys []string
	checks := map[string][]string{}
	for _, s := range skipped {
		why := termtext.Clean(s.Why)
		if _, ok := checks[why]; !ok {
			whys = append(whys, why)
		}
		checks[why] = append(checks[why], string(s.Check))
	}
	out := make([]string, 0, len(whys))
	for _, why := range whys {
		out = append(out, strings.Join(checks[why], ", ")+" ("+why+")")
	}
	return out
}

// writeWrapped writes text wrapped to width: its first line after first,
// the others after rest.
func writeWrapped(b *strings.Builder, text, first, rest string, width int) {
	for i, l := range wrapWords(text, width-len(first), width-len(rest)) {
		if i == 0 {
			b.WriteString(first + l + "\n")
		} else {
			b.WriteString(rest + l + "\n")
		}
	}
}

// wrapWords breaks text at spaces into lines of at most first columns (the
// first line) and rest columns (the others); a word longer than a line is
// cut. Widths are counted in runes: termtext.Clean's output has no
// control characters, and the doctor's texts are not East Asian wide.
func wrapWords(text string, first, rest int) []string {
	var lines []string
	var line []rune
	width := max(first, 1)
	flush := func() {
		lines = append(lines, string(line))
		line = line[:0]
		width = max(rest, 1)
	}
	for _, word := range strings.Fields(text) {
		w := []rune(word)
		switch {
		case len(line) > 0 && len(line)+1+len(w) <= width:
			line = append(append(line, ' '), w...)
			continue
		case len(line) > 0:
			flush()
		}
		for len(w) > width {
			line = append(line, w[:width]...)
			w = w[width:]
			flush()
		}
		line = append(line, w...)
	}
	if len(line) > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// uiDoctor is the UI's Doctor: the gatherer without a prober, the UI's own
// probe results standing in for the probe facts (a plain podman run is
// measured by socktui doctor --probe only).
type uiDoctor struct{ gt *doctorGatherer }

var _ ui.Doctor = uiDoctor{}

// newUIDoctor is the UI's Doctor on client; podmanEnv is Podman's
// environment (nil: this process's).
func newUIDoctor(client *systemdbus.Client, podmanEnv []string) uiDoctor {
	pm, pmErr := podman.Find(podmanEnv)
	return uiDoctor{gt: &doctorGatherer{facts: client.SocketFacts, podman: pm, noPod: pmErr,
		selinux: func(ctx context.Context) (podman.SELinux, error) {
			return podman.HostSELinux(ctx, podman.SELinuxFS, nil)
		}}}
}

// Diagnose implements ui.Doctor.
func (d uiDoctor) Diagnose(ctx context.Context, socks []unit.Socket, probes map[string][]probe.Result) (map[string][]doctor.Finding, error) {
	pf := make(map[string]doctor.Fact[doctor.Probe], len(probes))
	for name, rs := range probes {
		if len(rs) > 0 {
			pf[name] = doctor.Known(doctor.Probe{Results: rs, Plain: doctor.Unknown[time.Duration](notProbed)})
		}
	}
	facts, err := d.gt.factsOf(ctx, socks, pf)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]doctor.Finding, len(facts))
	for _, f := range facts {
		if fs, _ := doctor.Diagnose(f); len(fs) > 0 {
			out[f.Socket.Unit] = fs
		}
	}
	return out, nil
}

// demoPodmanEnv is Podman's environment for a demo: its sandbox's, when
// it runs one (nil: this process's).
func demoPodmanEnv(sess *demo.Session) []string {
	if sess.Sandbox != nil {
		return sess.Sandbox.Env()
	}
	return nil
}
