// Package doctor says why a socket-activated service is slow or broken, in
// words, with the fix: Diagnose runs socktui's checks over the facts
// gathered once about one socket unit (its service, the service's
// container, the host's SELinux, the last probe) and returns its findings.
//
// It is pure: it does no I/O and reads nothing but its Facts; the cli
// package gathers them (systemdbus, internal/podman, the prober). A fact
// that could not be gathered is a Fact with Checked false and the reason:
// the checks that need it report that they did not run (NotChecked) and
// never guess. The texts of a Finding quote what systemd, a unit file or
// Podman said: a terminal shows them through termtext.Clean.
package doctor

import (
	"cmp"
	"slices"
	"time"

	"github.com/socktui/socktui/internal/podmancmd"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// Severity is how bad a finding is.
type Severity string

// The severities, worst first.
const (
	// Error: activation cannot work.
	Error Severity = "error"
	// Warning: it works, but slower or riskier than it should.
	Warning Severity = "warning"
	// Info: a choice worth knowing about.
	Info Severity = "info"
)

// rank orders severities, worst first.
func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Check names one check. The names are stable: `socktui doctor --json`
// prints them, and scripts match on them.
type Check string

// The checks, in the order Diagnose runs them.
const (
	CheckImagePull        Check = "image-pull"            // the image is not local, or the pull policy makes a connection wait
	CheckPublishedPort    Check = "published-port"        // -p beside socket activation
	CheckContainerNetwork Check = "container-network"     // a network other than none when every listener is activated
	CheckAcceptContainer  Check = "accept-per-connection" // Accept=yes with a container: one per connection
	CheckContainerSystemd Check = "container-systemd"     // the container runs systemd
	CheckNotify           Check = "notify"                // Type=notify wiring that hangs
	CheckService          Check = "service"               // the socket's service is missing, another one, or started by hand
	CheckStartLimit       Check = "start-limit"           // a start or trigger limit was hit
	CheckQuadletNetwork   Check = "quadlet-network-wait"  // Quadlet waits on podman-user-wait-network-online.service
	CheckSELinux          Check = "selinux-label"         // enforcing SELinux with an old container-selinux
	CheckNoAnswer         Check = "no-answer"             // the endpoint accepts but never answers
	CheckExposed          Check = "exposed-listener"      // a listener on a non-loopback address
	CheckColdStart        Check = "cold-start"            // cold activation slower than a plain podman run
)

// Checks is every check, in the order Diagnose runs them.
var Checks = []Check{
	CheckImagePull, CheckPublishedPort, CheckContainerNetwork, CheckAcceptContainer, CheckContainerSystemd,
	CheckNotify, CheckService, CheckStartLimit, CheckQuadletNetwork, CheckSELinux, CheckNoAnswer,
	CheckExposed, CheckColdStart,
}

// Action is a fix socktui can apply itself.
type Action string

// The actions.
const (
	// ActionResetFailed: reset-failed the socket and its failed services
	// and start the socket listening again (socktui reset-failed, the UI's
	// R).
	ActionResetFailed Action = "reset-failed"
)

// Finding is one thing wrong or slow about a socket unit. Its JSON keys
// (unit, check, severity, evidence, fix) are stable.
type Finding struct {
	// Unit is the socket unit the finding is about.
	Unit string `json:"unit"`
	// Check is the check that found it.
	Check Check `json:"check"`
	// Severity is how bad it is.
	Severity Severity `json:"severity"`
	// Evidence is what shows it: a property, a command line, a
	// measurement.
	Evidence string `json:"evidence"`
	// Fix is the line to add or change, or the command to run.
	Fix string `json:"fix"`
	// Action is the fix socktui can apply itself, "" when it cannot.
	Action Action `json:"-"`
}

// NotChecked is a check that could not run on a unit: a fact it needs is
// missing. It is not a finding.
type NotChecked struct {
	Unit  string `json:"unit"`
	Check Check  `json:"check"`
	Why   string `json:"why"`
}

// Fact is one gathered fact that may be missing: Checked is false, with
// Why, when it could not be gathered.
type Fact[T any] struct {
	Value   T
	Checked bool
	Why     string
}

// Known is a fact that was gathered.
func Known[T any](v T) Fact[T] { return Fact[T]{Value: v, Checked: true} }

// Unknown is a fact that could not be gathered, and why.
func Unknown[T any](why string) Fact[T] { return Fact[T]{Why: why} }

// Facts is everything the checks read about one socket unit.
type Facts struct {
	// Socket is the socket unit as a listing reports it.
	Socket unit.Socket
	// TriggerLimitBurst and TriggerLimitInterval are the socket's
	// TriggerLimitBurst= and TriggerLimitIntervalSec=.
	TriggerLimitBurst    uint32
	TriggerLimitInterval time.Duration
	// Service is the service the socket activates: for an Accept=no socket
	// the one it triggers, for an Accept=yes socket an instance of its
	// template (Service.Template names it). Its Unit is "" when the socket
	// names none.
	Service Fact[Service]
	// Namesake is the LoadState of the service named after the socket
	// (web.socket: web.service) when the socket activates another one
	// (Service=); "" otherwise.
	Namesake string
	// Image is what Podman knows of the image the service's container
	// runs; not Checked when the service runs no container (nothing to
	// check) or Podman could not tell (Why says which).
	Image Fact[Image]
	// SELinux is the host's SELinux.
	SELinux Fact[SELinux]
	// Probe is what probing the socket's endpoints measured; not Checked
	// when no probe ran.
	Probe Fact[Probe]
}

// Service is what the checks read of a socket's service.
type Service struct {
	Unit string
	// Template is the template (web@.service) of an Accept=yes socket,
	// whose instance Unit is; "" for an Accept=no socket.
	Template                       string
	LoadState, ActiveState         string
	SubState, Result               string
	Type, NotifyAccess             string
	SourcePath, FragmentPath       string
	UnitFileState                  string
	Requires, Wants, After         []string
	StartLimitBurst                uint32
	StartLimitInterval, StartLimit time.Duration // StartLimit: TimeoutStartUSec
	// Exec is the argv of the service's first ExecStart command.
	Exec []string
}

// Image is what Podman knows of a container image.
type Image struct {
	// Name is the image as the command line names it.
	Name string
	// Local reports whether it is in local storage (podman image exists).
	Local bool
	// Config is the image's configuration, not Checked when it is not
	// local or could not be read.
	Config Fact[ImageConfig]
}

// ImageConfig is what an image runs.
type ImageConfig struct {
	Entrypoint, Cmd []string
}

// SELinux is the host's SELinux state.
type SELinux struct {
	// Enabled: the kernel runs SELinux (/sys/fs/selinux exists).
	Enabled bool
	// Enforcing: it enforces its policy.
	Enforcing bool
	// ContainerSELinux is the installed container-selinux package's
	// version ("2.189.0"), "" when it is not installed.
	ContainerSELinux string
}

// Probe is what socktui measured by probing a socket's endpoints.
type Probe struct {
	// Results are the probe results, one per endpoint.
	Results []probe.Result
	// Queued maps a TCP listener's address, as the socket's Listen entry
	// spells it, to the connections left waiting in its accept queue
	// after the probe, with the service up: connections nothing accepted.
	Queued map[string]int
	// Plain is how long a plain `podman run` of the service's image took
	// to start its container, the floor of a cold activation; not Checked
	// when it was not measured.
	Plain Fact[time.Duration]
}

// Diagnose runs every check on f and returns the findings, worst first (in
// check order within a severity), and the checks that could not run.
func Diagnose(f Facts) ([]Finding, []NotChecked) {
	in := newInput(f)
	var findings []Finding
	var skipped []NotChecked
	for _, c := range checks {
		fs, why := c.run(in)
		for _, x := range fs {
			x.Unit, x.Check = f.Socket.Unit, c.id
			findings = append(findings, x)
		}
		if why != "" {
			skipped = append(skipped, NotChecked{Unit: f.Socket.Unit, Check: c.id, Why: why})
		}
	}
	slices.SortStableFunc(findings, func(a, b Finding) int { return cmp.Compare(a.Severity.rank(), b.Severity.rank()) })
	return findings, skipped
}

// Serious reports whether any finding is an error or a warning: `socktui
// doctor` then exits 1.
func Serious(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error || f.Severity == Warning })
}

// input is Facts with what several checks derive from them.
type input struct {
	Facts
	svc *Service // nil when the service is unknown or the socket names none
	// cmd is the service's podman command line; container reports whether
	// it runs a container of an image (run or create).
	cmd       podmancmd.Command
	container bool
}

func newInput(f Facts) input {
	in := input{Facts: f}
	if f.Service.Checked && f.Service.Value.Unit != "" {
		in.svc = &in.Facts.Service.Value
		in.cmd = podmancmd.Parse(in.svc.Exec)
		in.container = in.cmd.Subcommand == "run" || in.cmd.Subcommand == "create"
	}
	return in
}

// serviceWhy is why a check that needs the service did not run, "" when
// the service is known (or the socket names none: nothing to check).
func (in input) serviceWhy() string {
	if !in.Service.Checked {
		return "the service's properties: " + in.Service.Why
	}
	return ""
}

// check is one check: run returns its findings (Unit and Check are filled
// in by Diagnose) and, when it could not run, why.
type check struct {
	id  Check
	run func(in input) ([]Finding, string)
}

// checks are the checks in order; each is one function in checks.go.
var checks = []check{
	{CheckImagePull, checkImagePull},
	{CheckPublishedPort, checkPublishedPort},
	{CheckContainerNetwork, checkContainerNetwork},
	{CheckAcceptContainer, checkAcceptContainer},
	{CheckContainerSystemd, checkContainerSystemd},
	{CheckNotify, checkNotify},
	{CheckService, checkService},
	{CheckStartLimit, checkStartLimit},
	{CheckQuadletNetwork, checkQuadletNetwork},
	{CheckSELinux, checkSELinux},
	{CheckNoAnswer, checkNoAnswer},
	{CheckExposed, checkExposed},
	{CheckColdStart, checkColdStart},
}
