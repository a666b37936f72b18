package systemdbus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/systemdbus/internal/wire"
	"github.com/socktui/socktui/unit"
)

// ListOptions select the socket units ListSockets reports.
type ListOptions struct {
	// Patterns are unit names or globs ("echo*", "web.socket"); a name
	// without a type suffix means a .socket unit. Empty: every socket unit.
	Patterns []string
	// All also reports loaded units that are inactive or not found, and
	// socket unit files that are not loaded. Without it only active and
	// failed sockets are reported, as systemctl list-sockets does.
	All bool
}

// unitStatus is one entry of ListUnits*: a(ssssssouso). It has one
// definition, the codec's, so that both paths of a listing fill it alike.
type unitStatus = wire.UnitStatus

// execCommand is one entry of ExecStart: a(sasbttttuii).
type execCommand struct {
	Path             string
	Args             []string
	IgnoreFailure    bool
	Start, StartMono uint64
	Exit, ExitMono   uint64
	PID              uint32
	Code, Status     int32
}

// listing is a set of sockets with, for each unit (socket or service), the
// sequence number of the reply its state was read from: a signal received
// before that reply is older than what the listing holds.
type listing struct {
	sockets []unit.Socket
	seq     map[string]dbus.Sequence
	// files maps the names of socket unit files to their state ("enabled",
	// "static", "transient"...), when the listing included unit files.
	files map[string]string
}

// ListSockets lists socket units with the services they trigger. It reads
// the unit list with ListUnitsByPatterns and then the properties it needs
// with pipelined calls, in four rounds at most (sockets, the rarer socket
// properties, services, the rarer service properties); on the manager's
// private socket they go over a second connection of their own, through
// the hand-written codec (internal/wire).
// With All it also reads the socket unit files. It returns an error when
// the connection drops before the listing is whole.
func (c *Client) ListSockets(ctx context.Context, opts ListOptions) ([]unit.Socket, error) {
	pats, err := socketPatterns(opts.Patterns)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	l, err := list(ctx, s, pats, opts.All, false)
	if err != nil {
		return nil, err
	}
	return l.sockets, nil
}

// socketPatterns checks patterns and completes bare names to .socket.
func socketPatterns(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return []string{"*.socket"}, nil
	}
	out := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if err := CheckPattern(p); err != nil {
			return nil, err
		}
		out = append(out, SocketName(p))
	}
	return out, nil
}

// list builds a listing. all includes inactive and not-loaded units; watch
// drops units that are not found (Watch follows real units only).
func list(ctx context.Context, s *session, pats []string, all, watch bool) (*listing, error) {
	nb := func() propBatch { return newBatch(ctx, s) }
	// A one-shot listing reads over a second connection to the private
	// socket, at systemd's pace (internal/wire). Watch's listings stay on
	// the session: their replies must be ordered against its signals.
	if !watch && s.private != "" {
		if w, err := wire.Dial(ctx, s.private); err == nil {
			defer w.Close()
			nb = func() propBatch { return newWireBatch(ctx, w) }
		}
	}
	mgr := s.object(managerPath)
	var units []unitStatus
	var unitsSeq dbus.Sequence
	b := nb()
	b.units("ListUnitsByPatterns", func(u []unitStatus, seq dbus.Sequence) { units, unitsSeq = u, seq }, []string{}, pats)
	if err := b.wait(); err != nil {
		return nil, err
	}
	l := &listing{seq: map[string]dbus.Sequence{}, files: map[string]string{}}

	if all {
		var err error
		if units, err = addUnitFiles(ctx, mgr, pats, units, l); err != nil {
			return nil, err
		}
	}

	socks := make([]unit.Socket, 0, len(units))
	for _, u := range units {
		if !strings.HasSuffix(u.Name, ".socket") {
			continue
		}
		if !all && (unit.ActiveState(u.ActiveState) == unit.Inactive || u.LoadState != "loaded") {
			continue
		}
		if watch && u.LoadState == "not-found" {
			continue
		}
		if _, ok := l.seq[u.Name]; !ok {
			l.seq[u.Name] = unitsSeq
		}
		socks = append(socks, unit.Socket{
			Unit: u.Name, Description: u.Description, LoadState: u.LoadState,
			ActiveState: unit.ActiveState(u.ActiveState), SubState: u.SubState, Result: "success",
			Listen: []unit.Listen{}, Triggers: []string{}, Services: []unit.Service{},
		})
	}
	slices.SortFunc(socks, func(a, b unit.Socket) int { return strings.Compare(a.Unit, b.Unit) })

	if all {
		// The unit files were listed: their states come with them.
		for i := range socks {
			socks[i].UnitFileState = l.files[socks[i].Unit]
		}
	}
	if err := readSockets(nb, socks, !all); err != nil {
		return nil, err
	}
	if err := readServices(ctx, s, nb, socks, l.seq); err != nil {
		return nil, err
	}
	for i := range socks {
		socks[i].Derive()
	}
	l.sockets = socks
	return l, nil
}

// addUnitFiles adds to units the socket unit files matching pats that are
// not loaded (ListUnitFilesByPatterns, then ListUnitsByNames loads them),
// and records every unit file's state in l.files.
func addUnitFiles(ctx context.Context, mgr dbus.BusObject, pats []string, units []unitStatus, l *listing) ([]unitStatus, error) {
	files, err := unitFileStates(ctx, mgr, pats)
	if err != nil {
		return nil, err
	}
	l.files = files
	loaded := map[string]bool{}
	for _, u := range units {
		loaded[u.Name] = true
	}
	var more []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		st := files[name]
		if !loaded[name] && strings.HasSuffix(name, ".socket") && !strings.Contains(name, "@.") &&
			st != "masked" && st != "bad" {
			loaded[name] = true
			more = append(more, name)
		}
	}
	if len(more) > 0 {
		var extra []unitStatus
		call := mgr.CallWithContext(ctx, managerIface+".ListUnitsByNames", 0, more)
		if err := call.Store(&extra); err != nil {
			return nil, fmt.Errorf("systemdbus: loading unit files: %w", explain(err, "", ""))
		}
		units = append(units, extra...)
		for _, u := range extra {
			l.seq[u.Name] = call.ResponseSequence
		}
	}
	return units, nil
}

// unitFileStates maps the unit files matching pats to their states
// (ListUnitFilesByPatterns). A D-Bus error answer (a manager without the
// method) is no files; a dropped connection is an error.
func unitFileStates(ctx context.Context, mgr dbus.BusObject, pats []string) (map[string]string, error) {
	var files []struct{ Path, State string }
	err := mgr.CallWithContext(ctx, managerIface+".ListUnitFilesByPatterns", 0, []string{}, pats).Store(&files)
	if err != nil && !isDBusError(err) {
		return nil, fmt.Errorf("systemdbus: listing unit files: %w", explain(err, "", ""))
	}
	out := make(map[string]string, len(files))
	for _, f := range files {
		out[path.Base(f.Path)] = f.State
	}
	return out, nil
}

// readSockets fills Listen, Triggers, Result, Accept and the counters, and
// with fileState the UnitFileState (a listing without the unit files; one
// listing with them has the states already). systemd caches a unit's
// UnitFileState until the next reload: once warm the read costs what any
// other Get does (measured on 1,000 sockets: the manager's CPU per listing
// 52 -> 67 ms), the first listing after a reload pays for working the
// states out (about 5 s for 1,000 units in one folder, as `systemctl
// list-unit-files` does).
//
// Two systemd rules save most calls: an Accept=no socket always triggers its
// one service, while an Accept=yes socket triggers nothing but the
// per-connection instances of its template (names with "@"); and only
// Accept=yes sockets count connections. So Accept and the counters are read
// only for sockets that trigger nothing or an instance. Result
// is "success" unless the socket is failed or changing state (systemd resets
// it on start and only a failure leaves it set).
func readSockets(nb func() propBatch, socks []unit.Socket, fileState bool) error {
	b := nb()
	for i := range socks {
		sk := &socks[i]
		if sk.LoadState != "loaded" {
			continue
		}
		p := unitPath(sk.Unit)
		b.get(p, socketIface, "Listen", func(v dbus.Variant) { _ = v.Store(&sk.Listen) })
		b.get(p, unitIface, "Triggers", func(v dbus.Variant) { _ = v.Store(&sk.Triggers) })
		if needsResult(sk.ActiveState) {
			b.get(p, socketIface, "Result", func(v dbus.Variant) { _ = v.Store(&sk.Result) })
		}
		if fileState {
			b.get(p, unitIface, "UnitFileState", func(v dbus.Variant) { _ = v.Store(&sk.UnitFileState) })
		}
	}
	if err := b.wait(); err != nil {
		return err
	}
	b = nb()
	for i := range socks {
		sk := &socks[i]
		if sk.LoadState != "loaded" || !maybeAccept(sk.Triggers) {
			continue
		}
		b.get(unitPath(sk.Unit), socketIface, "Accept", func(v dbus.Variant) { _ = v.Store(&sk.Accept) })
		readCounters(b, sk)
	}
	return b.wait()
}

// maybeAccept reports whether a socket with these triggers may be
// Accept=yes.
func maybeAccept(triggers []string) bool {
	return len(triggers) == 0 || slices.ContainsFunc(triggers, func(t string) bool { return strings.Contains(t, "@") })
}

func readCounters(b propBatch, sk *unit.Socket) {
	p := unitPath(sk.Unit)
	b.get(p, socketIface, "NConnections", func(v dbus.Variant) { _ = v.Store(&sk.NConnections) })
	b.get(p, socketIface, "NAccepted", func(v dbus.Variant) { _ = v.Store(&sk.NAccepted) })
	b.get(p, socketIface, "NRefused", func(v dbus.Variant) { _ = v.Store(&sk.NRefused) })
}

// needsResult reports whether a unit in this active state may carry a
// Result other than "success".
func needsResult(active unit.ActiveState) bool {
	return active != unit.Active && active != unit.Inactive
}

// serviceInfo is what readServices learns about one triggered service.
type serviceInfo struct {
	unit.Service
	exec []execCommand
	env  []string
	// explained: Reason was worked out (once per service, however many
	// sockets trigger it).
	explained bool
}

// readServices fills each socket's Services from its Triggers.
// It stays one function (about 70 lines) because its two pipelined rounds
// share the per-service records they fill: split, the rounds would pass
// those records back and forth for no gain in reading.
func readServices(ctx context.Context, s *session, nb func() propBatch, socks []unit.Socket, seq map[string]dbus.Sequence) error {
	infos := map[string]*serviceInfo{}
	var names []string
	for _, sk := range socks {
		for _, t := range sk.Triggers {
			if _, ok := infos[t]; !ok {
				infos[t] = &serviceInfo{Service: unit.Service{Unit: t, Result: "success"}}
				names = append(names, t)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	b := nb()
	var states []unitStatus
	var statesSeq dbus.Sequence
	b.units("ListUnitsByNames", func(u []unitStatus, seq dbus.Sequence) { states, statesSeq = u, seq }, names)
	for _, name := range names {
		in := infos[name]
		p := unitPath(name)
		b.get(p, serviceIface, "ExecStart", func(v dbus.Variant) { _ = v.Store(&in.exec) })
	}
	if err := b.wait(); err != nil {
		return err
	}
	b = nb()
	for _, st := range states {
		in, ok := infos[st.Name]
		if !ok {
			continue
		}
		seq[st.Name] = statesSeq
		in.ActiveState, in.SubState = unit.ActiveState(st.ActiveState), st.SubState
		p := unitPath(st.Name)
		if in.ActiveState != unit.Inactive && in.ActiveState != unit.Failed {
			b.get(p, serviceIface, "MainPID", func(v dbus.Variant) { _ = v.Store(&in.MainPID) })
		}
		if in.ActiveState != unit.Inactive {
			// An idle service's Since would cost a call per socket for a
			// fact few look at; Watch fills it in from the next change.
			b.get(p, unitIface, "StateChangeTimestamp", func(v dbus.Variant) { in.Since = usecTime(v) })
		}
		if needsResult(in.ActiveState) {
			b.get(p, serviceIface, "Result", func(v dbus.Variant) { _ = v.Store(&in.Result) })
		}
		// The environment is read only where it can name the container:
		// a podman service that names none. A service whose ExecStart runs
		// no podman (a wrapper script) is not taken for a container, even
		// with PODMAN_SYSTEMD_UNIT set: that would cost a read per service.
		// A podman service's SourcePath names the Quadlet file it was
		// generated from (one read per container service).
		podman, name := containerFromExec(argvs(in.exec))
		if podman {
			b.get(p, unitIface, "SourcePath", func(v dbus.Variant) { _ = v.Store(&in.Source) })
		}
		if podman && name == "" {
			b.get(p, serviceIface, "Environment", func(v dbus.Variant) { _ = v.Store(&in.env) })
		}
	}
	if err := b.wait(); err != nil {
		return err
	}
	for i := range socks {
		for _, t := range socks[i].Triggers {
			in := infos[t]
			in.Container = Container(in.Unit, argvs(in.exec), in.env)
			if len(in.exec) > 0 {
				in.Exec = argvs(in.exec[:1])[0]
			}
			if in.Container != "" && in.Failed() && !in.explained {
				in.Reason = explainFailure(ctx, podmanImageExists, in.exec)
				in.explained = true
			}
			socks[i].Services = append(socks[i].Services, in.Service)
		}
	}
	return nil
}

// argvs returns each command's argv (its path when systemd gives no argv).
func argvs(cmds []execCommand) [][]string {
	out := make([][]string, 0, len(cmds))
	for _, c := range cmds {
		if len(c.Args) > 0 {
			out = append(out, c.Args)
		} else {
			out = append(out, []string{c.Path})
		}
	}
	return out
}

func usecTime(v dbus.Variant) time.Time {
	var us uint64
	if err := v.Store(&us); err != nil || us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(us))
}

// propBatch queues property reads and then waits for all of them at once.
// store is called, from wait, with each value read; a read that fails with
// a D-Bus error (a property the unit lacks, a unit that vanished) leaves
// its value at the default. wait returns any other error (the connection
// dropped, ctx ended); it may be called again after more gets.
type propBatch interface {
	get(p dbus.ObjectPath, iface, prop string, store func(dbus.Variant))
	// units queues a Manager method that returns units (ListUnitsByNames,
	// ListUnitsByPatterns): store gets them with the sequence number of the
	// reply on the session (0 elsewhere). Its error reply fails wait.
	units(method string, store func([]unitStatus, dbus.Sequence), args ...[]string)
	wait() error
}

// batch is the propBatch on a session's godbus connection: godbus
// pipelines the calls.
type batch struct {
	ctx  context.Context
	s    *session
	reqs []request
}

type request struct {
	call  *dbus.Call
	store func(dbus.Variant)
	units func([]unitStatus, dbus.Sequence)
}

func newBatch(ctx context.Context, s *session) *batch { return &batch{ctx: ctx, s: s} }

func (b *batch) get(p dbus.ObjectPath, iface, prop string, store func(dbus.Variant)) {
	call := b.s.object(p).GoWithContext(b.ctx, propsIface+".Get", 0, nil, iface, prop)
	b.reqs = append(b.reqs, request{call: call, store: store})
}

func (b *batch) units(method string, store func([]unitStatus, dbus.Sequence), args ...[]string) {
	call := b.s.object(managerPath).GoWithContext(b.ctx, managerIface+"."+method, 0, nil, callArgs(args)...)
	b.reqs = append(b.reqs, request{call: call, units: store})
}

// callArgs passes units' string-array arguments on as a call's arguments.
func callArgs(args [][]string) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// wait waits for every reply and stores the values. A D-Bus error reply
// (a property a unit lacks, a unit that vanished) leaves the value at its
// default; any other error (the connection dropped, ctx ended) is returned.
func (b *batch) wait() error {
	var first, unitsErr error
	for _, r := range b.reqs {
		call := <-r.call.Done
		if r.units != nil {
			var units []unitStatus
			if err := call.Store(&units); err != nil && unitsErr == nil {
				unitsErr = err
			}
			r.units(units, call.ResponseSequence)
			continue
		}
		if call.Err != nil {
			if first == nil && !isDBusError(call.Err) {
				first = call.Err
			}
			continue
		}
		var v dbus.Variant
		if err := call.Store(&v); err == nil {
			r.store(v)
		}
	}
	b.reqs = b.reqs[:0]
	if first != nil {
		return fmt.Errorf("systemdbus: reading properties: %w", explain(first, "", ""))
	}
	if unitsErr != nil {
		return fmt.Errorf("systemdbus: listing units: %w", explain(unitsErr, "", ""))
	}
	return nil
}

func isDBusError(err error) bool {
	var de dbus.Error
	var dep *dbus.Error
	return errors.As(err, &de) || errors.As(err, &dep)
}

// ServiceEnvironments reads the Environment property (systemd's
// Environment= settings, "KEY=value" each) of the services named, in one
// round of pipelined calls; a service that is not loaded maps to nil. It
// is read on demand, not in every listing: one call per service.
func (c *Client) ServiceEnvironments(ctx context.Context, services []string) (map[string][]string, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	envs := make(map[string][]string, len(services))
	b := newBatch(ctx, s)
	for _, name := range services {
		if _, ok := envs[name]; ok {
			continue
		}
		envs[name] = nil
		b.get(unitPath(name), serviceIface, "Environment", func(v dbus.Variant) {
			var env []string
			if v.Store(&env) == nil {
				envs[name] = env
			}
		})
	}
	if err := b.wait(); err != nil {
		return nil, err
	}
	return envs, nil
}
