package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/journal"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/remote"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// sshEnv names the ssh client command line socktui runs for --host
// ("ssh" when unset), split at spaces: SOCKTUI_SSH="ssh -F ~/other_config".
const sshEnv = "SOCKTUI_SSH"

// hostUsage is --host's help.
const hostUsage = "reach the manager of another `[USER@]HOST[:PORT]` over ssh (repeatable in the UI): " +
	"the system ssh client with your ~/.ssh/config, agent, ProxyJump and known_hosts, never prompting (BatchMode); " +
	"nothing but sshd and systemd is needed there ($SOCKTUI_SSH replaces the ssh command)"

// hostSet is --host: the remote hosts named, each opened (one ssh master
// connection) on first use and closed when Run ends. A nil or empty set
// means this machine. It is a pflag.Value; a bad target is a flag error,
// so bad usage.
type hostSet struct {
	targets []remote.Target

	mu     sync.Mutex
	opened map[string]*remote.Host // by hostKey
}

func (s *hostSet) String() string {
	if s == nil {
		return ""
	}
	names := make([]string, len(s.targets))
	for i, t := range s.targets {
		names[i] = t.String()
	}
	return strings.Join(names, ",")
}

// Set adds a target; --host may be given more than once. A target given
// again is the same host, kept once: the UI would show each of its units
// twice under one name, over two ssh connections.
func (s *hostSet) Set(v string) error {
	t, err := remote.ParseTarget(v)
	if err != nil {
		return err
	}
	if !slices.Contains(s.targets, t) {
		s.targets = append(s.targets, t)
	}
	return nil
}

func (s *hostSet) Type() string { return "host" }

// remote reports whether --host was given.
func (s *hostSet) remote() bool { return s != nil && len(s.targets) > 0 }

// targetList is the hosts named, in the order given; nil without --host.
func (s *hostSet) targetList() []remote.Target {
	if s == nil {
		return nil
	}
	return s.targets
}

func hostKey(t remote.Target, system bool) string { return fmt.Sprintf("%s %v", t, system) }

// open returns the host t, opening it once per Run (and manager).
func (s *hostSet) open(ctx context.Context, env *Env, t remote.Target, system bool) (*remote.Host, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.opened[hostKey(t, system)]; ok {
		return h, nil
	}
	h, err := remote.Open(ctx, t, remote.Options{SSH: sshCommand(env), System: system})
	if err != nil {
		return nil, err
	}
	if s.opened == nil {
		s.opened = map[string]*remote.Host{}
	}
	s.opened[hostKey(t, system)] = h
	return h, nil
}

// only is the one host a command other than the UI talks to, once
// connect opened it; nil without --host.
func (s *hostSet) only(system bool) *remote.Host {
	if !s.remote() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened[hostKey(s.targets[0], system)]
}

// close ends every ssh connection opened.
func (s *hostSet) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, h := range s.opened {
		h.Close()
		delete(s.opened, k)
	}
}

// sshCommand is the ssh client command line: $SOCKTUI_SSH or "ssh".
func sshCommand(env *Env) []string {
	if f := strings.Fields(env.Getenv(sshEnv)); len(f) > 0 {
		return f
	}
	return []string{"ssh"}
}

// connectRemote is connect with --host: the manager of that host over
// ssh. Commands talk to one host; list (runListHosts) and the UI (runUIHosts) take several.
func connectRemote(ctx context.Context, env *Env, system bool) (*systemdbus.Client, error) {
	if len(env.hosts.targets) > 1 {
		return nil, usagef("--host: this command talks to one host; list and the UI (socktui without a command) take several")
	}
	return env.hosts.connect(ctx, env, env.hosts.targets[0], system)
}

// connect opens host t (once per Run) and connects to its manager over
// the ssh connection.
func (s *hostSet) connect(ctx context.Context, env *Env, t remote.Target, system bool) (*systemdbus.Client, error) {
	h, err := s.open(ctx, env, t, system)
	if err != nil {
		return nil, err
	}
	return systemdbus.Connect(ctx, systemdbus.Options{System: system, Dial: h.DialDBus})
}

// remoteProbeOptions are what a remote `socktui probe` is told.
type remoteProbeOptions struct {
	kind                         unit.Kind
	timeout, coldTimeout, settle time.Duration
}

// defaultProbeOptions are a remote probe's options where no flag sets
// them (the UI, the doctor): kind and the probe package's defaults.
func defaultProbeOptions(kind unit.Kind) remoteProbeOptions {
	return remoteProbeOptions{kind: kind, timeout: probe.DefaultTimeout, coldTimeout: probe.DefaultColdTimeout, settle: probe.DefaultSettle}
}

// prober is p for this machine, or with --host a prober of the host's
// endpoints on that host's own loopback (remoteProber); base is p's
// Prober, which gets the host's dialer.
func (s *hostSet) prober(p prober, base *probe.Prober, system bool, o remoteProbeOptions) prober {
	h := s.only(system)
	if h == nil {
		return p
	}
	return newRemoteProber(h, p, base, system, o)
}

// newRemoteProber is the prober of h's endpoints on h's own loopback: p
// (whose Prober is base, which gets h's dialer) for what ssh forwards,
// socktui probe --json on h for the rest.
func newRemoteProber(h *remote.Host, p prober, base *probe.Prober, system bool, o remoteProbeOptions) *remoteProber {
	base.Dial = h.DialContext
	return &remoteProber{h: h, local: p, system: system, opts: o}
}

// remoteProber probes the endpoints of a remote host's units on that host.
// Stream endpoints (tcp4, tcp6, unix paths) go through ssh's forwarding to
// the host's loopback with the local prober, which follows activations
// over the remote manager's D-Bus as locally. A unit with any other
// endpoint (a datagram, seqpacket or vsock one, which ssh cannot carry) is
// probed whole by `socktui probe --json` run on that host, when socktui is
// in its PATH; otherwise its streams are probed through forwarding and the
// rest is Unsupported, saying so.
type remoteProber struct {
	h      *remote.Host
	local  prober
	system bool
	opts   remoteProbeOptions

	once     sync.Once
	hasProbe error // why the host has no socktui, nil when it has
}

// maxRemoteProbeOutput bounds what a remote socktui probe may print.
const maxRemoteProbeOutput = 4 << 20

// forwardable reports whether ssh can carry a probe of t's endpoint.
func forwardable(t unit.Target) bool {
	ep, err := probe.ParseListen(t.Type, t.Address)
	if err != nil || !ep.Probeable {
		return true // the local prober reports it as it would here
	}
	switch ep.Network {
	case unit.TCP4, unit.TCP6:
		return true
	case unit.Unix:
		return strings.HasPrefix(ep.Dial, "/")
	}
	return false
}

// ProbeAll delivers one result per target, with Index its position in ts.
func (r *remoteProber) ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result {
	out := make(chan probe.Result, len(ts))
	whole := map[string]bool{} // units probed by the remote socktui
	for _, t := range ts {
		if !forwardable(t) {
			whole[t.Unit] = true
		}
	}
	if len(whole) > 0 {
		r.once.Do(func() {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			_, err := r.h.Output(cctx, "sh", "-c", "command -v socktui")
			if err != nil {
				r.hasProbe = fmt.Errorf("socktui is not installed in the PATH of %s", r.h)
			}
		})
		if r.hasProbe != nil {
			clear(whole)
		}
	}
	var local, there []int
	for i, t := range ts {
		if whole[t.Unit] {
			there = append(there, i)
		} else {
			local = append(local, i)
		}
	}
	var wg sync.WaitGroup
	if len(local) > 0 {
		sub := make([]unit.Target, len(local))
		for j, i := range local {
			sub[j] = ts[i]
		}
		wg.Go(func() {
			for res := range r.local.ProbeAll(ctx, sub) {
				res.Index = local[res.Index]
				if res.Outcome == probe.Unsupported && !forwardable(ts[res.Index]) {
					res.Error = fmt.Sprintf("%s endpoints of a remote host are probed on that host by socktui probe --json, and %v",
						res.Network, r.hasProbe)
				}
				out <- res
			}
		})
	}
	if len(there) > 0 {
		wg.Go(func() {
			for _, res := range r.probeThere(ctx, ts, there) {
				out <- res
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	return out
}

// probeThere runs socktui probe --json on the host for the units of
// ts[idx...] and returns a result for each of those targets.
func (r *remoteProber) probeThere(ctx context.Context, ts []unit.Target, idx []int) []probe.Result {
	var units []string
	for _, i := range idx {
		if !slices.Contains(units, ts[i].Unit) {
			units = append(units, ts[i].Unit)
		}
	}
	args := []string{"probe", "--json", "--timeout", r.opts.timeout.String(), "--cold-timeout", r.opts.coldTimeout.String(),
		"--settle", r.opts.settle.String()}
	if r.system {
		args = append([]string{"--system"}, args...)
	}
	if r.opts.kind != "" && r.opts.kind != unit.KindAuto {
		args = append(args, "--kind", string(r.opts.kind))
	}
	args = append(args, "--")
	args = append(args, units...)
	got, runErr := r.runRemote(ctx, args)
	rs := make([]probe.Result, 0, len(idx))
	for _, i := range idx {
		t := ts[i]
		res := probe.Unprobed(t, i, probe.Error, "")
		j := slices.IndexFunc(got, func(g jsonResult) bool {
			return g.Unit == t.Unit && g.Type == t.Type && g.Address == t.Address
		})
		switch {
		case j >= 0:
			g := got[j]
			res.Kind = unit.Kind(termtext.Clean(g.Kind))
			if k, err := probe.ParseKind(g.Kind); err == nil {
				res.Kind = k
			}
			res.Outcome = probe.Outcome(g.Outcome)
			switch res.Outcome {
			case probe.OK, probe.Mismatch, probe.Timeout, probe.Refused, probe.Unsupported, probe.Error, probe.Failed:
			default:
				res.Outcome = probe.Error
			}
			res.RTTms = g.RTTms
			if !math.IsNaN(g.RTTms) && g.RTTms > 0 && g.RTTms < 1e9 {
				res.RTT = time.Duration(g.RTTms * float64(time.Millisecond))
			}
			res.Cold, res.Status, res.Error = g.Cold, g.Status, g.Error
		case runErr != nil:
			res.Error = "socktui probe on " + r.h.String() + ": " + runErr.Error()
		default:
			res.Error = "socktui probe on " + r.h.String() + " reported nothing for this endpoint"
		}
		rs = append(rs, res)
	}
	return rs
}

// runRemote runs socktui ARGS on the host and reads its JSON results;
// exit status 1 (a probe failed) still has them.
func (r *remoteProber) runRemote(ctx context.Context, args []string) ([]jsonResult, error) {
	cmd := r.h.Command(ctx, "socktui", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4 << 10}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(io.LimitReader(stdout, maxRemoteProbeOutput))
	_, _ = io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	var got []jsonResult
	if err := json.Unmarshal(b, &got); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if werr != nil && msg != "" {
			return nil, errors.New(termtext.Clean(msg))
		}
		return nil, fmt.Errorf("its output is not JSON results: %v", err)
	}
	return got, nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// journalReader is, with --host, the journal of the host: journalctl run
// there over ssh (through remote.Wrapper; journalctl has no -H), its user
// journal (the system journal with --system), or the journal of a socktui
// sandbox when the host's manager is one. ok is false without --host.
func (s *hostSet) journalReader(system bool) (r *journal.Reader, ok bool) {
	h := s.only(system)
	if h == nil {
		return nil, s.remote()
	}
	return hostJournal(context.Background(), h, system), true
}

// hostJournal is the journal of host h read over ssh: its user journal
// (the system journal with system), or its socktui sandbox's. It asks h
// whether a sandbox's journal is there (I/O, at most 10 s and bounded by
// ctx, so that a host closed while connecting is not waited for).
func hostJournal(ctx context.Context, h *remote.Host, system bool) *journal.Reader {
	r := &journal.Reader{System: system}
	if w, err := h.Wrapper("journalctl"); err == nil {
		r.Journalctl = w
	}
	if !system {
		// A socktui sandbox's manager keeps its own journal (see
		// sandbox.JournalDirIn).
		dir := h.RuntimeDir() + "/socktui-log/journal"
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := h.Output(ctx, "test", "-d", dir); err == nil {
			r.Dir = dir
		}
	}
	return r
}

// remoteDoctor points the doctor's gatherer at the host: Podman's facts
// from the host's podman over ssh, the rest it cannot read there (SELinux,
// accept queues) not checked, with the reason.
func (s *hostSet) remoteDoctor(ctx context.Context, gt *doctorGatherer, system bool) {
	h := s.only(system)
	if h == nil {
		return
	}
	hostDoctor(ctx, gt, h)
	if up, ok := gt.prober.(unitProber); ok {
		gt.prober = s.prober(up, up.p, system, defaultProbeOptions(unit.KindAuto))
	}
}

// hostDoctor points gt's Podman, SELinux and accept-queue facts at host
// h, as remoteDoctor does, but not its prober. It asks h whether podman
// is installed (I/O, bounded by ctx).
func hostDoctor(ctx context.Context, gt *doctorGatherer, h *remote.Host) {
	var pm podman.Podman
	gt.podman, gt.noPod = pm, fmt.Errorf("podman is not installed on %s", h)
	if _, err := h.Output(ctx, "sh", "-c", "command -v podman"); err == nil {
		if w, err := h.Wrapper("podman"); err == nil {
			pm = podman.Podman{Path: w}
			gt.podman, gt.noPod = pm, nil
		}
	}
	gt.selinux = func(context.Context) (podman.SELinux, error) {
		return podman.SELinux{}, fmt.Errorf("SELinux is not read on a remote host (%s)", h)
	}
	gt.queued = nil
	if gt.plainRun != nil {
		gt.plainRun = nil
		if pm.Path != "" {
			gt.plainRun = pm.TimePlainRun
		}
	}
}
