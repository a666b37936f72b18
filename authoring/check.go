package authoring

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/socktui/socktui/unit"
)

// Host answers what Check asks of the machine; the CLI fills it with
// systemdbus and internal/podman.
type Host interface {
	// SocketExists reports whether the manager knows a unit of that name
	// (loaded in any state, or a unit file it can load).
	SocketExists(ctx context.Context, name string) (bool, error)
	// ContainerExists reports whether Podman has a container of that name.
	ContainerExists(ctx context.Context, name string) (bool, error)
	// ImageExists reports whether image is in local storage.
	ImageExists(ctx context.Context, image string) (bool, error)
}

// CheckOptions are the flags that soften Check's refusals.
type CheckOptions struct {
	// Force replaces files socktui did not write, and units and a
	// container of the same name.
	Force bool
	// Pull means the image will be pulled first: a missing image is not
	// refused.
	Pull bool
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Check refuses, before anything is written, what the host says no to: a
// name the manager or Podman already has (a socket unit, a container), an
// image not in local storage (without Pull), an IP port already bound,
// and a file in the way that socktui did not write (see CheckOverwrite).
// files are s's (Render; nil for a transient spec). Its refusals wrap
// ErrRefused; other errors say a question could not be answered.
func Check(ctx context.Context, h Host, s Spec, files []File, opts CheckOptions) error {
	s = s.WithDefaults()
	if !opts.Force {
		ok, err := h.SocketExists(ctx, s.SocketName())
		if err != nil {
			return err
		}
		if ok {
			return refused("a unit %s exists (socktui rm %s removes one socktui wrote; --force replaces it)", s.SocketName(), s.Name)
		}
		if s.Image != "" && !s.Accept {
			ok, err := h.ContainerExists(ctx, s.containerName(""))
			if err != nil {
				return err
			}
			if ok {
				return refused("a container named %s exists, which the service would replace (--force means it)", s.containerName(""))
			}
		}
	}
	if s.Image != "" && !opts.Pull {
		ok, err := h.ImageExists(ctx, s.Image)
		if err != nil {
			return err
		}
		if !ok {
			return refused("image %s is not in local storage and the units run it with --pull=never: build or pull it, or pass --pull", s.Image)
		}
	}
	if err := CheckOverwrite(files, opts.Force); err != nil {
		return err
	}
	for _, l := range s.Listen {
		if err := checkBound(l); err != nil {
			return err
		}
	}
	return nil
}

// checkBound refuses an IP listener whose port something already has, by
// binding it for a moment as systemd would (a port alone on every
// address, IPv6 and IPv4).
func checkBound(l unit.Listen) error {
	a, err := unit.ParseAddress(l.Address)
	if err != nil || a.Family != unit.FamilyIP {
		return nil
	}
	ap := a.AddrPort
	if a.PortOnly {
		ap = netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port())
	}
	addr := ap.String()
	switch l.Type {
	case unit.TypeStream:
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln.Close()
		}
		return boundError(l, err)
	case unit.TypeDatagram:
		pc, err := net.ListenPacket("udp", addr)
		if err == nil {
			return pc.Close()
		}
		return boundError(l, err)
	}
	return nil
}

func boundError(l unit.Listen, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return refused("listen %s: the port is already bound", l.Spec())
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return refused("listen %s: no interface of this host has that address", l.Spec())
	}
	return fmt.Errorf("listen %s: %w", l.Spec(), err)
}

// Warnings are what a user should know about s before it runs: the cost
// of --accept, and an exposed address.
func Warnings(s Spec) []string {
	var w []string
	if s.Accept {
		w = append(w, "--accept starts a new service and container for every connection: each pays a container's start (hundreds of milliseconds) and its memory; use it only for rare, long connections")
	}
	return w
}
