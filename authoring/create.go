package authoring

import (
	"context"
	"errors"
	"fmt"

	"github.com/socktui/socktui/unit"
)

// Manager is what Create and Remove need of the systemd manager; the CLI
// fills it with a systemdbus.Client.
type Manager interface {
	// Reload is daemon-reload.
	Reload(ctx context.Context) error
	StartUnit(ctx context.Context, name string) error
	StopUnit(ctx context.Context, name string) error
	// ResetFailed forgets a unit's failure (systemctl reset-failed), so
	// that a removed unit that failed as it stopped is not kept.
	ResetFailed(ctx context.Context, name string) error
	EnableUnitFiles(ctx context.Context, names []string) error
	DisableUnitFiles(ctx context.Context, names []string) error
	CreateTransientSocket(ctx context.Context, s unit.SocketSpec) error
	RemoveTransient(ctx context.Context, socket, service string) error
}

// CreateOptions are what Create does after writing.
type CreateOptions struct {
	// Enable enables the socket (WantedBy=sockets.target).
	Enable bool
	// NoStart leaves the socket stopped.
	NoStart bool
	// Force replaces files socktui did not write.
	Force bool
}

// Created is what Create made: the files written (none for transient
// units) and the units.
type Created struct {
	Files  []string
	Socket string
	// Service is the service the socket triggers (a template with Accept).
	Service string
}

// Create makes s on m: for a transient spec the transient units, started;
// otherwise it writes files (from Render), reloads the manager, enables the
// socket if asked and starts it unless NoStart. Check should have passed
// first. A failure half-way undoes what was done: no file, enablement or
// unit is left behind.
func Create(ctx context.Context, m Manager, s Spec, l Layout, files []File, opts CreateOptions) (Created, error) {
	s = s.WithDefaults()
	c := Created{Socket: s.SocketName(), Service: s.ServiceName()}
	if s.Transient {
		u, err := TransientUnits(s, l)
		if err != nil {
			return Created{}, err
		}
		if err := m.CreateTransientSocket(ctx, u); err != nil {
			return Created{}, errors.Join(err, m.RemoveTransient(context.WithoutCancel(ctx), u.Name, u.ServiceName()))
		}
		return c, nil
	}
	w, err := Write(files, opts.Force)
	if err != nil {
		return Created{}, err
	}
	c.Files = w.Paths
	// Undo runs without ctx's cancellation: a ctrl+c half-way must still
	// leave nothing behind.
	bg := context.WithoutCancel(ctx)
	var enabled, started bool
	undo := func(cause error) (Created, error) {
		errs := []error{cause}
		if started {
			errs = append(errs, m.StopUnit(bg, c.Socket))
		}
		if enabled {
			errs = append(errs, m.DisableUnitFiles(bg, []string{c.Socket}))
		}
		errs = append(errs, w.Undo(), m.Reload(bg))
		return Created{}, errors.Join(errs...)
	}
	if err := m.Reload(ctx); err != nil {
		return undo(err)
	}
	if opts.Enable {
		if err := m.EnableUnitFiles(ctx, []string{c.Socket}); err != nil {
			return undo(fmt.Errorf("enabling %s: %w", c.Socket, err))
		}
		enabled = true
	}
	if !opts.NoStart {
		started = true
		if err := m.StartUnit(ctx, c.Socket); err != nil {
			return undo(fmt.Errorf("starting %s: %w", c.Socket, err))
		}
	}
	return c, nil
}

// ErrNotFound is returned by Remove when socktui wrote no unit of the name.
var ErrNotFound = errors.New("no units of that name were written by socktui")

// Containers removes a container left behind; the CLI fills it with
// internal/podman.
type Containers interface {
	// RemoveContainer removes the container name if it exists (podman rm
	// -f --ignore).
	RemoveContainer(ctx context.Context, name string) error
}

// Removal names what Remove takes away.
type Removal struct {
	Name   string
	System bool
	// Transient: the units are transient ones socktui created, with no
	// files.
	Transient bool
	// Services are the socket's services that are running (Accept's
	// instances among them): each is stopped.
	Services []string
}

// Removed is what Remove did.
type Removed struct {
	// Files are the files removed; Skipped files of the name socktui did
	// not write, left in place.
	Files, Skipped []string
}

// Remove stops the socket and its services, disables the socket, removes
// the files socktui wrote for r.Name (never another's: those are Skipped),
// reloads the manager, resets the units' failure (a server that exits
// non-zero when stopped leaves its service failed, which would keep it
// loaded) and removes the container if one is left. Transient units are
// stopped, which makes systemd forget them. m's StopUnit must treat a unit
// that is not loaded as stopped, and its ResetFailed a unit that is not
// loaded or not failed as reset. With no file and no transient unit it
// returns ErrNotFound and does nothing.
func Remove(ctx context.Context, m Manager, c Containers, r Removal, l Layout) (Removed, error) {
	sock, svc := r.Name+".socket", r.Name+".service"
	if r.Transient {
		err := m.RemoveTransient(ctx, sock, svc)
		for _, s := range r.Services {
			err = errors.Join(err, m.StopUnit(ctx, s))
		}
		if c != nil {
			err = errors.Join(err, c.RemoveContainer(ctx, r.Name))
		}
		return Removed{}, err
	}
	var ours, skipped []string
	for _, p := range Paths(r.Name, l, r.System) {
		owned, err := Owned(p)
		if err != nil {
			return Removed{}, err
		}
		if owned {
			ours = append(ours, p)
		} else if exists(p) {
			skipped = append(skipped, p)
		}
	}
	if len(ours) == 0 {
		return Removed{Skipped: skipped}, fmt.Errorf("%s: %w", r.Name, ErrNotFound)
	}
	var errs []error
	errs = append(errs, m.StopUnit(ctx, sock))
	for _, s := range append([]string{svc}, r.Services...) {
		errs = append(errs, m.StopUnit(ctx, s))
	}
	errs = append(errs, m.DisableUnitFiles(ctx, []string{sock}))
	removed, _, err := RemoveOwned(ours)
	errs = append(errs, err, m.Reload(ctx))
	for _, u := range append([]string{sock, svc}, r.Services...) {
		errs = append(errs, m.ResetFailed(ctx, u))
	}
	if c != nil {
		errs = append(errs, c.RemoveContainer(ctx, r.Name))
	}
	return Removed{Files: removed, Skipped: skipped}, errors.Join(errs...)
}
