package echo

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/socktui/socktui/unit"
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
// its service. Units turns it into a unit.SocketSpec.
type Spec struct {
	// Name is the units' base name: Name.socket and Name.service. In
	// container mode it is also the container's name unless ContainerName
	// is set.
	Name string
	// ContainerName names the container in container mode (Name when
	// empty). Container names are global to a Podman storage, and the
	// service runs `podman run --replace`: two echo workloads running at
	// once (two sandboxes on one machine) need names of their own, or each
	// start kills the other's container.
	ContainerName string
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
	// Binary is the absolute path of the program that runs the echo
	// server (bare mode): socktui, with BinaryArgs {Subcommand}, or the
	// standalone socktui-echo.
	Binary string
	// BinaryArgs come between Binary and the server's flags in ExecStart.
	BinaryArgs []string
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

// ErrBadSpec is wrapped by Units' errors.
var ErrBadSpec = errors.New("bad echo spec")

// Units describes the units for s, with every path concrete, or says what
// is wrong with s.
func (s Spec) Units() (unit.SocketSpec, error) {
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.Image == "" {
		s.Image = DefaultImage
	}
	if s.Podman == "" {
		s.Podman = DefaultPodman
	}
	bad := func(format string, args ...any) (unit.SocketSpec, error) {
		return unit.SocketSpec{}, fmt.Errorf("%w: "+format, append([]any{ErrBadSpec}, args...)...)
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
	u := unit.SocketSpec{
		Name: s.Name + ".socket",
		Listen: []unit.Listen{
			{Type: unit.TypeStream, Address: "127.0.0.1:" + port},
			{Type: unit.TypeDatagram, Address: "127.0.0.1:" + port},
			{Type: unit.TypeStream, Address: "[::1]:" + port},
			{Type: unit.TypeDatagram, Address: "[::1]:" + port},
		},
	}
	if s.UnixDir != "" {
		u.Listen = append(u.Listen,
			unit.Listen{Type: unit.TypeStream, Address: filepath.Join(s.UnixDir, UnixStreamName)},
			unit.Listen{Type: unit.TypeDatagram, Address: filepath.Join(s.UnixDir, UnixDatagramName)},
			unit.Listen{Type: unit.TypeSeqPacket, Address: filepath.Join(s.UnixDir, UnixSeqPacketName)})
		u.RemoveOnStop = true
	}
	if s.VsockPort != 0 {
		u.Listen = append(u.Listen, unit.Listen{Type: unit.TypeStream, Address: fmt.Sprintf("vsock:%d:%d", uint32(VsockCIDAny), s.VsockPort)})
	}
	svc := unit.ServiceSpec{
		Name:           s.Name + ".service",
		Type:           "notify",
		TimeoutStopSec: 15 * time.Second,
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
			return bad("bare mode needs the absolute path of the echo server's program, not %q", s.Binary)
		}
		u.Description = "socktui echo workload (bare)"
		svc.ExecStart = append(append([]string{s.Binary}, s.BinaryArgs...), args...)
		svc.NotifyAccess = "main"
		svc.Environment = append(svc.Environment, s.Environment...)
	case ModeContainer:
		if !filepath.IsAbs(s.Podman) {
			return bad("podman path %q must be absolute", s.Podman)
		}
		if !filepath.IsAbs(s.RuntimeDir) {
			return bad("container mode needs an absolute runtime folder for the cidfile, not %q", s.RuntimeDir)
		}
		cid := filepath.Join(s.RuntimeDir, svc.Name+".ctr-id")
		u.Description = "socktui echo workload (container " + s.Image + ")"
		// As `podman generate systemd --new` writes it, with %t and %n
		// spelled out and the container telling systemd READY=1 itself
		// (--sdnotify=container; conmon forwards READY=1 but drops
		// STATUS= lines). conmon stays in the service's cgroup
		// (--cgroups=no-conmon) and is the main process; the container
		// itself may live in another cgroup (cgroupfs), so ExecStop stops
		// it through Podman and ExecStopPost removes it whatever happened.
		svc.Environment = append([]string{"PODMAN_SYSTEMD_UNIT=" + svc.Name}, s.Environment...)
		svc.ExecStartPre = [][]string{{"/bin/rm", "-f", cid}}
		svc.ExecStart = append([]string{s.Podman, "run",
			"--cidfile=" + cid, "--cgroups=no-conmon", "--rm", "--sdnotify=container",
			"-d", "--replace", "--name", s.containerName(), "--network=none", "--pull=never",
			s.Image}, args...)
		svc.ExecStop = [][]string{{s.Podman, "stop", "--ignore", "-t", "5", "--cidfile=" + cid}}
		svc.ExecStopPost = [][]string{{s.Podman, "rm", "-f", "--ignore", "-t", "5", "--cidfile=" + cid}}
		svc.NotifyAccess = "all"
	default:
		return bad("mode %q is neither %q nor %q", s.Mode, ModeContainer, ModeBare)
	}
	svc.Description = u.Description
	u.Service = svc
	return u, nil
}

// containerName is the container's name: ContainerName, else Name.
func (s Spec) containerName() string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return s.Name
}
