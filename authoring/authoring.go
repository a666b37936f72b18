// Package authoring writes socket-activated containers: from a Spec (a
// name, an image or a command, listen entries, and what `podman run` is
// told) it renders the unit files — a Quadlet NAME.container or a classic
// NAME.service as `podman generate systemd --new` writes it, beside a plain
// NAME.socket — or the transient units of --transient, checks what must be
// refused before anything is written, writes the files and removes them
// again. It is the backend of `socktui new`, `socktui rm` and the UI's form.
//
// Rendering and Validate are pure; Check, Write, Create and Remove do the
// I/O, through the small interfaces declared here (Manager, Host).
//
// Every file it writes begins with Marker, so that it never overwrites or
// removes a file it did not write (unless forced).
package authoring

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/socktui/socktui/unit"
)

// Format is the shape of the service half of a socket-activated container.
type Format string

// The formats.
const (
	// FormatQuadlet is a Quadlet NAME.container, which Podman's generator
	// (Podman 4.4 and later) turns into NAME.service at daemon-reload.
	FormatQuadlet Format = "quadlet"
	// FormatService is a NAME.service running `podman run`, as `podman
	// generate systemd --new` writes it.
	FormatService Format = "service"
)

// Notify is who tells systemd the container is ready (podman run
// --sdnotify, Quadlet's Notify=).
type Notify string

// The notify policies.
const (
	// NotifyConmon: conmon says READY=1 once the container runs (the
	// default; it needs nothing of the image).
	NotifyConmon Notify = "conmon"
	// NotifyContainer: the program in the container sends READY=1 itself.
	NotifyContainer Notify = "container"
	// NotifyHealthy: READY=1 once the image's health check passes
	// (podman run --sdnotify=healthy: Podman 4.7 and later; Quadlet's
	// Notify=healthy: 5.0 and later; see CheckPodman).
	NotifyHealthy Notify = "healthy"
)

// NetworkNone is the default network: a socket-activated container gets
// its sockets from systemd and needs no network of its own.
const NetworkNone = "none"

// Spec is a socket-activated container (or program) to create.
type Spec struct {
	// Name is the units' base name: NAME.socket and NAME.service (from
	// NAME.container with Quadlet); with Accept, the template NAME@.service.
	// It is also the container's name.
	Name string
	// Image is the container image. Empty only for a bare program
	// (Command without an image, with FormatService or Transient).
	Image string
	// Command is, with an image, the command and arguments the container
	// runs instead of the image's (after the image on podman run's line);
	// without one, the program to run, Command[0] an absolute path.
	Command []string
	// Listen are the socket's listeners in order (unit.ParseListenSpec
	// reads them), as a unit file spells them.
	Listen []unit.Listen
	// Env entries are KEY=VALUE (podman run --env); Volumes are podman
	// run --volume arguments.
	Env     []string
	Volumes []string
	// Accept starts one service (and container) per connection.
	Accept bool
	// Network is podman's --network; NetworkNone when empty.
	Network string
	// Notify is podman's --sdnotify; NotifyConmon when empty.
	Notify Notify
	// Format is the service's shape; FormatService when empty.
	Format Format
	// System writes system units (/etc/...) for the system manager; else
	// user units of the user manager.
	System bool
	// Transient creates transient units over D-Bus, which vanish when
	// stopped, instead of writing files.
	Transient bool
	// Expose allows listening on an address other than loopback (a
	// wildcard, a port alone, another host's address).
	Expose bool
	// Description is the units' description; a default names the image.
	Description string
}

// ErrInvalid is wrapped by every refusal of Validate: bad input, found
// without any I/O.
var ErrInvalid = errors.New("invalid")

// ErrRefused is wrapped by the refusals of Check: the spec is well-formed
// but the host says no (the name exists, the image is not local, a port
// is bound, a file socktui did not write is in the way).
var ErrRefused = errors.New("refused")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// nameRE is what a name may be: a container name (podman: first an
// alphanumeric, then alphanumerics, _ . -) that is also a plain unit name.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// envKeyRE is an environment variable's name.
var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// WithDefaults returns s with its empty Network, Notify and Format set to
// their defaults (NetworkNone, NotifyConmon, FormatService).
func (s Spec) WithDefaults() Spec {
	if s.Network == "" {
		s.Network = NetworkNone
	}
	if s.Notify == "" {
		s.Notify = NotifyConmon
	}
	if s.Format == "" {
		s.Format = FormatService
	}
	return s
}

// Validate refuses a spec without looking at the host: a bad name, no
// image and no command, no listener, a listener that is not loopback
// without Expose, a bad environment entry or volume, an unknown format or
// notify policy. Its errors wrap ErrInvalid (bad usage: exit 2).
func (s Spec) Validate() error {
	s = s.WithDefaults()
	if err := s.ValidateName(); err != nil {
		return err
	}
	switch s.Format {
	case FormatQuadlet, FormatService:
	default:
		return invalid("format %q: want %s or %s", s.Format, FormatQuadlet, FormatService)
	}
	switch s.Notify {
	case NotifyConmon, NotifyContainer, NotifyHealthy:
	default:
		return invalid("notify %q: want %s, %s or %s", s.Notify, NotifyConmon, NotifyContainer, NotifyHealthy)
	}
	if err := s.validateWhat(); err != nil {
		return err
	}
	if len(s.Listen) == 0 {
		return invalid("at least one --listen is needed (%s)", unit.ListenSpecUsage)
	}
	seen := map[unit.Listen]bool{}
	for _, l := range s.Listen {
		if seen[l] {
			return invalid("listen %s given twice", l.Spec())
		}
		seen[l] = true
		if l.Spec() == "" {
			return invalid("listen entry %s %q: not a socket a spec can describe", l.Type, l.Address)
		}
		if err := checkExposed(l, s.Expose); err != nil {
			return err
		}
	}
	for _, kv := range s.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKeyRE.MatchString(k) {
			return invalid("environment entry %q: want KEY=VALUE, KEY a letter or _ then letters, digits, _", kv)
		}
		if strings.ContainsAny(kv, "\n\r\x00") {
			return invalid("environment entry %q: a newline or NUL cannot be written to a unit file", kv)
		}
	}
	for _, v := range s.Volumes {
		if v == "" || v[0] == '-' || strings.ContainsAny(v, "\n\r\x00") {
			return invalid("volume %q: want SOURCE:DEST[:OPTIONS] as podman run --volume takes it", v)
		}
	}
	if s.Network == "" || s.Network[0] == '-' || strings.ContainsAny(s.Network, " \t\n\r\x00") {
		return invalid("network %q: want a podman network name (none, host, private, ...)", s.Network)
	}
	if strings.ContainsAny(s.Description, "\n\r\x00") {
		return invalid("description: a newline or NUL cannot be written to a unit file")
	}
	return nil
}

// ValidateName refuses a name that is not a plain unit name and container
// name: letters, digits, _ . - (first a letter or digit), no unit suffix.
// Its error wraps ErrInvalid.
func (s Spec) ValidateName() error {
	switch {
	case s.Name == "":
		return invalid("a name is needed")
	case !nameRE.MatchString(s.Name) || len(s.Name) > 200:
		return invalid("name %q: use letters, digits, _ . - (first a letter or digit), at most 200", s.Name)
	case strings.HasSuffix(s.Name, ".socket") || strings.HasSuffix(s.Name, ".service") || strings.HasSuffix(s.Name, ".container"):
		return invalid("name %q: give the name without a unit suffix", s.Name)
	}
	return nil
}

// validateWhat checks what the service runs: an image (and its command) or
// a bare program.
func (s Spec) validateWhat() error {
	for _, a := range s.Command {
		if strings.ContainsAny(a, "\n\r\x00") {
			return invalid("command argument %q: a newline or NUL cannot be written to a unit file", a)
		}
	}
	if s.Image == "" {
		switch {
		case len(s.Command) == 0:
			return invalid("an --image, or with --transient a command after --, is needed")
		case s.Format == FormatQuadlet && !s.Transient:
			return invalid("a bare command has no Quadlet form: use --format service or --transient")
		case !strings.HasPrefix(s.Command[0], "/"):
			return invalid("command %q: give its absolute path", s.Command[0])
		case len(s.Volumes) > 0:
			return invalid("--volume needs an --image: a bare command runs on the host")
		}
		return nil
	}
	if s.Image[0] == '-' || strings.ContainsAny(s.Image, " \t\n\r\x00") || !strings.ContainsFunc(s.Image, func(r rune) bool { return r > ' ' }) {
		return invalid("image %q: not an image reference", s.Image)
	}
	return nil
}

// checkExposed refuses an IP listener on an address other than loopback
// (a wildcard, a port alone, another address) unless expose is set: a
// socket reachable from other hosts is a decision the user must state.
func checkExposed(l unit.Listen, expose bool) error {
	a, err := unit.ParseAddress(l.Address)
	if err != nil || a.Family != unit.FamilyIP || expose {
		return nil
	}
	ip := a.AddrPort.Addr().Unmap()
	if ip.IsLoopback() && !a.PortOnly {
		return nil
	}
	what := ip.String()
	switch {
	case a.PortOnly:
		what = "a port alone (every address)"
	case ip.IsUnspecified():
		what = ip.String() + " (every address)"
	}
	return invalid("listen %s is on %s, not loopback: other hosts could connect; pass --expose to mean it", l.Spec(), what)
}

// ServiceName is the service the socket triggers: NAME.service, or the
// template NAME@.service with Accept.
func (s Spec) ServiceName() string {
	if s.Accept {
		return s.Name + "@.service"
	}
	return s.Name + ".service"
}

// isOurDescription reports whether description is one socktui new gives
// the units of name (when the user gave none): how `socktui rm` knows a
// transient socket of that name as socktui's.
func isOurDescription(name, description string) bool {
	return strings.HasPrefix(description, "socktui "+name+" (")
}

// OurTransient reports whether s is a transient socket socktui new made:
// transient, with the description socktui gives it. `socktui rm` removes
// it, and the UI's D offers to.
func OurTransient(s unit.Socket) bool {
	return s.UnitFileState == "transient" && isOurDescription(strings.TrimSuffix(s.Unit, ".socket"), s.Description)
}

// SocketName is NAME.socket.
func (s Spec) SocketName() string { return s.Name + ".socket" }

// NeedsNetwork reports whether the container has a network of its own
// (Network is not none): its service then waits for the network to be
// online, as Podman's units do; with none it does not.
func (s Spec) NeedsNetwork() bool {
	return s.WithDefaults().Network != NetworkNone
}
