package systemdbus

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/unit"
)

// Watch follows every socket unit of the manager (loaded ones in any state,
// and socket unit files not loaded, as ListSockets with All) by D-Bus
// signal, and delivers what changes as Events on the returned channel.
//
// The first event is Snapshot, with every socket; another Snapshot follows
// each daemon-reload. Then UnitChanged carries a socket's full new snapshot
// whenever the socket or one of its services changes (and only when
// something it reports changed), UnitAdded and UnitRemoved follow units
// appearing and vanishing, JobFinished reports every job's end. When the
// connection drops (the manager re-executes, restarts or exits) Watch sends
// Disconnected, reconnects with backoff (Options.Backoff doubling up to 5 s),
// lists again and sends Reconnected with every socket. If the manager cannot
// be reached when Watch starts, Disconnected comes first.
//
// An Accept=yes socket's per-connection service instances are not followed
// one by one: its counters (and so its state) are, on the counter timer.
//
// Events are in the order of the manager's signals. Delivery never drops an
// event: while the reader lags, signals queue without bound inside the
// client (godbus's sequential signal handler) and Watch blocks on the send.
// With nothing changing Watch makes no call to the manager, except reading
// the connection counters of active Accept=yes sockets every
// Options.CounterInterval. The channel is closed only when ctx ends.
func (c *Client) Watch(ctx context.Context) <-chan unit.Event {
	out := make(chan unit.Event, 16)
	go c.watch(ctx, out)
	return out
}

// watcher is Watch's state, owned by its goroutine.
type watcher struct {
	ctx       context.Context
	out       chan<- unit.Event
	s         *session
	socks     map[string]*unit.Socket
	owners    map[string][]string // service -> the sockets that trigger it
	seq       map[string]dbus.Sequence
	files     map[string]string // socket unit file -> its state
	reloading bool
	// reasons holds the last failure reason worked out per service
	// (explain), for a failure whose status was overwritten by a restart.
	reasons map[string]string
	// failures counts each service's failures, so that a reason worked
	// out in the background is applied only to the failure it explains.
	failures map[string]int
	// finer receives the reasons worked out in the background (a `podman
	// image exists` takes 0.1-0.3 s, up to 5 s): the events of other units
	// do not wait for them.
	finer       chan finerReason
	imageExists imageExistsFunc
	// held holds, by socket, the socket as its last event showed it while
	// a change of it waits for the rest of its signals. systemd sends a
	// unit's PropertiesChanged first for its type's interface (Socket,
	// Service) and then for org.freedesktop.systemd1.Unit, so that
	// clients can apply them as one (send_changed_signal in
	// src/core/dbus-unit.c). Applied alone, the first half shows a mix
	// that never was: a failed service starting again reads
	// ActiveState=failed with its reset Result=success, which a cold probe
	// took for a new failure. A held change is emitted with its Unit half.
	held map[string]unit.Socket
}

// finerReason is a failure reason worked out after the failure was
// reported.
type finerReason struct {
	name    string
	failure int // w.failures[name] when the check started
	reason  string
}

// watch is Watch's goroutine: connect, list, follow, and on a dropped
// connection back off and start over. It stays one function (about 70
// lines) because the backoff and the Disconnected-once state belong to the
// whole loop.
func (c *Client) watch(ctx context.Context, out chan<- unit.Event) {
	defer close(out)
	w := &watcher{ctx: ctx, out: out, finer: make(chan finerReason), imageExists: c.imageExists,
		reasons: map[string]string{}, failures: map[string]int{}}
	backoff := c.opts.Backoff
	disconnected := false
	sleep := func() bool {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(backoff*2, 5*time.Second)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	lost := func(err error) bool {
		if !disconnected {
			disconnected = true
			if !w.emit(unit.Event{Kind: unit.Disconnected, Err: err}) {
				return false
			}
		}
		return sleep()
	}
	for ctx.Err() == nil {
		s, err := c.session(ctx)
		if err != nil {
			if !lost(err) {
				return
			}
			continue
		}
		sigs := make(chan *dbus.Signal, 64)
		s.conn.Signal(sigs)
		l, err := list(ctx, s, []string{"*.socket"}, true, true)
		if err != nil {
			s.conn.RemoveSignal(sigs)
			if ctx.Err() != nil {
				return
			}
			if s.conn.Connected() {
				// An answer that is not a dropped connection: start over on
				// a fresh one rather than follow a manager we cannot list.
				s.conn.Close()
			}
			if !lost(err) {
				return
			}
			continue
		}
		backoff = c.opts.Backoff
		w.s = s
		w.reset(l)
		kind := unit.Snapshot
		if disconnected {
			kind = unit.Reconnected
		}
		disconnected = false
		if !w.emit(unit.Event{Kind: kind, Sockets: w.all()}) {
			s.conn.RemoveSignal(sigs)
			return
		}
		err = w.follow(sigs, c.opts.CounterInterval)
		s.conn.RemoveSignal(sigs)
		if ctx.Err() != nil {
			return
		}
		if !lost(err) {
			return
		}
	}
}

// follow applies signals until the connection drops (it returns why) or
// ctx ends (it returns nil).
func (w *watcher) follow(sigs <-chan *dbus.Signal, counterEvery time.Duration) error {
	tick := time.NewTicker(counterEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return nil
		case sig, ok := <-sigs:
			if !ok {
				return fmt.Errorf("systemdbus: %w", ErrDisconnected)
			}
			if err := w.handle(sig); err != nil {
				return err
			}
		case <-tick.C:
			if err := w.readCounters(); err != nil {
				return err
			}
		case f := <-w.finer:
			w.applyReason(f)
		}
	}
}

// applyReason sets a reason worked out in the background on every socket
// of the service, if the service is still in the failure it explains.
func (w *watcher) applyReason(f finerReason) {
	if w.failures[f.name] != f.failure {
		return
	}
	w.reasons[f.name] = f.reason
	at := time.Now()
	for _, owner := range w.owners[f.name] {
		sk := w.socks[owner]
		if sk == nil {
			continue
		}
		shown := w.shown(owner, sk)
		for i := range sk.Services {
			if svc := &sk.Services[i]; svc.Unit == f.name && svc.Failed() {
				svc.Reason = f.reason
			}
		}
		w.settle(owner, shown, sk, at)
	}
}

func (w *watcher) emit(ev unit.Event) bool {
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	select {
	case w.out <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}

func (w *watcher) reset(l *listing) {
	w.socks = make(map[string]*unit.Socket, len(l.sockets))
	w.owners = map[string][]string{}
	w.seq = l.seq
	w.files = l.files
	w.reloading = false
	w.held = map[string]unit.Socket{}
	for i := range l.sockets {
		w.add(&l.sockets[i])
	}
}

func (w *watcher) add(sk *unit.Socket) {
	w.socks[sk.Unit] = sk
	for _, t := range sk.Triggers {
		if !slices.Contains(w.owners[t], sk.Unit) {
			w.owners[t] = append(w.owners[t], sk.Unit)
		}
	}
}

func (w *watcher) remove(name string) {
	sk := w.socks[name]
	if sk == nil {
		return
	}
	delete(w.socks, name)
	delete(w.held, name)
	for _, t := range sk.Triggers {
		w.owners[t] = slices.DeleteFunc(w.owners[t], func(s string) bool { return s == name })
		if len(w.owners[t]) == 0 {
			delete(w.owners, t)
		}
	}
}

// all returns copies of every socket, sorted by name.
func (w *watcher) all() []unit.Socket {
	out := make([]unit.Socket, 0, len(w.socks))
	for _, sk := range w.socks {
		out = append(out, sk.Clone())
	}
	slices.SortFunc(out, func(a, b unit.Socket) int { return strings.Compare(a.Unit, b.Unit) })
	return out
}

// handle applies one signal. It returns an error only when the connection
// failed while handling it.
func (w *watcher) handle(sig *dbus.Signal) error {
	at := time.Now()
	switch sig.Name {
	case propsIface + ".PropertiesChanged":
		return w.propertiesChanged(sig, at)
	case managerIface + ".UnitNew":
		id, _ := sig.Body[0].(string)
		return w.unitNew(id, at)
	case managerIface + ".UnitRemoved":
		id, _ := sig.Body[0].(string)
		w.unitRemoved(id, at)
	case managerIface + ".JobRemoved":
		if len(sig.Body) < 4 {
			return nil
		}
		id, _ := sig.Body[0].(uint32)
		name, _ := sig.Body[2].(string)
		result, _ := sig.Body[3].(string)
		w.emit(unit.Event{Kind: unit.JobFinished, At: at, Unit: name, Job: id, JobResult: result})
	case managerIface + ".UnitFilesChanged":
		return w.unitFilesChanged(at)
	case managerIface + ".Reloading":
		active, _ := sig.Body[0].(bool)
		if active {
			w.reloading = true
			return nil
		}
		if !w.reloading {
			// The end of a reload whose start came before this connection:
			// systemd answers Reload (a systemctl daemon-reload returns)
			// before it signals Reloading(false), and a listing asked
			// meanwhile is answered after the reload. Nothing to list again.
			return nil
		}
		l, err := list(w.ctx, w.s, []string{"*.socket"}, true, true)
		if err != nil {
			return err
		}
		w.reset(l)
		w.emit(unit.Event{Kind: unit.Snapshot, At: at, Sockets: w.all()})
	}
	return nil
}

// propertiesChanged applies a PropertiesChanged of a socket or of a
// service some sockets trigger, explaining a container service's new
// failure once however many sockets trigger it.
func (w *watcher) propertiesChanged(sig *dbus.Signal, at time.Time) error {
	name, ok := unitName(sig.Path)
	if !ok || len(sig.Body) < 2 || sig.Sequence < w.seq[name] {
		return nil
	}
	iface, _ := sig.Body[0].(string)
	changed, _ := sig.Body[1].(map[string]dbus.Variant)
	if sk := w.socks[name]; sk != nil {
		shown := w.shown(name, sk)
		applySocket(sk, iface, changed)
		w.hold(name, shown, iface)
		w.settle(name, shown, sk, at)
	}
	var reason string
	explained := false
	for _, owner := range w.owners[name] {
		sk := w.socks[owner]
		if sk == nil {
			continue
		}
		shown := w.shown(owner, sk)
		for i := range sk.Services {
			svc := &sk.Services[i]
			if svc.Unit != name {
				continue
			}
			wasFailed := svc.Failed()
			applyService(svc, iface, changed)
			switch {
			case !svc.Failed():
				svc.Reason = ""
			case !wasFailed && svc.Container != "":
				if !explained {
					explained = true
					var err error
					if reason, err = w.explain(name); err != nil {
						return err
					}
				}
				svc.Reason = reason
			}
		}
		w.hold(owner, shown, iface)
		w.settle(owner, shown, sk, at)
	}
	return nil
}

// shown is the socket name as its last event showed it: from before a
// held change, else as it is now.
func (w *watcher) shown(name string, sk *unit.Socket) unit.Socket {
	if b, ok := w.held[name]; ok {
		return b
	}
	return sk.Clone()
}

// hold marks a change of the socket name by a signal of iface: a type's
// own interface holds it (the Unit half follows), the Unit interface
// completes it.
func (w *watcher) hold(name string, shown unit.Socket, iface string) {
	if iface == unitIface {
		delete(w.held, name)
		return
	}
	if _, ok := w.held[name]; !ok {
		w.held[name] = shown
	}
}

// settle emits sk's change since shown, unless part of it is held.
func (w *watcher) settle(name string, shown unit.Socket, sk *unit.Socket, at time.Time) {
	if _, ok := w.held[name]; ok {
		sk.Derive()
		return
	}
	w.changed(shown, sk, at)
}

// unitNew lists a socket unit that appeared and emits UnitAdded.
func (w *watcher) unitNew(id string, at time.Time) error {
	if w.reloading || !strings.HasSuffix(id, ".socket") || w.socks[id] != nil {
		return nil
	}
	l, err := list(w.ctx, w.s, []string{id}, true, true)
	if err != nil {
		return err
	}
	maps.Copy(w.seq, l.seq)
	maps.Copy(w.files, l.files)
	for i := range l.sockets {
		sk := l.sockets[i]
		if w.socks[sk.Unit] != nil {
			continue
		}
		w.add(&sk)
		c := sk.Clone()
		if !w.emit(unit.Event{Kind: unit.UnitAdded, At: at, Unit: sk.Unit, Socket: &c}) {
			return nil
		}
	}
	return nil
}

// unitRemoved forgets a socket unit systemd unloaded, unless a unit file
// keeps it there to start: systemd unloads inactive units nobody
// references, and such a socket stays (as it was: stopped). The listing
// knows the unit files: no call needed.
func (w *watcher) unitRemoved(id string, at time.Time) {
	if w.reloading || w.socks[id] == nil {
		return
	}
	if st, ok := w.files[id]; ok && st != "transient" {
		return
	}
	w.remove(id)
	w.emit(unit.Event{Kind: unit.UnitRemoved, At: at, Unit: id})
}

// unitFilesChanged re-reads the state of every socket unit file, in one
// call, after an enable, disable, mask or link: systemd signals no
// PropertiesChanged for UnitFileState (measured on systemd 252), only
// UnitFilesChanged on the manager. systemctl and socktui reload the
// manager after such a change, and the reload's Snapshot has the states
// too; this covers a change made without a reload (systemctl
// --no-reload). Sockets whose state changed get a UnitChanged.
func (w *watcher) unitFilesChanged(at time.Time) error {
	if w.reloading {
		return nil
	}
	files, err := unitFileStates(w.ctx, w.s.object(managerPath), []string{"*.socket"})
	if err != nil {
		return err
	}
	w.files = files
	for _, name := range slices.Sorted(maps.Keys(w.socks)) {
		sk := w.socks[name]
		shown := w.shown(name, sk)
		sk.UnitFileState = files[name]
		w.settle(name, shown, sk, at)
	}
	return nil
}

// changed recomputes sk's derived state and emits UnitChanged when anything
// differs from before.
func (w *watcher) changed(before unit.Socket, sk *unit.Socket, at time.Time) {
	sk.Derive()
	if reflect.DeepEqual(before, *sk) {
		return
	}
	c := sk.Clone()
	w.emit(unit.Event{Kind: unit.UnitChanged, At: at, Unit: sk.Unit, Socket: &c})
}

// readCounters re-reads the counters of active Accept=yes sockets, the only
// ones whose counters move; it makes no call when there are none.
func (w *watcher) readCounters() error {
	var names []string
	for name, sk := range w.socks {
		if sk.Accept && sk.ActiveState == unit.Active {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	b := newBatch(w.ctx, w.s)
	fresh := make([]unit.Socket, len(names))
	for i, name := range names {
		fresh[i] = unit.Socket{Unit: name}
		readCounters(b, &fresh[i])
	}
	if err := b.wait(); err != nil {
		return err
	}
	at := time.Now()
	for _, f := range fresh {
		sk := w.socks[f.Unit]
		if sk == nil {
			continue
		}
		shown := w.shown(f.Unit, sk)
		sk.NConnections, sk.NAccepted, sk.NRefused = f.NConnections, f.NAccepted, f.NRefused
		w.settle(f.Unit, shown, sk, at)
	}
	return nil
}

// applySocket applies a PropertiesChanged of a socket unit.
func applySocket(sk *unit.Socket, iface string, changed map[string]dbus.Variant) {
	switch iface {
	case unitIface:
		store(changed, "ActiveState", &sk.ActiveState)
		store(changed, "SubState", &sk.SubState)
		store(changed, "LoadState", &sk.LoadState)
		store(changed, "Description", &sk.Description)
	case socketIface:
		store(changed, "Result", &sk.Result)
		store(changed, "NConnections", &sk.NConnections)
		store(changed, "NAccepted", &sk.NAccepted)
		store(changed, "NRefused", &sk.NRefused)
	}
}

// applyService applies a PropertiesChanged of a triggered service.
func applyService(svc *unit.Service, iface string, changed map[string]dbus.Variant) {
	switch iface {
	case unitIface:
		store(changed, "ActiveState", &svc.ActiveState)
		store(changed, "SubState", &svc.SubState)
		store(changed, "SourcePath", &svc.Source)
		if v, ok := changed["StateChangeTimestamp"]; ok {
			svc.Since = usecTime(v)
		}
	case serviceIface:
		store(changed, "Result", &svc.Result)
		store(changed, "MainPID", &svc.MainPID)
	}
}

func store(changed map[string]dbus.Variant, name string, out any) {
	if v, ok := changed[name]; ok {
		_ = v.Store(out)
	}
}
