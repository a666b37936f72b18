package systemdbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/unit"
)

// StartUnit starts unit and waits for its job to finish (JobRemoved). A job
// that does not end in "done" is an error wrapping ErrRefused that says why
// in plain words, for example that systemd refuses to start a socket whose
// service is still active.
func (c *Client) StartUnit(ctx context.Context, name string) error {
	return c.runJob(ctx, "start", name, "StartUnit", name, "replace")
}

// StopUnit stops unit and waits for its job to finish.
func (c *Client) StopUnit(ctx context.Context, name string) error {
	return c.runJob(ctx, "stop", name, "StopUnit", name, "replace")
}

// RestartUnit restarts unit (starting it when it is stopped) and waits for
// its job to finish.
func (c *Client) RestartUnit(ctx context.Context, name string) error {
	return c.runJob(ctx, "restart", name, "RestartUnit", name, "replace")
}

// ResetFailed clears unit's failed state and its start-limit counters. It
// runs no job and returns when the manager has done it.
func (c *Client) ResetFailed(ctx context.Context, name string) error {
	var err error
	_, err = c.retry(ctx, func(s *session) error { return c.call(ctx, s, "ResetFailedUnit", name).Err })
	if err != nil {
		return fmt.Errorf("reset-failed %s: %w", name, explain(err, "reset-failed", name))
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

// call calls a manager method, allowing polkit to ask the user for
// authorization on the system manager. It gives up after callTimeout.
func (c *Client) call(ctx context.Context, s *session, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	msg := &dbus.Message{
		Type: dbus.TypeMethodCall,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:        dbus.MakeVariant(managerPath),
			dbus.FieldDestination: dbus.MakeVariant(busName),
			dbus.FieldInterface:   dbus.MakeVariant(managerIface),
			dbus.FieldMember:      dbus.MakeVariant(method),
		},
		Body: args,
	}
	if c.opts.System {
		msg.Flags = dbus.FlagAllowInteractiveAuthorization
	}
	if len(args) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(args...))
	}
	return <-s.conn.SendWithContext(ctx, msg, make(chan *dbus.Call, 1)).Done
}

// runJob calls a manager method that returns a job and waits for the job's
// JobRemoved signal.
func (c *Client) runJob(ctx context.Context, verb, name, method string, args ...any) error {
	var result <-chan string
	s, err := c.retry(ctx, func(s *session) error {
		var err error
		result, err = c.startJob(ctx, s, method, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, name, explain(err, verb, name))
	}
	var r string
	select {
	case r = <-result:
	case <-ctx.Done():
		return fmt.Errorf("%s %s: waiting for the job: %w", verb, name, ctx.Err())
	}
	if r == "done" {
		return nil
	}
	if r == "" {
		return fmt.Errorf("%s %s: the connection closed before the job finished: %w", verb, name, ErrDisconnected)
	}
	return fmt.Errorf("%s %s: %w", verb, name, c.jobFailure(ctx, s, verb, name, r))
}

// startJob calls method and registers a waiter for the job it returns. No
// lock is held across the call: the dispatcher must keep reading signals
// while the reply is on its way (with one connection, a blocked dispatcher
// stalls the reply itself). A JobRemoved that overtakes the reply is kept by
// the dispatcher and handed over here.
func (c *Client) startJob(ctx context.Context, s *session, method string, args ...any) (<-chan string, error) {
	select {
	case <-s.done:
		return nil, ErrDisconnected
	default:
	}
	var job dbus.ObjectPath
	if err := c.call(ctx, s, method, args...).Store(&job); err != nil {
		return nil, err
	}
	return s.await(job), nil
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
	// "failed": say why, from the unit's own state.
	read := func(p dbus.ObjectPath, iface, prop string, out any) {
		var v dbus.Variant
		if s.object(p).CallWithContext(ctx, propsIface+".Get", 0, iface, prop).Store(&v) == nil {
			_ = v.Store(out)
		}
	}
	p := unitPath(name)
	var active, res, load string
	read(p, unitIface, "ActiveState", &active)
	read(p, unitIface, "LoadState", &load)
	if load != "" && load != "loaded" {
		return fmt.Errorf("%w: the unit is %s", ErrRefused, load)
	}
	iface := serviceIface
	if strings.HasSuffix(name, ".socket") {
		iface = socketIface
	}
	read(p, iface, "Result", &res)
	if iface == socketIface && verb != "stop" {
		var triggers []string
		read(p, unitIface, "Triggers", &triggers)
		for _, t := range triggers {
			var st string
			read(unitPath(t), unitIface, "ActiveState", &st)
			if st == "active" || st == "activating" || st == "deactivating" || st == "reloading" {
				return fmt.Errorf("%w: systemd will not start a socket whose service %s is still %s; "+
					"stop %s first, or let it exit", ErrRefused, t, st, t)
			}
		}
	}
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
		why = "see journalctl or systemctl status " + name
	}
	if iface == socketIface && verb != "stop" && (res == "" || res == "success") {
		return fmt.Errorf("%w: the job failed and the socket is %s: systemd could not open its listeners "+
			"(an address already in use, a missing folder or a permission; see systemctl status %s)", ErrRefused, orUnknown(active), name)
	}
	if res != "" && res != "success" {
		return fmt.Errorf("%w: the job failed (%s: %s); the unit is %s", ErrRefused, res, why, orUnknown(active))
	}
	return fmt.Errorf("%w: the job failed; the unit is %s (see systemctl status %s)", ErrRefused, orUnknown(active), name)
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
		return fmt.Errorf("%w: the manager does not let this user %s units (%s); run as root, or as the unit's owner",
			ErrPermission, orDefault(verb, "manage"), msg)
	case "org.freedesktop.systemd1.UnitMasked":
		return fmt.Errorf("%w: %s is masked; unmask it first (systemctl unmask)", ErrRefused, name)
	case "org.freedesktop.systemd1.UnitExists":
		return fmt.Errorf("%w: a unit named %s already exists (%s)", ErrRefused, name, msg)
	case "org.freedesktop.systemd1.OnlyByDependency", "org.freedesktop.systemd1.JobTypeNotApplicable":
		return fmt.Errorf("%w: %s", ErrRefused, msg)
	}
	return fmt.Errorf("%s: %s", de.Name, msg)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CreateTransientSocket creates t's socket and service units in one call
// (StartTransientUnit with the service as an auxiliary unit), starts the
// socket and waits for the job.
func (c *Client) CreateTransientSocket(ctx context.Context, t unit.SocketSpec) error {
	if !strings.HasSuffix(t.Name, ".socket") {
		return fmt.Errorf("creating %q: %w: a socket unit's name ends in .socket", t.Name, ErrBadPattern)
	}
	if len(t.Listen) == 0 || len(t.Service.ExecStart) == 0 {
		return fmt.Errorf("creating %s: it needs at least one Listen entry and an ExecStart", t.Name)
	}
	svc := t.Service
	if svc.Name == "" {
		svc.Name = strings.TrimSuffix(t.Name, ".socket") + ".service"
	}
	listen := make([]struct{ Type, Address string }, len(t.Listen))
	for i, l := range t.Listen {
		listen[i] = struct{ Type, Address string }{l.Type, l.Address}
	}
	sockProps := []property{
		{"Description", dbus.MakeVariant(orDefault(t.Description, t.Name))},
		{"Listen", dbus.MakeVariant(listen)},
	}
	if t.Accept {
		sockProps = append(sockProps, property{"Accept", dbus.MakeVariant(true)})
	}
	if t.RemoveOnStop {
		sockProps = append(sockProps, property{"RemoveOnStop", dbus.MakeVariant(true)})
	}
	svcProps := []property{
		{"Description", dbus.MakeVariant(orDefault(svc.Description, svc.Name))},
		{"ExecStart", execProp(svc.ExecStart)},
	}
	if len(svc.ExecStartPre) > 0 {
		svcProps = append(svcProps, property{"ExecStartPre", execProp(svc.ExecStartPre...)})
	}
	if len(svc.ExecStop) > 0 {
		svcProps = append(svcProps, property{"ExecStop", execProp(svc.ExecStop...)})
	}
	if len(svc.ExecStopPost) > 0 {
		svcProps = append(svcProps, property{"ExecStopPost", execProp(svc.ExecStopPost...)})
	}
	for _, kv := range [][2]string{{"Type", svc.Type}, {"NotifyAccess", svc.NotifyAccess}, {"KillMode", svc.KillMode}} {
		if kv[1] != "" {
			svcProps = append(svcProps, property{kv[0], dbus.MakeVariant(kv[1])})
		}
	}
	if len(svc.Environment) > 0 {
		svcProps = append(svcProps, property{"Environment", dbus.MakeVariant(svc.Environment)})
	}
	if svc.TimeoutStopSec > 0 {
		svcProps = append(svcProps, property{"TimeoutStopUSec", dbus.MakeVariant(uint64(svc.TimeoutStopSec.Microseconds()))})
	}
	aux := []auxUnit{{svc.Name, svcProps}}
	return c.runJob(ctx, "create", t.Name, "StartTransientUnit", t.Name, "fail", sockProps, aux)
}

type property struct {
	Name  string
	Value dbus.Variant
}

type auxUnit struct {
	Name       string
	Properties []property
}

// execProp builds an Exec* property value, a(sasb).
func execProp(cmds ...[]string) dbus.Variant {
	type execSpec struct {
		Path          string
		Args          []string
		IgnoreFailure bool
	}
	out := make([]execSpec, 0, len(cmds))
	for _, c := range cmds {
		if len(c) > 0 {
			out = append(out, execSpec{c[0], c, false})
		}
	}
	return dbus.MakeVariant(out)
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
