package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/human"
	"github.com/socktui/socktui/internal/stats"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// benchLong is the help of `socktui bench`.
const benchLong = `Measure socket units as systemd activates them: the cold start of the
service (the first answer after an idle stop) over --cycles activations,
the warm round trip over --warm probes of every endpoint, and the
throughput of one connection echoing --bytes in 64 KiB writes on every
stream endpoint that echoes. Prints a table, or JSON with --json: p50, p90
and max per endpoint in milliseconds, with every sample.

A UNIT is a socket unit's name (echo: echo.socket), not a pattern: before
each cold cycle bench stops the services that socket triggers and resets
their start-limit counters (as systemctl reset-failed does; by default
StartLimitBurst= would refuse the sixth start in 10s), and it touches no
other unit. At the end each of them is as bench found it: stopped if it
was inactive, started again if it was active, also after ctrl+c or an
error. When one is active at the start bench says so and asks first; --yes
skips the question, and without a terminal to ask on --yes is required
(exit 2). A socket must be listening, not failed, and Accept=no.

Each cycle probes every endpoint at once, cold (see socktui probe --help
for what each kind proves): a cold probe ends once systemd reports the
service up. Cycles are paced to stay within the socket's trigger limit
(TriggerLimitBurst= per TriggerLimitIntervalSec=, 20 per 2s by default).
Progress goes to stderr; ctrl+c stops and restores.

Exit status: 0 when every probe passed, 1 when one did not or a unit
could not be measured, 2 on bad usage.`

// Defaults of `socktui bench`.
const (
	defaultBenchCycles = 20
	defaultBenchWarm   = 100
	defaultBenchBytes  = 64 << 20
	// benchWriteSize is the size of each write of a throughput run.
	benchWriteSize = 64 << 10
	// restoreTimeout bounds putting a unit back as it was found.
	restoreTimeout = 2 * time.Minute
	// stopTimeout bounds waiting for systemd to report a stopped
	// service idle.
	stopTimeout = 30 * time.Second
)

// newBenchCommand is `socktui bench UNIT...`; run gets the options once
// they are checked (runBench, or a test's).
func newBenchCommand(g *globals, run func(context.Context, benchOptions) error) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:               "bench UNIT...",
		Short:             "Measure cold activation, warm round trips and echo throughput of socket units",
		Long:              benchLong,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, units []string) error {
			opts, err := f.options(units, g.system)
			if err != nil {
				return err
			}
			if g.env.hosts.remote() {
				// Its round trips and throughput would be the ssh
				// tunnel's, not the socket's.
				return usagef("--host: bench measures sockets from the machine it runs on; run it on that host")
			}
			return run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.cycles, "cycles", defaultBenchCycles, "cold activations to measure: the service is stopped before each")
	fs.IntVar(&f.warm, "warm", defaultBenchWarm, "warm probes of each endpoint, one after another (0: none)")
	fs.StringVar(&f.bytes, "bytes", "64MiB", "`SIZE` to echo through each echoing stream endpoint, for throughput (K, M, G: KiB, MiB, GiB; 0: none)")
	fs.StringVar(&f.kind, "kind", string(unit.KindAuto), "probe `KIND`: auto, echo, connect or http (see socktui probe --help)")
	fs.DurationVar(&f.timeout, "timeout", probe.DefaultTimeout, "timeout of a warm probe, and of any pause in a throughput run")
	fs.DurationVar(&f.coldTimeout, "cold-timeout", probe.DefaultColdTimeout, "timeout of a cold probe, activation included")
	fs.BoolVarP(&f.yes, "yes", "y", false, "stop services that are active without asking")
	fs.BoolVar(&f.json, "json", false, "print JSON: one object per unit")
	return cmd
}

// benchFlags are the flags of `socktui bench` as given.
type benchFlags struct {
	cycles, warm         int
	bytes, kind          string
	timeout, coldTimeout time.Duration
	yes, json            bool
}

// benchOptions are the arguments of `socktui bench`, checked.
type benchOptions struct {
	units                []string // socket unit names, each once
	cycles, warm         int
	bytes                int64
	kind                 unit.Kind
	timeout, coldTimeout time.Duration
	yes, json, system    bool
}

// options checks the flags and the units named; bad input is a
// UsageError. Units are names of socket units, never patterns: bench
// stops what they trigger.
func (f benchFlags) options(units []string, system bool) (benchOptions, error) {
	opts := benchOptions{cycles: f.cycles, warm: f.warm, timeout: f.timeout, coldTimeout: f.coldTimeout,
		yes: f.yes, json: f.json, system: system}
	k, err := probe.ParseKind(f.kind)
	if err != nil {
		return benchOptions{}, usagef("--kind: %v", err)
	}
	opts.kind = k
	if opts.bytes, err = parseSize(f.bytes); err != nil {
		return benchOptions{}, usagef("--bytes: %v", err)
	}
	switch {
	case f.cycles < 1:
		return benchOptions{}, usagef("--cycles must be at least 1, not %d", f.cycles)
	case f.warm < 0:
		return benchOptions{}, usagef("--warm must not be negative, not %d", f.warm)
	case f.timeout <= 0 || f.coldTimeout <= 0:
		return benchOptions{}, usagef("timeouts must be positive")
	case len(units) == 0:
		return benchOptions{}, usagef("bench needs the name of at least one socket unit")
	}
	for _, u := range units {
		if err := systemdbus.CheckPattern(u); err != nil {
			return benchOptions{}, usagef("%v", err)
		}
		if isGlobName(u) {
			return benchOptions{}, usagef("bench stops the services of the sockets it measures: name each socket unit, not a pattern (%q)", u)
		}
		name := systemdbus.SocketName(u)
		if !strings.HasSuffix(name, ".socket") {
			return benchOptions{}, usagef("bench measures socket units: %q is not one (name the socket that triggers it)", u)
		}
		if !slices.Contains(opts.units, name) {
			opts.units = append(opts.units, name)
		}
	}
	return opts, nil
}

// parseSize reads a byte count: digits with an optional binary suffix K,
// M or G (KiB, MiB, GiB), with or without "iB" or "B", in any case:
// "65536", "64K", "64MiB", "1g". It refuses negatives and more than 1 TiB.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || t == "" || t[0] == '+' {
		return 0, fmt.Errorf("%q is not a size: want bytes, or a number with K, M or G (64MiB)", s)
	}
	const maxSize = 1 << 40
	if n > maxSize/mult {
		return 0, fmt.Errorf("%q is more than 1 TiB", s)
	}
	return n * mult, nil
}

// runBench is `socktui bench`: it connects to the manager, measures each
// unit named in turn and prints the results.
func runBench(ctx context.Context, env *Env, opts benchOptions) error {
	c, err := connect(ctx, env, opts.system)
	if err != nil {
		return err
	}
	defer c.Close()
	feed := newActivationFeed(c.Watch)
	defer feed.Close()
	b := &bencher{
		env:  env,
		opts: opts,
		m:    c,
		acts: feed,
		up: unitProber{
			p:    &probe.Prober{Timeout: opts.timeout, ColdTimeout: opts.coldTimeout, Activations: feed},
			kind: opts.kind,
			envs: c.ServiceEnvironments,
		},
		ask:      terminalAsk(ctx, env),
		progress: newProgressLine(env.Stderr),
	}
	return b.run(ctx)
}

// benchManager is what bench needs of a manager; *systemdbus.Client has
// it.
type benchManager interface {
	ListSockets(ctx context.Context, opts systemdbus.ListOptions) ([]unit.Socket, error)
	SocketFacts(ctx context.Context, socks []unit.Socket) (map[string]systemdbus.SocketFacts, error)
	StartUnit(ctx context.Context, name string) error
	StopUnit(ctx context.Context, name string) error
	ResetFailed(ctx context.Context, name string) error
	ReviveSocket(ctx context.Context, socket string, services []string) error
}

var _ benchManager = (*systemdbus.Client)(nil)

// bencher runs one `socktui bench`.
type bencher struct {
	env  *Env
	opts benchOptions
	m    benchManager
	// acts follows activations: the cold probes' (through up's Prober)
	// and bench's own wait for a stopped service to be reported idle.
	acts probe.ActivationWatcher
	up   unitProber
	// ask puts a yes/no question to the user; nil when there is no
	// terminal to ask on.
	ask      func(question string) (bool, error)
	progress *progressLine
}

// run lists and checks every unit, asks before stopping an active
// service, measures the units one after another and prints the results.
func (b *bencher) run(ctx context.Context) error {
	socks, err := b.m.ListSockets(ctx, systemdbus.ListOptions{Patterns: b.opts.units, All: true})
	if err != nil {
		return err
	}
	var todo []unit.Socket
	for _, name := range b.opts.units {
		i := slices.IndexFunc(socks, func(s unit.Socket) bool { return s.Unit == name })
		if i < 0 {
			return fmt.Errorf("no socket unit %s is loaded", name)
		}
		if err := benchable(socks[i]); err != nil {
			return err
		}
		todo = append(todo, socks[i])
	}
	if err := confirmStops(todo, b.opts, b.ask); err != nil {
		return err
	}
	facts, err := b.m.SocketFacts(ctx, todo)
	if err != nil {
		return err
	}
	var results []benchResult
	for _, s := range todo {
		fmt.Fprintln(b.env.Stderr, "socktui bench: "+benchPlan(s, b.opts))
		r, err := b.benchSocket(ctx, s, facts[s.Unit])
		b.progress.done()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				fmt.Fprintf(b.env.Stderr, "socktui bench: interrupted after %d of %d cycles of %s\n", r.Cycles, b.opts.cycles, termtext.Clean(s.Unit))
			}
			return err
		}
		results = append(results, r)
	}
	if b.opts.json {
		err = writeBenchJSON(b.env.Stdout, results)
	} else {
		err = writeBenchTable(b.env.Stdout, results)
	}
	if err != nil {
		return err
	}
	if slices.ContainsFunc(results, benchResult.failed) {
		return errSilent
	}
	return nil
}

// benchable says why bench cannot measure s, nil when it can: it must be
// loaded, Accept=no, listening, not failed, and trigger a service.
func benchable(s unit.Socket) error {
	name := termtext.Clean(s.Unit)
	switch {
	case s.LoadState != "loaded":
		return fmt.Errorf("%s is not loaded (%s)", name, termtext.Clean(s.LoadState))
	case s.Accept:
		return fmt.Errorf("%s has Accept=yes: every connection starts a service instance of its own, "+
			"so there is no service to stop between cycles; bench measures Accept=no sockets", name)
	case s.State == unit.StateFailed || s.ActiveState == unit.Failed:
		why := ""
		if s.Reason != "" {
			why = " (" + termtext.Clean(s.Reason) + ")"
		}
		return fmt.Errorf("%s is failed%s: reset it first (socktui reset-failed %s)", name, why, name)
	case !s.Listening():
		return fmt.Errorf("%s is not listening (%s): start it first (socktui start %s)", name, termtext.Clean(string(s.ActiveState)), name)
	case len(s.Services) == 0:
		return fmt.Errorf("%s triggers no service", name)
	}
	return nil
}

// upServices names the services of s that are up (active or starting).
func upServices(s unit.Socket) []string {
	var out []string
	for _, svc := range s.Services {
		if svc.Up() {
			out = append(out, svc.Unit)
		}
	}
	return out
}

// confirmStops is the rule for stopping a service that is active: with
// --yes bench goes ahead; otherwise it asks (ask), and without a
// terminal to ask on (ask nil) it refuses with a UsageError that says
// why. A question declined is an error: nothing was changed.
func confirmStops(socks []unit.Socket, opts benchOptions, ask func(string) (bool, error)) error {
	var active []string
	for _, s := range socks {
		active = append(active, upServices(s)...)
	}
	if len(active) == 0 || opts.yes {
		return nil
	}
	what := termtext.Clean(strings.Join(active, ", "))
	verb := "is"
	if len(active) > 1 {
		verb = "are"
	}
	if ask == nil {
		return usagef("%s %s active: bench would stop it before each of its %d cycles and start it again at the end, "+
			"cutting its connections; pass --yes to allow that (stdin is not a terminal to ask on)", what, verb, opts.cycles)
	}
	ok, err := ask(fmt.Sprintf("%s %s active: stop it before each of %d cold cycles and start it again at the end (its connections are cut)? [y/N] ",
		what, verb, opts.cycles))
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("not confirmed: nothing was changed")
	}
	return nil
}

// terminalAsk is the question bench puts on stderr and reads the answer
// to from stdin, when stdin is a terminal; nil otherwise. Ending ctx
// (ctrl+c) ends the wait for an answer.
func terminalAsk(ctx context.Context, env *Env) func(string) (bool, error) {
	f, ok := env.Stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	return func(question string) (bool, error) {
		fmt.Fprint(env.Stderr, question)
		answer := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
			answer <- line
		}()
		select {
		case line := <-answer:
			a := strings.ToLower(strings.TrimSpace(line))
			return a == "y" || a == "yes", nil
		case <-ctx.Done():
			fmt.Fprintln(env.Stderr)
			return false, ctx.Err()
		}
	}
}

// benchPlan says in one line what bench will do to s.
func benchPlan(s unit.Socket, opts benchOptions) string {
	services := make([]string, len(s.Services))
	for i, svc := range s.Services {
		services[i] = svc.Unit
	}
	svcs := termtext.Clean(strings.Join(services, ", "))
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d cold cycles (stopping %s before each)", termtext.Clean(s.Unit), opts.cycles, svcs)
	if opts.warm > 0 {
		fmt.Fprintf(&b, ", %d warm probes per endpoint", opts.warm)
	}
	if opts.bytes > 0 {
		fmt.Fprintf(&b, ", %s echoed per echoing stream endpoint", formatBytes(opts.bytes))
	}
	if up := upServices(s); len(up) > 0 {
		fmt.Fprintf(&b, "; then %s started again, as found", termtext.Clean(strings.Join(up, ", ")))
	} else {
		fmt.Fprintf(&b, "; then %s stopped again, as found", svcs)
	}
	return b.String()
}

// benchResult is what bench measured of one socket unit.
type benchResult struct {
	Unit     string
	Services []string
	// Cycles is the number of cold cycles run.
	Cycles    int
	Endpoints []endpointBench
}

// failed reports whether a probe or a throughput run of r did not pass.
func (r benchResult) failed() bool {
	return slices.ContainsFunc(r.Endpoints, func(e endpointBench) bool { return e.failed() })
}

// endpointBench is what bench measured of one endpoint.
type endpointBench struct {
	Type, Address string
	Network       unit.Network
	Kind          unit.Kind
	// Unsupported is why the endpoint cannot be probed on this host; ""
	// when it can.
	Unsupported string
	// Cold and Warm are the round trips of the probes that passed.
	Cold, Warm []time.Duration
	// ColdFailure is the first cold probe that did not pass (its outcome
	// and error), with the cycle it happened in; zero when none.
	ColdFailure probe.Result
	ColdCycle   int
	// WarmFailed counts the warm probes that did not pass, WarmFailure
	// is the first.
	WarmFailed  int
	WarmFailure probe.Result
	// Throughput is the echo run, nil when none was made; ThroughputErr
	// says why it failed.
	Throughput    *throughputRun
	ThroughputErr string
}

func (e endpointBench) failed() bool {
	return e.ColdFailure.Outcome != "" || e.WarmFailed > 0 || e.ThroughputErr != ""
}

// outcome is the endpoint's outcome in one word: ok, unsupported, or
// the outcome of its first failure (throughput: error).
func (e endpointBench) outcome() probe.Outcome {
	switch {
	case e.Unsupported != "":
		return probe.Unsupported
	case e.ColdFailure.Outcome != "":
		return e.ColdFailure.Outcome
	case e.WarmFailed > 0:
		return e.WarmFailure.Outcome
	case e.ThroughputErr != "":
		return probe.Error
	}
	return probe.OK
}

// benchSocket measures s: cycles of stopping its services and probing
// every endpoint cold, then warm probes, then throughput runs, and puts
// its services back as they were, whatever happened (restore). An error
// means the measurement could not go on (a stop that failed, ctrl+c);
// probes that did not pass are results, not errors.
func (b *bencher) benchSocket(ctx context.Context, s unit.Socket, facts systemdbus.SocketFacts) (r benchResult, err error) {
	r = benchResult{Unit: s.Unit}
	for _, svc := range s.Services {
		r.Services = append(r.Services, svc.Unit)
	}
	triggers := &pacer{burst: facts.TriggerLimitBurst, interval: facts.TriggerLimitInterval,
		what: fmt.Sprintf("%s may trigger its service %d times in %v (TriggerLimitBurst=)", s.Unit, facts.TriggerLimitBurst, facts.TriggerLimitInterval)}
	defer func() {
		if rerr := b.restore(s); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()

	ts := b.targets(ctx, s)
	r.Endpoints = make([]endpointBench, len(ts))
	for i, t := range ts {
		r.Endpoints[i] = endpointBench{Type: t.Type, Address: t.Address, Kind: t.Kind}
	}
	name := termtext.Clean(s.Unit)
	coldFailed := false
	for cycle := 1; cycle <= b.opts.cycles && !coldFailed; cycle++ {
		for _, svc := range r.Services {
			b.progress.update(fmt.Sprintf("%s: cycle %d/%d: stopping %s", name, cycle, b.opts.cycles, termtext.Clean(svc)))
			if err := b.m.StopUnit(ctx, svc); err != nil {
				return r, err
			}
			// Its start-limit counter would refuse the sixth start in
			// 10s (systemd's default StartLimitBurst=): reset it, as
			// systemctl reset-failed does.
			if err := b.m.ResetFailed(ctx, svc); err != nil {
				return r, err
			}
		}
		if err := b.waitIdle(ctx, s.Unit); err != nil {
			return r, err
		}
		if err := b.pace(ctx, fmt.Sprintf("%s: cycle %d/%d", name, cycle, b.opts.cycles), triggers); err != nil {
			return r, err
		}
		b.progress.update(fmt.Sprintf("%s: cycle %d/%d: probing %d endpoints cold", name, cycle, b.opts.cycles, len(ts)))
		cold := slices.Clone(ts)
		for i := range cold {
			cold[i].Cold = true
		}
		rs := collectResults(b.up.p.ProbeAll(ctx, cold), len(cold))
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		triggers.record(time.Now())
		r.Cycles = cycle
		var slowest time.Duration
		failure := ""
		for _, pr := range rs {
			e := &r.Endpoints[pr.Index]
			e.Network, e.Kind = pr.Network, pr.Kind
			switch {
			case pr.Outcome == probe.Unsupported:
				e.Unsupported = pr.Error
			case pr.Outcome == probe.OK:
				e.Cold = append(e.Cold, pr.RTT)
				slowest = max(slowest, pr.RTT)
			case e.ColdFailure.Outcome == "":
				e.ColdFailure, e.ColdCycle = pr, cycle
				coldFailed = true
				failure = failureText(pr)
			}
		}
		if coldFailed {
			b.progress.update(fmt.Sprintf("%s: cycle %d/%d: %s", name, cycle, b.opts.cycles, termtext.Clean(failure)))
		} else {
			b.progress.update(fmt.Sprintf("%s: cycle %d/%d: slowest cold answer %s", name, cycle, b.opts.cycles, human.Duration(slowest)))
		}
	}
	if coldFailed {
		// The service does not come up: warm probes would only start it
		// again.
		return r, nil
	}
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		if e.Unsupported != "" || b.opts.warm == 0 {
			continue
		}
		t := ts[i]
		t.Kind, t.Cold = e.Kind, false
		for n := 1; n <= b.opts.warm; n++ {
			// Elsewhere than on a terminal, one line per endpoint.
			if n == 1 || b.progress.tty && (n%10 == 0 || n == b.opts.warm) {
				b.progress.update(fmt.Sprintf("%s: warm %s %s: %d/%d", name, e.Network, termtext.Clean(e.Address), n, b.opts.warm))
			}
			pr := b.up.p.Probe(ctx, t)
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			if pr.Outcome == probe.OK {
				e.Warm = append(e.Warm, pr.RTT)
				continue
			}
			if e.WarmFailed == 0 {
				e.WarmFailure = pr
			}
			e.WarmFailed++
		}
	}
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		if b.opts.bytes == 0 || e.Kind != unit.KindEcho || !streamNetwork(e.Network) || e.failed() {
			continue
		}
		b.progress.update(fmt.Sprintf("%s: throughput %s %s: echoing %s", name, e.Network, termtext.Clean(e.Address), formatBytes(b.opts.bytes)))
		ep, err := probe.ParseListen(e.Type, e.Address)
		if err != nil {
			e.ThroughputErr = err.Error()
			continue
		}
		run, err := measureThroughput(ctx, ep, b.opts.bytes, b.opts.timeout)
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		if err != nil {
			e.ThroughputErr = err.Error()
			continue
		}
		e.Throughput = &run
	}
	return r, nil
}

// targets is every endpoint of s as probe targets (unit.Socket.Targets),
// each with the kind it is probed with: --kind, else the kind its service
// declares (unitProber), else probe's automatic choice.
func (b *bencher) targets(ctx context.Context, s unit.Socket) []unit.Target {
	ts := s.Targets()
	if b.up.kind != unit.KindAuto && b.up.kind != "" {
		for i := range ts {
			ts[i].Kind = b.up.kind
		}
		return ts
	}
	b.up.declareKinds(ctx, ts)
	for i := range ts {
		if ts[i].Kind == unit.KindAuto || ts[i].Kind == "" {
			ts[i].Kind = probe.ChooseKind(ts[i].Unit, ts[i].Exec)
		}
	}
	return ts
}

// streamNetwork reports whether n is a byte stream a throughput run can
// use (vsock aside: this host cannot loop it back, and a probe says so).
func streamNetwork(n unit.Network) bool {
	switch n {
	case unit.TCP4, unit.TCP6, unit.Unix:
		return true
	}
	return false
}

// waitIdle waits until the activation watcher reports socket's services
// stopped (idle, or failed as they stopped), so that the next probe finds
// them cold and follows a new activation.
func (b *bencher) waitIdle(ctx context.Context, socket string) error {
	wctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	acts, err := b.acts.FollowActivation(wctx, socket)
	if err != nil {
		return fmt.Errorf("following %s: %w", socket, err)
	}
	for a := range acts {
		if a.State == probe.ActivationIdle || a.State == probe.ActivationFailed {
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: systemd did not report its service stopped within %v", socket, stopTimeout)
}

// pace waits, telling the progress line why, until one more start keeps
// within every pacer's limit.
func (b *bencher) pace(ctx context.Context, prefix string, ps ...*pacer) error {
	for {
		now := time.Now()
		var wait time.Duration
		var why string
		for _, p := range ps {
			if w := p.wait(now); w > wait {
				wait, why = w, p.what
			}
		}
		if wait <= 0 {
			return nil
		}
		b.progress.update(fmt.Sprintf("%s: waiting %.1fs: %s", prefix, wait.Seconds(), termtext.Clean(why)))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// restore puts s's services (and s) back as before says they were: a
// service that was up is started again, one that was not is stopped (its
// listening socket stopped around it, so that no queued connection
// activates it again), a
// failure bench caused is reset, a socket that stopped listening listens
// again. It runs to its end even when the bench was interrupted (its own
// context, bounded by restoreTimeout), and then checks the result.
func (b *bencher) restore(before unit.Socket) error {
	ctx, cancel := context.WithTimeout(context.Background(), restoreTimeout)
	defer cancel()
	cur, err := b.find(ctx, before.Unit)
	if err != nil {
		return fmt.Errorf("restoring %s: %w", before.Unit, err)
	}
	var errs []error
	if before.Listening() && !cur.Listening() {
		if err := b.m.ReviveSocket(ctx, before.Unit, cur.FailedServices()); err != nil {
			errs = append(errs, err)
		}
	}
	var toStop []string
	for _, was := range before.Services {
		now := serviceIn(cur, was.Unit)
		switch {
		case was.Up() && !now.Up():
			b.progress.update(fmt.Sprintf("%s: starting %s again", termtext.Clean(before.Unit), termtext.Clean(was.Unit)))
			// A failure bench caused, and the start limit, as in each
			// cycle.
			if err := b.m.ResetFailed(ctx, was.Unit); err != nil {
				errs = append(errs, err)
			}
			if err := b.m.StartUnit(ctx, was.Unit); err != nil {
				errs = append(errs, err)
			}
		case !was.Up() && now.Up():
			b.progress.update(fmt.Sprintf("%s: stopping %s again", termtext.Clean(before.Unit), termtext.Clean(was.Unit)))
			toStop = append(toStop, was.Unit)
		}
	}
	if len(toStop) > 0 {
		// A connection of an interrupted probe may still wait in the
		// socket's queue (a closed one too, until accepted): it would
		// activate the service again the moment it stopped (seen: the
		// service back 10 ms after its stop). With the socket stopped
		// first nothing can trigger it, and the socket starts again
		// with an empty queue.
		listening := before.Listening() && cur.Listening()
		if listening {
			if err := b.m.StopUnit(ctx, before.Unit); err != nil {
				errs = append(errs, err)
			}
		}
		for _, u := range toStop {
			if err := b.m.StopUnit(ctx, u); err != nil {
				errs = append(errs, err)
			}
		}
		if listening {
			if err := b.m.StartUnit(ctx, before.Unit); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		// A service that failed under bench, or as it was stopped, was
		// not failed when bench found it.
		after, err := b.find(ctx, before.Unit)
		if err != nil {
			errs = append(errs, err)
		}
		for _, was := range before.Services {
			if err == nil && serviceIn(after, was.Unit).Failed() && !was.Failed() {
				if err := b.m.ResetFailed(ctx, was.Unit); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if len(errs) == 0 {
		after, err := b.find(ctx, before.Unit)
		if err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, restoredDiff(before, after))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restoring %s as it was found: %w", before.Unit, err)
	}
	return nil
}

// restoredDiff says how after differs from before in what bench promises
// to restore: whether the socket listens, and whether each service is up
// and whether it is failed; nil when it does not.
func restoredDiff(before, after unit.Socket) error {
	var errs []error
	if before.Listening() != after.Listening() {
		errs = append(errs, fmt.Errorf("%s is %s, it was %s", before.Unit, after.ActiveState, before.ActiveState))
	}
	for _, was := range before.Services {
		if now := serviceIn(after, was.Unit); was.Up() != now.Up() || now.Failed() != was.Failed() {
			errs = append(errs, fmt.Errorf("%s is %s, it was %s", was.Unit, now.ActiveState, was.ActiveState))
		}
	}
	return errors.Join(errs...)
}

// serviceIn is the service named name of s; an inactive one when s does
// not list it.
func serviceIn(s unit.Socket, name string) unit.Service {
	for _, svc := range s.Services {
		if svc.Unit == name {
			return svc
		}
	}
	return unit.Service{Unit: name, ActiveState: unit.Inactive}
}

// find lists the socket unit name.
func (b *bencher) find(ctx context.Context, name string) (unit.Socket, error) {
	socks, err := b.m.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{name}, All: true})
	if err != nil {
		return unit.Socket{}, err
	}
	for _, s := range socks {
		if s.Unit == name {
			return s, nil
		}
	}
	return unit.Socket{}, fmt.Errorf("%s is gone", name)
}

// pacer keeps a run of activations within one of systemd's rate limits:
// at most burst events per interval (TriggerLimitBurst= per
// TriggerLimitIntervalSec= of a socket). It allows one fewer, leaving room
// for one bench did not see, and is no limit when burst or interval is
// zero. Events are recorded when bench knows systemd counted them (after
// a cold probe ended with the service up), never before, so a window ends
// no earlier for the pacer than for systemd.
type pacer struct {
	burst    uint32
	interval time.Duration
	what     string // the limit in words, for the progress line
	events   []time.Time
}

// pacerMargin is added to each wait, for clocks read a moment apart.
const pacerMargin = 50 * time.Millisecond

// record notes one event at t.
func (p *pacer) record(t time.Time) {
	p.events = append(p.events, t)
	slices.SortFunc(p.events, func(a, b time.Time) int { return a.Compare(b) })
}

// wait is how long after now one more event keeps every window of
// interval with at most the allowed number of events; 0 when it may
// happen now.
func (p *pacer) wait(now time.Time) time.Duration {
	if p.burst == 0 || p.interval <= 0 {
		return 0
	}
	allowed := max(int(p.burst)-1, 1)
	var recent []time.Time
	for _, t := range p.events {
		if now.Sub(t) < p.interval+pacerMargin {
			recent = append(recent, t)
		}
	}
	if len(recent) < allowed {
		return 0
	}
	// The oldest event that must leave the window first.
	oldest := recent[len(recent)-allowed]
	return oldest.Add(p.interval + pacerMargin).Sub(now)
}

// throughputRun is one connection echoing a number of bytes.
type throughputRun struct {
	Bytes     int64
	WriteSize int
	Elapsed   time.Duration
}

// MBps is the run's throughput in megabytes (10^6 bytes) per second.
func (t throughputRun) MBps() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.Bytes) / t.Elapsed.Seconds() / 1e6
}

// measureThroughput opens one stream connection to ep, writes total bytes
// in benchWriteSize writes while reading the echo back, checks that every
// byte came back unchanged, and times it from the first write to the last
// byte read. It reads exactly total bytes, whatever the peer sends. Any
// pause of more than timeout (connecting included) fails the run; ending
// ctx stops it at once.
func measureThroughput(ctx context.Context, ep probe.Endpoint, total int64, timeout time.Duration) (throughputRun, error) {
	run := throughputRun{Bytes: total, WriteSize: benchWriteSize}
	if !streamNetwork(ep.Network) || !ep.Probeable {
		return run, fmt.Errorf("throughput needs a stream socket, not %s", ep.Network)
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, timeout)
	c, err := d.DialContext(dctx, string(ep.Network), ep.Dial)
	cancel()
	if err != nil {
		return run, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	// Ending ctx sets a deadline in the past. Each loop sets its own
	// deadline and then checks ctx: a deadline set after the AfterFunc ran
	// would otherwise hide the cancellation until timeout.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	pattern := make([]byte, benchWriteSize)
	for i := range pattern {
		pattern[i] = byte(i % 251) // 251 is prime: a shift shows
	}
	start := time.Now()
	wrote := make(chan error, 1)
	go func() {
		var sent int64
		for sent < total {
			n := int(min(int64(len(pattern)), total-sent))
			c.SetWriteDeadline(time.Now().Add(timeout))
			if err := ctx.Err(); err != nil {
				wrote <- fmt.Errorf("send after %d bytes: %w", sent, err)
				return
			}
			k, err := c.Write(pattern[:n])
			sent += int64(k)
			if err != nil {
				wrote <- fmt.Errorf("send after %d bytes: %w", sent, err)
				return
			}
		}
		wrote <- nil
	}()
	fail := func(err error) (throughputRun, error) {
		c.SetDeadline(time.Unix(1, 0)) // end the writer
		<-wrote
		return run, err
	}
	buf := make([]byte, benchWriteSize)
	var got int64
	for got < total {
		c.SetReadDeadline(time.Now().Add(timeout))
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("reply after %d of %d bytes: %w", got, total, err))
		}
		n, err := c.Read(buf[:min(int64(len(buf)), total-got)])
		if n > 0 {
			if off := echoMismatch(buf[:n], pattern, got); off >= 0 {
				return fail(fmt.Errorf("byte %d came back changed", off))
			}
			got += int64(n)
		}
		if err != nil && got < total {
			switch {
			case errors.Is(err, io.EOF):
				return fail(fmt.Errorf("connection closed by the server after %d of %d bytes came back", got, total))
			case errors.Is(err, syscall.ECONNRESET):
				return fail(fmt.Errorf("connection reset by the server after %d of %d bytes came back", got, total))
			case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
				return fail(fmt.Errorf("reply after %d of %d bytes: %w", got, total, ctx.Err()))
			case errors.Is(err, os.ErrDeadlineExceeded):
				return fail(fmt.Errorf("nothing came back for %v after %d of %d bytes", timeout, got, total))
			}
			return fail(fmt.Errorf("reply after %d of %d bytes: %w", got, total, err))
		}
	}
	run.Elapsed = time.Since(start)
	if err := <-wrote; err != nil {
		return run, err
	}
	return run, nil
}

// echoMismatch is the stream offset of the first byte of b (read at
// stream offset off) that is not the pattern's, repeated; -1 when all are.
func echoMismatch(b, pattern []byte, off int64) int64 {
	for len(b) > 0 {
		p := int(off % int64(len(pattern)))
		n := min(len(b), len(pattern)-p)
		if !bytes.Equal(b[:n], pattern[p:p+n]) {
			for i := range n {
				if b[i] != pattern[p+i] {
					return off + int64(i)
				}
			}
		}
		b, off = b[n:], off+int64(n)
	}
	return -1
}

// progressLine is bench's progress on stderr: on a terminal one line
// that each update replaces, elsewhere one line per update.
type progressLine struct {
	w     io.Writer
	tty   bool
	width int
	shown bool
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w, width: 80}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		p.tty = true
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 1 {
			p.width = int(ws.Col)
		}
	}
	return p
}

// update shows msg (already clean of terminal controls).
func (p *progressLine) update(msg string) {
	if !p.tty {
		fmt.Fprintln(p.w, "socktui bench: "+msg)
		return
	}
	// A line wider than the terminal would wrap, and \r would then
	// rewrite only its last row.
	fmt.Fprint(p.w, "\r\x1b[K"+termtext.Cut("socktui bench: "+msg, p.width-1))
	p.shown = true
}

// done clears the terminal's progress line.
func (p *progressLine) done() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// formatBytes shows a byte count in binary units: "64 MiB", "1.5 GiB",
// "512 B".
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// writeBenchTable writes the results as an aligned table, per unit its
// cold rows, then its warm rows, then its throughput rows, one per
// endpoint: unit, endpoint, network, kind, measure, samples, p50, p90,
// max, and the throughput or the failure in words. A throughput row is
// one run (N 1): its figure is in DETAIL.
func writeBenchTable(w io.Writer, rs []benchResult) error {
	const detailRunes = 120
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tENDPOINT\tNETWORK\tKIND\tMEASURE\tN\tP50\tP90\tMAX\tDETAIL")
	row := func(r benchResult, e endpointBench, measure string, n int, ds []time.Duration, detail string) {
		p50, p90, mx := "-", "-", "-"
		if s := stats.Summarize(ds); s.N > 0 {
			p50, p90, mx = human.Duration(s.P50), human.Duration(s.P90), human.Duration(s.Max)
		}
		network := string(e.Network)
		if network == "" {
			network = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", termtext.Clean(r.Unit), termtext.Clean(e.Address),
			network, e.Kind, measure, n, p50, p90, mx, termtext.Cut(termtext.Clean(detail), detailRunes))
	}
	for _, r := range rs {
		for _, e := range r.Endpoints {
			detail := ""
			switch {
			case e.Unsupported != "":
				detail = "unsupported: " + e.Unsupported
			case e.ColdFailure.Outcome != "":
				detail = fmt.Sprintf("cycle %d: %s", e.ColdCycle, failureText(e.ColdFailure))
			}
			row(r, e, "cold", len(e.Cold), e.Cold, detail)
		}
		for _, e := range r.Endpoints {
			if e.Unsupported != "" || (len(e.Warm) == 0 && e.WarmFailed == 0) {
				continue
			}
			detail := ""
			if e.WarmFailed > 0 {
				detail = fmt.Sprintf("%d of %d failed: %s", e.WarmFailed, e.WarmFailed+len(e.Warm), failureText(e.WarmFailure))
			}
			row(r, e, "warm", len(e.Warm), e.Warm, detail)
		}
		for _, e := range r.Endpoints {
			var detail string
			switch {
			case e.Throughput != nil:
				t := e.Throughput
				detail = fmt.Sprintf("%.0f MB/s: %s echoed in %s, %s writes", t.MBps(), formatBytes(t.Bytes), human.Duration(t.Elapsed), formatBytes(int64(t.WriteSize)))
			case e.ThroughputErr != "":
				detail = "failed: " + e.ThroughputErr
			default:
				continue
			}
			row(r, e, "throughput", 1, nil, detail)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeTrimmed(w, b.String())
}

// failureText is a probe that did not pass in words: its outcome and
// error.
func failureText(r probe.Result) string {
	return strings.TrimSpace(string(r.Outcome) + ": " + r.Error)
}

// benchJSON is one element of `socktui bench --json`.
type benchJSON struct {
	Unit      string              `json:"unit"`
	Services  []string            `json:"services"`
	Cycles    int                 `json:"cycles"`
	Endpoints []benchEndpointJSON `json:"endpoints"`
}

// benchEndpointJSON is one endpoint of a benchJSON.
type benchEndpointJSON struct {
	Type    string `json:"type"`
	Address string `json:"address"`
	Network string `json:"network"`
	Kind    string `json:"kind"`
	// Outcome is ok, unsupported, or the outcome of the first probe that
	// did not pass; Error says why.
	Outcome    string          `json:"outcome"`
	Error      string          `json:"error"`
	Cold       distJSON        `json:"cold"`
	Warm       distJSON        `json:"warm"`
	WarmFailed int             `json:"warmFailed"`
	Throughput *throughputJSON `json:"throughput"`
}

// distJSON is a distribution of round trips, in milliseconds.
type distJSON struct {
	N         int       `json:"n"`
	P50ms     float64   `json:"p50Ms"`
	P90ms     float64   `json:"p90Ms"`
	MaxMs     float64   `json:"maxMs"`
	SamplesMs []float64 `json:"samplesMs"`
}

// throughputJSON is one throughput run.
type throughputJSON struct {
	Bytes      int64   `json:"bytes"`
	WriteBytes int     `json:"writeBytes"`
	Seconds    float64 `json:"seconds"`
	MBps       float64 `json:"mbPerS"`
}

// toMs is d in milliseconds, to the microsecond.
func toMs(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

func distOf(ds []time.Duration) distJSON {
	s := stats.Summarize(ds)
	out := distJSON{N: s.N, P50ms: toMs(s.P50), P90ms: toMs(s.P90), MaxMs: toMs(s.Max), SamplesMs: make([]float64, len(ds))}
	for i, d := range ds {
		out.SamplesMs[i] = toMs(d)
	}
	return out
}

// writeBenchJSON writes the results as a JSON array, one object per unit
// with the keys unit, services, cycles and endpoints; each endpoint has
// type, address, network, kind, outcome, error, cold and warm (each n,
// p50Ms, p90Ms, maxMs and samplesMs, in the order measured), warmFailed,
// and throughput (bytes, writeBytes, seconds, mbPerS), null when no run
// was made.
func writeBenchJSON(w io.Writer, rs []benchResult) error {
	out := make([]benchJSON, len(rs))
	for i, r := range rs {
		j := benchJSON{Unit: r.Unit, Services: r.Services, Cycles: r.Cycles, Endpoints: make([]benchEndpointJSON, len(r.Endpoints))}
		if j.Services == nil {
			j.Services = []string{}
		}
		for k, e := range r.Endpoints {
			ej := benchEndpointJSON{Type: e.Type, Address: e.Address, Network: string(e.Network), Kind: string(e.Kind),
				Outcome: string(e.outcome()), Cold: distOf(e.Cold), Warm: distOf(e.Warm), WarmFailed: e.WarmFailed}
			switch {
			case e.Unsupported != "":
				ej.Error = e.Unsupported
			case e.ColdFailure.Outcome != "":
				ej.Error = fmt.Sprintf("cycle %d: %s", e.ColdCycle, e.ColdFailure.Error)
			case e.WarmFailed > 0:
				ej.Error = e.WarmFailure.Error
			case e.ThroughputErr != "":
				ej.Error = "throughput: " + e.ThroughputErr
			}
			if t := e.Throughput; t != nil {
				ej.Throughput = &throughputJSON{Bytes: t.Bytes, WriteBytes: t.WriteSize,
					Seconds: math.Round(t.Elapsed.Seconds()*1e6) / 1e6, MBps: math.Round(t.MBps()*10) / 10}
			}
			j.Endpoints[k] = ej
		}
		out[i] = j
	}
	return encodeJSON(w, out)
}
