package echo

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
)

// Mode says how the echo service runs.
type Mode string

// The modes.
const (
	// ModeContainer runs the image with `podman run --rm --network=none
	// --pull=never` and sd-notify, as `podman generate systemd --new` does.
	ModeContainer Mode = "container"
	// ModeBare runs the binary directly, for hosts without Podman.
	ModeBare Mode = "bare"
)

// Defaults for Spec.
const (
	DefaultPort   = 3000
	DefaultImage  = "localhost/socktui-echo:latest"
	DefaultPodman = "/usr/bin/podman"
	// VsockCIDAny is VMADDR_CID_ANY, as the socket unit's vsock address
	// spells it.
	VsockCIDAny = 4294967295
)

// Names of the unix sockets in Spec.UnixDir.
const (
	UnixStreamName    = "echo.sock"
	UnixDatagramName  = "echo.dgram"
	UnixSeqPacketName = "echo.seqpacket"
)

// Spec describes one installation of the echo workload: a socket unit and
// its service. Units turns it into a neutral description.
type Spec struct {
	// Name is the units' base name: Name.socket and Name.service. In
	// container mode it is also the container's name.
	Name string
	// Mode is ModeContainer or ModeBare.
	Mode Mode
	// Port is the TCP and UDP port on 127.0.0.1 and [::1]; DefaultPort
	// when zero.
	Port int
	// UnixDir is the folder (absolute) that holds the unix stream,
	// datagram and seqpacket sockets (UnixStreamName, ...); systemd
	// creates it. Empty means no unix sockets.
	UnixDir string
	// VsockPort adds ListenStream=vsock:4294967295:VsockPort; zero means
	// no vsock listener.
	VsockPort int
	// Binary is the absolute path of socktui-echo (bare mode).
	Binary string
	// Image is the container image (container mode); DefaultImage when
	// empty. It must exist locally: the service runs it with --pull=never.
	Image string
	// Podman is the absolute path of podman (container mode);
	// DefaultPodman when empty.
	Podman string
	// RuntimeDir is an absolute folder for the container's cidfile
	// (container mode), usually the manager's $XDG_RUNTIME_DIR. Transient
	// units get no specifier expansion, so it is spelled out.
	RuntimeDir string
	// IdleExit is passed as --idle-exit; zero means the server never exits
	// on its own.
	IdleExit time.Duration
	// MaxConns is passed as --max-conns when non-zero.
	MaxConns int
	// Environment is added to the service's environment (KEY=VALUE).
	Environment []string
}

// Listen is one listener of a socket unit, as systemd's Listen property
// reports it.
type Listen struct {
	// Type is systemd's listen type: "Stream", "Datagram" or
	// "SequentialPacket".
	Type string
	// Address is "127.0.0.1:3000", "[::1]:3000", a path or
	// "vsock:4294967295:3000".
	Address string
}

// Directive is the socket unit directive for the listener's type
// (ListenStream, ListenDatagram, ListenSequentialPacket).
func (l Listen) Directive() string { return "Listen" + l.Type }

// Units is a neutral description of the socket unit and its service, with
// every path concrete (no %-specifiers), so that it can be written as unit
// files or created as transient units over D-Bus alike.
type Units struct {
	// SocketName and ServiceName are the unit names ("echo.socket",
	// "echo.service").
	SocketName, ServiceName string
	// Description is both units' Description.
	Description string
	// Listen lists the socket's listeners in order: the order of the fds
	// the service receives.
	Listen []Listen
	// RemoveOnStop removes the unix socket files when the socket stops.
	RemoveOnStop bool

	// ExecStartPre, ExecStart, ExecStop and ExecStopPost are the service's
	// commands, each an argv with an absolute program path. ExecStart is
	// a single command.
	ExecStartPre [][]string
	ExecStart    []string
	ExecStop     [][]string
	ExecStopPost [][]string
	// Type is the service Type ("notify"); NotifyAccess is "main" or
	// "all"; KillMode is empty for systemd's default (control-group).
	Type, NotifyAccess, KillMode string
	// Environment lists KEY=VALUE pairs for the service.
	Environment []string
	// TimeoutStopSec bounds stopping the service.
	TimeoutStopSec time.Duration
}

// ErrBadSpec is wrapped by Units' errors.
var ErrBadSpec = errors.New("bad echo spec")

// Units describes the units for s, or says what is wrong with s.
func (s Spec) Units() (Units, error) {
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.Image == "" {
		s.Image = DefaultImage
	}
	if s.Podman == "" {
		s.Podman = DefaultPodman
	}
	bad := func(format string, args ...any) (Units, error) {
		return Units{}, fmt.Errorf("%w: "+format, append([]any{ErrBadSpec}, args...)...)
	}
	if s.Name == "" || strings.ContainsAny(s.Name, "/\\@ \t\n%") || strings.HasSuffix(s.Name, ".socket") || strings.HasSuffix(s.Name, ".service") {
		return bad("name %q must be a plain unit name without a suffix", s.Name)
	}
	if s.Port < 1 || s.Port > 65535 {
		return bad("port %d out of range", s.Port)
	}
	if s.VsockPort < 0 || int64(s.VsockPort) > 4294967294 {
		return bad("vsock port %d out of range", s.VsockPort)
	}
	if s.UnixDir != "" && !filepath.IsAbs(s.UnixDir) {
		return bad("unix folder %q must be absolute", s.UnixDir)
	}
	if s.IdleExit < 0 || s.MaxConns < 0 {
		return bad("idle exit and max conns must not be negative")
	}
	for _, kv := range s.Environment {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return bad("environment entry %q is not KEY=VALUE", kv)
		}
	}

	port := strconv.Itoa(s.Port)
	u := Units{
		SocketName:  s.Name + ".socket",
		ServiceName: s.Name + ".service",
		Listen: []Listen{
			{"Stream", "127.0.0.1:" + port},
			{"Datagram", "127.0.0.1:" + port},
			{"Stream", "[::1]:" + port},
			{"Datagram", "[::1]:" + port},
		},
		Type:           "notify",
		TimeoutStopSec: 15 * time.Second,
	}
	if s.UnixDir != "" {
		u.Listen = append(u.Listen,
			Listen{"Stream", filepath.Join(s.UnixDir, UnixStreamName)},
			Listen{"Datagram", filepath.Join(s.UnixDir, UnixDatagramName)},
			Listen{"SequentialPacket", filepath.Join(s.UnixDir, UnixSeqPacketName)})
		u.RemoveOnStop = true
	}
	if s.VsockPort != 0 {
		u.Listen = append(u.Listen, Listen{"Stream", fmt.Sprintf("vsock:%d:%d", uint32(VsockCIDAny), s.VsockPort)})
	}

	var args []string
	if s.IdleExit > 0 {
		args = append(args, "--idle-exit", s.IdleExit.String())
	}
	if s.MaxConns > 0 {
		args = append(args, "--max-conns", strconv.Itoa(s.MaxConns))
	}

	switch s.Mode {
	case ModeBare:
		if !filepath.IsAbs(s.Binary) {
			return bad("bare mode needs the absolute path of socktui-echo, not %q", s.Binary)
		}
		u.Description = "socktui echo workload (bare)"
		u.ExecStart = append([]string{s.Binary}, args...)
		u.NotifyAccess = "main"
		u.Environment = append(u.Environment, s.Environment...)
	case ModeContainer:
		if !filepath.IsAbs(s.Podman) {
			return bad("podman path %q must be absolute", s.Podman)
		}
		if !filepath.IsAbs(s.RuntimeDir) {
			return bad("container mode needs an absolute runtime folder for the cidfile, not %q", s.RuntimeDir)
		}
		cid := filepath.Join(s.RuntimeDir, u.ServiceName+".ctr-id")
		u.Description = "socktui echo workload (container " + s.Image + ")"
		// As `podman generate systemd --new` writes it, with %t and %n
		// spelled out and the container telling systemd READY=1 itself
		// (--sdnotify=container; conmon forwards READY=1 but drops
		// STATUS= lines). conmon stays in the service's cgroup
		// (--cgroups=no-conmon) and is the main process; the container
		// itself may live in another cgroup (cgroupfs), so ExecStop stops
		// it through Podman and ExecStopPost removes it whatever happened.
		u.Environment = append([]string{"PODMAN_SYSTEMD_UNIT=" + u.ServiceName}, s.Environment...)
		u.ExecStartPre = [][]string{{"/bin/rm", "-f", cid}}
		u.ExecStart = append([]string{s.Podman, "run",
			"--cidfile=" + cid, "--cgroups=no-conmon", "--rm", "--sdnotify=container",
			"-d", "--replace", "--name", s.Name, "--network=none", "--pull=never",
			s.Image}, args...)
		u.ExecStop = [][]string{{s.Podman, "stop", "--ignore", "-t", "5", "--cidfile=" + cid}}
		u.ExecStopPost = [][]string{{s.Podman, "rm", "-f", "--ignore", "-t", "5", "--cidfile=" + cid}}
		u.NotifyAccess = "all"
	default:
		return bad("mode %q is neither %q nor %q", s.Mode, ModeContainer, ModeBare)
	}
	return u, nil
}

// SocketFile is the socket unit file.
func (u Units) SocketFile() string {
	opts := []*unit.UnitOption{
		unit.NewUnitOption("Unit", "Description", u.Description),
	}
	for _, l := range u.Listen {
		opts = append(opts, unit.NewUnitOption("Socket", l.Directive(), l.Address))
	}
	if u.RemoveOnStop {
		opts = append(opts, unit.NewUnitOption("Socket", "RemoveOnStop", "yes"))
	}
	opts = append(opts, unit.NewUnitOption("Socket", "Service", u.ServiceName),
		unit.NewUnitOption("Install", "WantedBy", "sockets.target"))
	return serialize(opts)
}

// ServiceFile is the service unit file.
func (u Units) ServiceFile() string {
	opts := []*unit.UnitOption{
		unit.NewUnitOption("Unit", "Description", u.Description),
		unit.NewUnitOption("Unit", "Requires", u.SocketName),
		unit.NewUnitOption("Unit", "After", u.SocketName),
	}
	svc := func(name, value string) { opts = append(opts, unit.NewUnitOption("Service", name, value)) }
	for _, kv := range u.Environment {
		svc("Environment", quoteWord(strings.ReplaceAll(kv, "%", "%%")))
	}
	svc("Type", u.Type)
	if u.NotifyAccess != "" {
		svc("NotifyAccess", u.NotifyAccess)
	}
	if u.KillMode != "" {
		svc("KillMode", u.KillMode)
	}
	if u.TimeoutStopSec > 0 {
		svc("TimeoutStopSec", strconv.FormatFloat(u.TimeoutStopSec.Seconds(), 'f', -1, 64))
	}
	for _, c := range u.ExecStartPre {
		svc("ExecStartPre", commandLine(c))
	}
	svc("ExecStart", commandLine(u.ExecStart))
	for _, c := range u.ExecStop {
		svc("ExecStop", commandLine(c))
	}
	for _, c := range u.ExecStopPost {
		svc("ExecStopPost", commandLine(c))
	}
	return serialize(opts)
}

func serialize(opts []*unit.UnitOption) string {
	b, _ := io.ReadAll(unit.Serialize(opts)) // reading a bytes.Buffer cannot fail
	return string(b)
}

// commandLine writes argv as a unit file command line: each word quoted when
// it needs it, and '%' and '$' escaped so systemd expands neither specifiers
// nor variables.
func commandLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = quoteArg(a)
	}
	return strings.Join(words, " ")
}

func quoteArg(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	a = strings.ReplaceAll(a, "$", "$$")
	return quoteWord(a)
}

// quoteWord double-quotes a word that holds blanks, quotes, backslashes or
// a semicolon (which alone would separate commands).
func quoteWord(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\"'\\;") {
		return a
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(a) + `"`
}
