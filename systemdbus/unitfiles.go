package systemdbus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// ErrNoInstallInfo: the unit files have no [Install] section (WantedBy=,
// Alias=, Also=...), so enabling them changed nothing. systemctl warns
// about it and succeeds; callers may do the same.
var ErrNoInstallInfo = errors.New("no installation config")

// UnitFileChange is one change enable or disable made on disk: Type is
// "symlink" or "unlink" (systemd's words), Filename the link, Destination
// its target ("" for an unlink).
type UnitFileChange struct {
	Type        string
	Filename    string
	Destination string
}

// Reload makes the manager re-read every unit file (systemctl
// daemon-reload). It returns when the reload is done: systemd answers the
// call only then. Watch follows a reload by listing again (a new Snapshot).
func (c *Client) Reload(ctx context.Context) error {
	_, err := c.retry(ctx, func(s *session) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return s.jobs.ReloadContext(ctx)
	})
	if err != nil {
		return fmt.Errorf("daemon-reload: %w", explain(err, "reload", ""))
	}
	return nil
}

// EnableUnitFiles enables the named unit files persistently, as
// `systemctl enable` does: the symlinks of their [Install] sections, not
// forced over links to other units, then a daemon-reload when anything
// changed (so that UnitFileState and the dependencies follow). A unit
// already enabled is no error. Units that have no [Install] section give
// an error wrapping ErrNoInstallInfo, after any other unit was enabled.
func (c *Client) EnableUnitFiles(ctx context.Context, names []string) error {
	_, err := c.EnableUnitFilesChanges(ctx, names)
	return err
}

// EnableUnitFilesChanges is EnableUnitFiles that also returns the changes
// made on disk, for a caller that shows them as systemctl does.
func (c *Client) EnableUnitFilesChanges(ctx context.Context, names []string) ([]UnitFileChange, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var install bool
	var changes []sd.EnableUnitFileChange
	_, err := c.retry(ctx, func(s *session) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		var err error
		install, changes, err = s.jobs.EnableUnitFilesContext(ctx, names, false, false)
		return err
	})
	what := strings.Join(names, " ")
	if err != nil {
		return nil, fmt.Errorf("enable %s: %w", what, explainUnitFile(err, "enable", names))
	}
	out := make([]UnitFileChange, len(changes))
	for i, ch := range changes {
		out[i] = UnitFileChange(ch)
	}
	if len(out) > 0 {
		if err := c.Reload(ctx); err != nil {
			return out, fmt.Errorf("enable %s: %w", what, err)
		}
	}
	if !install {
		return out, fmt.Errorf("enable %s: %w: the unit files have no [Install] section (WantedBy=), "+
			"so enabling changed nothing; they are static, started by another unit or by hand", what, ErrNoInstallInfo)
	}
	return out, nil
}

// DisableUnitFiles disables the named unit files persistently, as
// `systemctl disable` does: it removes the symlinks of their [Install]
// sections from the persistent configuration, then reloads the manager
// when anything changed. A unit that is not enabled is no error.
func (c *Client) DisableUnitFiles(ctx context.Context, names []string) error {
	_, err := c.DisableUnitFilesChanges(ctx, names)
	return err
}

// DisableUnitFilesChanges is DisableUnitFiles that also returns the
// changes made on disk.
func (c *Client) DisableUnitFilesChanges(ctx context.Context, names []string) ([]UnitFileChange, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var changes []sd.DisableUnitFileChange
	_, err := c.retry(ctx, func(s *session) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		var err error
		changes, err = s.jobs.DisableUnitFilesContext(ctx, names, false)
		return err
	})
	what := strings.Join(names, " ")
	if err != nil {
		return nil, fmt.Errorf("disable %s: %w", what, explainUnitFile(err, "disable", names))
	}
	out := make([]UnitFileChange, len(changes))
	for i, ch := range changes {
		out[i] = UnitFileChange(ch)
	}
	if len(out) > 0 {
		if err := c.Reload(ctx); err != nil {
			return out, fmt.Errorf("disable %s: %w", what, err)
		}
	}
	return out, nil
}

// explainUnitFile is explain for the unit file calls, which name no one
// unit: systemd's message names the file it stumbled on.
func explainUnitFile(err error, verb string, names []string) error {
	var de dbus.Error
	if pe := (*dbus.Error)(nil); errors.As(err, &pe) && pe != nil {
		de = *pe
	} else {
		errors.As(err, &de)
	}
	if de.Name == "org.freedesktop.systemd1.UnitGenerated" {
		msg := ""
		if len(de.Body) > 0 {
			msg, _ = de.Body[0].(string)
		}
		return fmt.Errorf("%w: %s (a transient or generated unit has no unit file of its own to %s)", ErrRefused,
			strings.TrimSuffix(msg, "."), verb)
	}
	name := ""
	if len(names) == 1 {
		name = names[0]
	}
	return explain(err, verb, name)
}
