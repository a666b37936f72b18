package systemdbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/unit"
)

// StartUnit starts unit and waits for its job to finish (JobRemoved). A job
// that does not end in "done" is an error wrapping ErrRefused that says why
// in plain words, for example that systemd refuses to start a socket whose
// service is still active.
func (c *Client) StartUnit(ctx context.Context, name string) error {
	return c.runJob(ctx, "start", name, func(ctx context.Context, j *sd.Conn, ch chan<- string) (int, error) {
		return j.StartUnitContext(ctx, name, "replace", ch)
	})
}

// StopUnit stops unit and waits for its job to finish.
func (c *Client) StopUnit(ctx context.Context, name string) error {
	return c.runJob(ctx, "stop", name, func(ctx context.Context, j *sd.Conn, ch chan<- string) (int, error) {
		return j.StopUnitContext(ctx, name, "replace", ch)
	})
}

// RestartUnit restarts unit (starting it when it is stopped) and waits for
// its job to finish.
func (c *Client) RestartUnit(ctx context.Context, name string) error {
	return c.runJob(ctx, "restart", name, func(ctx context.Context, j *sd.Conn, ch chan<- string) (int, error) {
		return j.RestartUnitContext(ctx, name, "replace", ch)
	})
}

// ResetFailed clears unit's failed state and its start-limit counters. It
// runs no job and returns when the manager has done it, within callTimeout.
func (c *Client) ResetFailed(ctx context.Context, name string) error {
	_, err := c.retry(ctx, func(s *session) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return s.jobs.ResetFailedUnitContext(ctx, name)
	})
	if err != nil {
		return fmt.Errorf("reset-failed %s: %w", name, c.advise(explain(err, "reset-failed", name)))
	}
	return nil
}

// ReviveSocket brings a failed socket back to listening. It resets the
// socket's failed services (listed in services), whose start limit would
// refuse the next connection, and then starts the socket: starting clears a
// failed unit's state. Only when that start is refused (the socket's own
// start limit) is the socket reset and started again. The socket itself is
// not reset first because systemd forgets a transient unit (the demo's)
// once its failure is reset; a transient socket refused by its own start
// limit cannot come back, and the error says so.
func (c *Client) ReviveSocket(ctx context.Context, socket string, services []string) error {
	for _, svc := range services {
		if err := c.ResetFailed(ctx, svc); err != nil && !errors.Is(err, ErrNoSuchUnit) {
			return err
		}
	}
	err := c.StartUnit(ctx, socket)
	if err == nil || !errors.Is(err, ErrRefused) {
		return err
	}
	if rerr := c.ResetFailed(ctx, socket); rerr != nil {
		return fmt.Errorf("%w; then %w", err, rerr)
	}
	if err := c.StartUnit(ctx, socket); err != nil {
		if errors.Is(err, ErrNoSuchUnit) {
			return fmt.Errorf("%w (a transient socket is gone once its failure is reset; create it again)", err)
		}
		return err
	}
	return nil
}

// retry runs fn on the live session and, when the connection turns out to
// have dropped (the manager re-executed, say), once more on a new one. It
// returns the session fn last ran on.
func (c *Client) retry(ctx context.Context, fn func(*session) error) (*session, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	err = fn(s)
	if err == nil || isDBusError(err) || ctx.Err() != nil {
		return s, err
	}
	s.conn.Close()
	s, err = c.session(ctx)
	if err != nil {
		return nil, err
	}
	return s, fn(s)
}

// Bounds on calls that a frozen manager would otherwise hold for ever. A job
// itself may take longer (a container pulling its image): runJob waits for
// its end as long as the caller's context allows, as systemctl does.
const (
	// callTimeout bounds one method call, as sd-bus's default does.
	callTimeout = 25 * time.Second
	// listTimeout bounds a whole ListSockets (thousands of pipelined calls).
	listTimeout = 60 * time.Second
)

// startFunc starts a job with one of go-systemd's calls (StartUnitContext
// and its kin), which sends the job's result to ch when it ends.
type startFunc func(ctx context.Context, jobs *sd.Conn, ch chan<- string) (int, error)

// runJob starts a job and waits for its end. The call is bounded by
// callTimeout, the job by ctx alone. go-systemd registers ch before it can
// read the job's JobRemoved, and sends the result into ch's buffer; it
// never closes ch, so a connection that closes first is seen on its
// context.
func (c *Client) runJob(ctx context.Context, verb, name string, start startFunc) error {
	result := make(chan string, 1)
	s, err := c.retry(ctx, func(s *session) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		_, err := start(ctx, s.jobs, result)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, name, c.advise(explain(err, verb, name)))
	}
	var r string
	select {
	case r = <-result:
	case <-s.conn.Context().Done():
		select {
		case r = <-result: // it ended as the connection closed
		default:
			return fmt.Errorf("%s %s: the connection closed before the job finished: %w", verb, name, ErrDisconnected)
		}
	case <-ctx.Done():
		return fmt.Errorf("%s %s: waiting for the job: %w", verb, name, ctx.Err())
	}
	if r == "done" {
		return nil
	}
	return fmt.Errorf("%s %s: %w", verb, name, c.jobFailure(ctx, s, verb, name, r))
}

// jobFailure explains a job result other than "done".
func (c *Client) jobFailure(ctx context.Context, s *session, verb, name, result string) error {
	switch result {
	case "canceled":
		return fmt.Errorf("%w: the job was canceled by a later job on the same unit", ErrRefused)
	case "timeout":
		return fmt.Errorf("%w: the job timed out", ErrRefused)
	case "dependency":
		return fmt.Errorf("%w: a unit it depends on failed", ErrRefused)
	case "skipped", "unsupported", "invalid":
		return fmt.Errorf("%w: the job was %s", ErrRefused, result)
	}
	// "failed": say why, from the unit's own state, read within callTimeout.
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	read := func(unit, typ, prop string, out any) {
		if p, err := s.jobs.GetUnitTypePropertyContext(ctx, unit, typ, prop); err == nil {
			_ = p.Value.Store(out)
		}
	}
	var active, res, load string
	read(name, "Unit", "ActiveState", &active)
	read(name, "Unit", "LoadState", &load)
	if load != "" && load != "loaded" {
		return fmt.Errorf("%w: the unit is %s", ErrRefused, load)
	}
	typ := "Service"
	if strings.HasSuffix(name, ".socket") {
		typ = "Socket"
	}
	read(name, typ, "Result", &res)
	starting := typ == "Socket" && verb != "stop"
	if starting {
		var triggers []string
		read(name, "Unit", "Triggers", &triggers)
		for _, t := range triggers {
			var st string
			read(t, "Unit", "ActiveState", &st)
			if st == "active" || st == "activating" || st == "deactivating" || st == "reloading" {
				return fmt.Errorf("%w: systemd will not start a socket whose service %s is still %s; "+
					"stop %s first, or let it exit", ErrRefused, t, st, t)
			}
		}
	}
	if starting && (res == "" || res == "success") {
		return fmt.Errorf("%w: the job failed and the socket is %s: systemd could not open its listeners "+
			"(an address already in use, a missing folder or a permission; see systemctl status %s)", ErrRefused, orUnknown(active), name)
	}
	if res != "" && res != "success" {
		return fmt.Errorf("%w: the job failed (%s: %s); the unit is %s", ErrRefused, res, resultWords(res, name), orUnknown(active))
	}
	return fmt.Errorf("%w: the job failed; the unit is %s (see systemctl status %s)", ErrRefused, orUnknown(active), name)
}

// resultWords says in words what a unit's Result means.
func resultWords(res, name string) string {
	why := map[string]string{
		"resources":               "systemd could not set it up (an address already in use, a missing directory, or a limit)",
		"exit-code":               "its process exited with a failure code",
		"signal":                  "its process was killed by a signal",
		"core-dump":               "its process dumped core",
		"timeout":                 "it timed out",
		"watchdog":                "its watchdog expired",
		"start-limit-hit":         "it was started too often in a short time; run reset-failed, then try again",
		"trigger-limit-hit":       "it was triggered too often in a short time; run reset-failed, then try again",
		"service-start-limit-hit": "its service was started too often in a short time; run reset-failed on both, then try again",
		"protocol":                "its service broke the protocol",
	}[res]
	if why == "" {
		return "see journalctl or systemctl status " + name
	}
	return why
}

// explain turns a D-Bus error from the manager into one a person can act
// on, wrapping the sentinel callers branch on.
func explain(err error, verb, name string) error {
	var de dbus.Error
	if pe := (*dbus.Error)(nil); errors.As(err, &pe) && pe != nil {
		de = *pe
	} else if !errors.As(err, &de) {
		if errors.Is(err, dbus.ErrClosed) || strings.Contains(err.Error(), "EOF") ||
			strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe") {
			return fmt.Errorf("%w: %v", ErrDisconnected, err)
		}
		return err
	}
	msg := ""
	if len(de.Body) > 0 {
		msg, _ = de.Body[0].(string)
	}
	switch de.Name {
	case "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed":
		if name != "" {
			return fmt.Errorf("%w: %s is not known to the manager (%s)", ErrNoSuchUnit, name, msg)
		}
		return fmt.Errorf("%w: %s", ErrNoSuchUnit, msg)
	case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
		"org.freedesktop.systemd1.InteractiveAuthorizationRequired":
		return fmt.Errorf("%w: this user may not %s units (systemd said: %s)", ErrPermission, orDefault(verb, "manage"), msg)
	case "org.freedesktop.systemd1.UnitMasked":
		return fmt.Errorf("%w: %s is masked; unmask it first (systemctl unmask)", ErrRefused, name)
	case "org.freedesktop.systemd1.UnitExists":
		return fmt.Errorf("%w: a unit named %s already exists (%s)", ErrRefused, name, msg)
	case "org.freedesktop.systemd1.OnlyByDependency", "org.freedesktop.systemd1.JobTypeNotApplicable":
		return fmt.Errorf("%w: %s", ErrRefused, msg)
	}
	return fmt.Errorf("%s: %s", de.Name, msg)
}

// advise adds to a permission error what the caller can do about it on
// this client's manager: on the system manager, where systemd asks polkit
// about every caller but root (and refuses when no polkit rule or agent
// says yes), run as root; on a user manager, run as its user.
func (c *Client) advise(err error) error {
	if !errors.Is(err, ErrPermission) {
		return err
	}
	if c.manager == "system" {
		return fmt.Errorf("%w; the system manager lets only root, or a user polkit authorizes, do this: "+
			"run as root (for example with sudo)", err)
	}
	return fmt.Errorf("%w; run as the user manager's own user, or as root", err)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CreateTransientSocket creates t's socket and service units in one call
// (StartTransientUnitAux, the service as the auxiliary unit), starts the
// socket and waits for the job.
func (c *Client) CreateTransientSocket(ctx context.Context, t unit.SocketSpec) error {
	if !strings.HasSuffix(t.Name, ".socket") {
		return fmt.Errorf("creating %q: %w: a socket unit's name ends in .socket", t.Name, ErrBadPattern)
	}
	if len(t.Listen) == 0 || len(t.Service.ExecStart) == 0 {
		return fmt.Errorf("creating %s: it needs at least one Listen entry and an ExecStart", t.Name)
	}
	svc := t.Service
	svc.Name = t.ServiceName()
	listen := make([]struct{ Type, Address string }, len(t.Listen))
	for i, l := range t.Listen {
		listen[i] = struct{ Type, Address string }{l.Type, l.Address}
	}
	sockProps := []sd.Property{
		sd.PropDescription(orDefault(t.Description, t.Name)),
		{Name: "Listen", Value: dbus.MakeVariant(listen)},
	}
	if t.Accept {
		sockProps = append(sockProps, sd.Property{Name: "Accept", Value: dbus.MakeVariant(true)})
	}
	if t.RemoveOnStop {
		sockProps = append(sockProps, sd.Property{Name: "RemoveOnStop", Value: dbus.MakeVariant(true)})
	}
	// PropExecStart's flag is systemd's ignore-failure (go-systemd calls it
	// uncleanIsFailure): false, a failing command fails the service.
	svcProps := []sd.Property{
		sd.PropDescription(orDefault(svc.Description, svc.Name)),
		sd.PropExecStart(svc.ExecStart, false),
	}
	for _, e := range []struct {
		name string
		cmds [][]string
	}{{"ExecStartPre", svc.ExecStartPre}, {"ExecStop", svc.ExecStop}, {"ExecStopPost", svc.ExecStopPost}} {
		if len(e.cmds) > 0 {
			svcProps = append(svcProps, execList(e.name, e.cmds))
		}
	}
	for _, kv := range [][2]string{{"Type", svc.Type}, {"NotifyAccess", svc.NotifyAccess}, {"KillMode", svc.KillMode}} {
		if kv[1] != "" {
			svcProps = append(svcProps, sd.Property{Name: kv[0], Value: dbus.MakeVariant(kv[1])})
		}
	}
	if len(svc.Environment) > 0 {
		svcProps = append(svcProps, sd.Property{Name: "Environment", Value: dbus.MakeVariant(svc.Environment)})
	}
	if svc.TimeoutStopSec > 0 {
		svcProps = append(svcProps, sd.Property{Name: "TimeoutStopUSec", Value: dbus.MakeVariant(uint64(svc.TimeoutStopSec.Microseconds()))})
	}
	aux := []sd.PropertyCollection{{Name: svc.Name, Properties: svcProps}}
	return c.runJob(ctx, "create", t.Name, func(ctx context.Context, j *sd.Conn, ch chan<- string) (int, error) {
		return j.StartTransientUnitAux(ctx, t.Name, "fail", sockProps, aux, ch)
	})
}

// execList is an Exec* property of several commands, a(sasb) as
// sd.PropExecStart writes for its one command.
func execList(name string, cmds [][]string) sd.Property {
	type execCommand struct {
		Path          string
		Args          []string
		IgnoreFailure bool
	}
	out := make([]execCommand, 0, len(cmds))
	for _, c := range cmds {
		if len(c) > 0 {
			out = append(out, execCommand{c[0], c, false})
		}
	}
	return sd.Property{Name: name, Value: dbus.MakeVariant(out)}
}

// RemoveTransient stops a transient socket and its service and clears a
// failed state, after which systemd forgets both. Units that are already
// gone are not an error.
func (c *Client) RemoveTransient(ctx context.Context, socket, service string) error {
	var errs []error
	for _, u := range []string{socket, service} {
		if u == "" {
			continue
		}
		if err := c.StopUnit(ctx, u); err != nil && !errors.Is(err, ErrNoSuchUnit) {
			errs = append(errs, err)
		}
		if err := c.ResetFailed(ctx, u); err != nil && !errors.Is(err, ErrNoSuchUnit) &&
			!strings.Contains(err.Error(), "not failed") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
