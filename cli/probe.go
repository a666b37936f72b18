package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/internal/human"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// probeLong is the help of `socktui probe`.
const probeLong = `Probe every endpoint of the socket units named, or of every listening
socket unit when none is, and print a table, or JSON with --json. The exit
status is 1 when a probe failed.

A UNIT is a unit name or a glob, matched as systemd matches them; a name
without a type suffix means a .socket unit (echo: echo.socket).

Probe kinds (--kind), and what their ok proves:
` + kindHelp

// kindHelp says what each probe kind proves, for --help.
const kindHelp = `  echo     a random line sent comes back
  http     GET / (/_ping for the Podman API) gets a status below 500
  connect  the endpoint takes the connection, nothing more
  auto     chosen per name: SOCKTUI_PROBE in the service's environment,
           else echo for socktui's echo, http for web servers and the
           Podman API, else connect
A cold probe (its service not running) also follows the activation it
starts: ok only once the service came up (connect: and stayed up for
--settle); failed, at once, when the service or the socket failed.`

// newProbeCommand is `socktui probe [UNIT...]`; run gets the options once
// they are checked (runProbe, or a test's).
func newProbeCommand(g *globals, run func(context.Context, probeOptions) error) *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:               "probe [UNIT...]",
		Short:             "Probe every endpoint of socket units",
		Long:              probeLong,
		ValidArgsFunction: completeUnits(g),
		RunE: func(cmd *cobra.Command, units []string) error {
			opts, err := f.options(units, g.system)
			if err != nil {
				return err
			}
			return run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.kind, "kind", string(unit.KindAuto), "probe `KIND`: auto, echo, connect or http (see above)")
	fs.DurationVar(&f.timeout, "timeout", probe.DefaultTimeout, "timeout of a probe whose service is already active")
	fs.DurationVar(&f.coldTimeout, "cold-timeout", probe.DefaultColdTimeout, "timeout of a probe that must first activate its service")
	fs.DurationVar(&f.settle, "settle", probe.DefaultSettle, "how long a cold connect probe watches the service it started stay up")
	fs.BoolVar(&f.json, "json", false, "print a JSON array of results")
	return cmd
}

// runProbe is `socktui probe`: it probes every endpoint of the socket units
// named (all listening ones when none), prints a table or JSON, and fails
// (exit status 1) when a probe did, 2 on bad usage.
func runProbe(ctx context.Context, env *Env, opts probeOptions) error {
	c, err := connect(ctx, env, opts.system)
	if err != nil {
		return err
	}
	defer c.Close()
	list := func(ctx context.Context, patterns []string) ([]unit.Socket, error) {
		return c.ListSockets(ctx, systemdbus.ListOptions{Patterns: patterns})
	}
	feed := newActivationFeed(c.Watch)
	defer feed.Close()
	p := unitProber{
		p:    &probe.Prober{Timeout: opts.timeout, ColdTimeout: opts.coldTimeout, Settle: opts.settle, Activations: feed},
		kind: unit.KindAuto, // probeTargets sets --kind
		envs: c.ServiceEnvironments,
	}
	// With --host: on that host's loopback (hosts.go).
	rp := env.hosts.prober(p, p.p, opts.system, remoteProbeOptions{kind: opts.kind, timeout: opts.timeout,
		coldTimeout: opts.coldTimeout, settle: opts.settle})
	return probeUnits(ctx, env, opts, list, rp)
}

// probeFlags are the flags of `socktui probe` as given.
type probeFlags struct {
	kind                         string
	timeout, coldTimeout, settle time.Duration
	json                         bool
}

// probeOptions are the arguments of `socktui probe`, checked.
type probeOptions struct {
	units       []string
	kind        unit.Kind
	timeout     time.Duration
	coldTimeout time.Duration
	settle      time.Duration
	json        bool
	system      bool
}

// options checks the flags and the units named and returns the options,
// bare unit names completed to .socket ones; bad input is a UsageError.
func (f probeFlags) options(units []string, system bool) (probeOptions, error) {
	k, err := probe.ParseKind(f.kind)
	if err != nil {
		return probeOptions{}, usagef("--kind: %v", err)
	}
	opts := probeOptions{kind: k, timeout: f.timeout, coldTimeout: f.coldTimeout, settle: f.settle, json: f.json, system: system}
	if opts.timeout <= 0 || opts.coldTimeout <= 0 || opts.settle <= 0 {
		return probeOptions{}, usagef("timeouts and --settle must be positive")
	}
	for _, u := range units {
		if err := systemdbus.CheckPattern(u); err != nil {
			return probeOptions{}, usagef("%v", err)
		}
		opts.units = append(opts.units, systemdbus.SocketName(u))
	}
	return opts, nil
}

// listSocketsFunc lists the socket units that match patterns (all when
// none).
type listSocketsFunc func(ctx context.Context, patterns []string) ([]unit.Socket, error)

// prober runs probes; *probe.Prober is one.
type prober interface {
	ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result
}

var _ prober = (*probe.Prober)(nil)

// probeUnits lists the socket units, probes every endpoint and prints the
// results. It returns errSilent when a probe failed (an outcome other than
// ok or unsupported), once the results are printed.
func probeUnits(ctx context.Context, env *Env, opts probeOptions, list listSocketsFunc, p prober) error {
	socks, err := list(ctx, opts.units)
	if err != nil {
		return err
	}
	if len(opts.units) > 0 {
		for _, pat := range opts.units {
			if !slices.ContainsFunc(socks, func(s unit.Socket) bool { return matchUnit(pat, s.Unit) }) {
				return fmt.Errorf("no active or failed socket unit matches %q", pat)
			}
		}
	}
	ts := probeTargets(socks, opts.kind, len(opts.units) > 0)
	if len(ts) == 0 && !opts.json {
		fmt.Fprintln(env.Stderr, "socktui probe: no listening socket unit to probe")
		return nil
	}
	rs := collectResults(p.ProbeAll(ctx, ts), len(ts))
	if opts.json {
		err = writeProbeJSON(env.Stdout, rs)
	} else {
		err = writeProbeTable(env.Stdout, rs)
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if probeFailed(rs) {
		return errSilent
	}
	return nil
}

// matchUnit reports whether a unit name matches a pattern as systemd
// matches them (fnmatch without escapes: systemdbus.MatchPattern).
func matchUnit(pattern, name string) bool {
	// fnmatch without escapes: "my\x2dapp.socket" names itself.
	return systemdbus.MatchPattern(pattern, name)
}

// probeTargets is every endpoint of the socket units as probe targets
// (unit.Socket.Targets: the one builder), in unit and Listen order. Without explicit
// units only listening sockets are probed. kind overrides the automatic
// choice unless it is KindAuto.
func probeTargets(socks []unit.Socket, kind unit.Kind, explicit bool) []unit.Target {
	var ts []unit.Target
	for _, s := range socks {
		if !explicit && !s.Listening() {
			continue
		}
		for _, t := range s.Targets() {
			t.Kind = kind
			ts = append(ts, t)
		}
	}
	return ts
}

// collectResults reads n results (fewer if ch closes first) and returns
// them in target order.
func collectResults(ch <-chan probe.Result, n int) []probe.Result {
	rs := make([]probe.Result, 0, n)
	for r := range ch {
		rs = append(rs, r)
	}
	slices.SortStableFunc(rs, func(a, b probe.Result) int { return a.Index - b.Index })
	return rs
}

// probeFailed reports whether any outcome did not pass.
func probeFailed(rs []probe.Result) bool {
	return slices.ContainsFunc(rs, func(r probe.Result) bool { return !r.Outcome.Passed() })
}

// jsonResult is one element of `socktui probe --json`.
type jsonResult struct {
	Unit    string  `json:"unit"`
	Type    string  `json:"type"`
	Address string  `json:"address"`
	Network string  `json:"network"`
	Kind    string  `json:"kind"`
	Outcome string  `json:"outcome"`
	RTTms   float64 `json:"rttMs"`
	Cold    bool    `json:"cold"`
	Error   string  `json:"error"`
	Status  string  `json:"status,omitempty"`
}

// writeProbeJSON writes the results as a JSON array (empty: []), one
// object per endpoint with the keys unit, type, address, network, kind,
// outcome, rttMs, cold, error, and status for http probes.
func writeProbeJSON(w io.Writer, rs []probe.Result) error {
	out := make([]jsonResult, len(rs))
	for i, r := range rs {
		out[i] = jsonResult{Unit: r.Unit, Type: r.Type, Address: r.Address, Network: string(r.Network),
			Kind: string(r.Kind), Outcome: string(r.Outcome), RTTms: r.RTTms, Cold: r.Cold, Error: r.Error, Status: r.Status}
	}
	return encodeJSON(w, out)
}

// writeProbeTable writes the results as an aligned table: unit, endpoint,
// network, kind, outcome, RTT, cold or warm, and the status line or error.
func writeProbeTable(w io.Writer, rs []probe.Result) error {
	// A server's reply or an error can be long; the table shows its start
	// (JSON keeps all of it).
	const detailRunes = 120
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tENDPOINT\tNETWORK\tKIND\tOUTCOME\tRTT\tSTART\tDETAIL")
	for _, r := range rs {
		start := "warm"
		if r.Cold {
			start = "cold"
		}
		rtt := "-"
		if r.RTT > 0 && r.Outcome != probe.Unsupported {
			rtt = human.Duration(r.RTT)
		}
		detail := r.Error
		if r.Status != "" {
			detail = strings.TrimSpace(r.Status + " " + detail)
		}
		network := string(r.Network)
		if network == "" {
			network = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Clean(r.Unit), termtext.Clean(r.Address),
			network, r.Kind, r.Outcome, rtt, start,
			termtext.Cut(termtext.Clean(detail), detailRunes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeTrimmed(w, b.String())
}

// writeTrimmed writes a tabwriter table without the padding that a row
// whose last cell is empty would end in.
func writeTrimmed(w io.Writer, table string) error {
	lines := strings.Split(table, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}
