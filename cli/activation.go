package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/systemdbus"
)

// activationFeed is the probe.ActivationWatcher of `socktui probe` and of
// the UI: it follows every socket unit by systemd's signals (one
// systemdbus Watch, started by the first FollowActivation and kept until
// Close) and tells each follower how its unit's activation goes.
type activationFeed struct {
	watch func(ctx context.Context) <-chan systemdbus.Event

	start  sync.Once
	cancel context.CancelFunc
	ready  chan struct{} // closed once the first listing is in, or failed
	done   chan struct{} // closed when the loop has ended

	mu      sync.Mutex
	isReady bool
	err     error // why the first listing failed
	socks   map[string]systemdbus.Socket
	subs    map[string][]*follower
}

var _ probe.ActivationWatcher = (*activationFeed)(nil)

// newActivationFeed returns a feed over watch (a systemdbus Client's
// Watch); nothing runs until the first FollowActivation.
func newActivationFeed(watch func(ctx context.Context) <-chan systemdbus.Event) *activationFeed {
	return &activationFeed{watch: watch, ready: make(chan struct{}), done: make(chan struct{}),
		socks: map[string]systemdbus.Socket{}, subs: map[string][]*follower{}}
}

// errNotFollowed is a unit the feed cannot follow.
var errNotFollowed = errors.New("not followed")

// FollowActivation implements probe.ActivationWatcher. The first call
// starts the Watch and waits (at most until ctx ends) for its listing.
func (f *activationFeed) FollowActivation(ctx context.Context, unit string) (<-chan probe.Activation, error) {
	f.start.Do(func() {
		wctx, cancel := context.WithCancel(context.Background())
		f.cancel = cancel
		go f.loop(f.watch(wctx))
	})
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	sock, ok := f.socks[unit]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %w", unit, errNotFollowed)
	case sock.Accept:
		// Its per-connection instances are not followed one by one.
		return nil, fmt.Errorf("%s: Accept=yes: %w", unit, errNotFollowed)
	}
	fl := &follower{wake: make(chan struct{}, 1), queue: []probe.Activation{activationOf(nil, sock)}}
	f.subs[unit] = append(f.subs[unit], fl)
	out := make(chan probe.Activation)
	go func() {
		defer close(out)
		defer f.unfollow(unit, fl)
		fl.pump(ctx, out)
	}()
	return out, nil
}

func (f *activationFeed) unfollow(unit string, fl *follower) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[unit] = slices.DeleteFunc(f.subs[unit], func(x *follower) bool { return x == fl })
	if len(f.subs[unit]) == 0 {
		delete(f.subs, unit)
	}
}

// Close stops the Watch, if one was started, and waits for it; followers
// still open are told they lost their unit.
func (f *activationFeed) Close() {
	f.start.Do(func() {}) // no Watch may start after Close
	if f.cancel != nil {
		f.cancel()
		<-f.done
	}
}

// loop applies the Watch's events until its channel closes.
func (f *activationFeed) loop(events <-chan systemdbus.Event) {
	defer close(f.done)
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.markReady(errors.New("the watch of the manager ended"))
		for _, fls := range f.subs {
			for _, fl := range fls {
				fl.lose()
			}
		}
	}()
	for ev := range events {
		f.apply(ev)
	}
}

// markReady ends the wait of the first followers; err is why the feed
// cannot follow anything, nil once a listing is in. Called with mu held.
func (f *activationFeed) markReady(err error) {
	if f.isReady {
		return
	}
	f.isReady, f.err = true, err
	close(f.ready)
}

func (f *activationFeed) apply(ev systemdbus.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch ev.Kind {
	case systemdbus.Snapshot, systemdbus.Reconnected:
		f.err = nil
		old := f.socks
		f.socks = make(map[string]systemdbus.Socket, len(ev.Sockets))
		for _, s := range ev.Sockets {
			f.socks[s.Unit] = s
		}
		for unit, fls := range f.subs {
			cur, ok := f.socks[unit]
			var prev *systemdbus.Socket
			if p, had := old[unit]; had {
				prev = &p
			}
			for _, fl := range fls {
				if !ok {
					fl.lose()
				} else {
					fl.push(activationOf(prev, cur))
				}
			}
		}
		f.markReady(nil)
	case systemdbus.UnitChanged, systemdbus.UnitAdded:
		if ev.Socket == nil {
			return
		}
		var prev *systemdbus.Socket
		if p, had := f.socks[ev.Socket.Unit]; had {
			prev = &p
		}
		f.socks[ev.Socket.Unit] = *ev.Socket
		for _, fl := range f.subs[ev.Socket.Unit] {
			fl.push(activationOf(prev, *ev.Socket))
		}
	case systemdbus.UnitRemoved:
		delete(f.socks, ev.Unit)
		for _, fl := range f.subs[ev.Unit] {
			fl.lose()
		}
	case systemdbus.Disconnected:
		if !f.isReady {
			f.markReady(fmt.Errorf("following activations: %w", ev.Err))
		}
	}
}

// activationOf is what a socket's new snapshot says of its activation, for
// a cold probe; prev is the snapshot before it, nil for the first one a
// follower sees. A service still failed from before (the socket listens
// and the failure has not changed) is not this activation's failure: it is
// idle, and a new activation moves it on.
func activationOf(prev *systemdbus.Socket, cur systemdbus.Socket) probe.Activation {
	switch {
	case cur.ActiveState == "failed":
		return probe.Activation{State: probe.ActivationFailed, Reason: cur.Reason}
	case cur.State == systemdbus.StateFailed:
		if prev == nil || prev.State == systemdbus.StateFailed && prev.Reason == cur.Reason {
			return probe.Activation{State: probe.ActivationIdle}
		}
		return probe.Activation{State: probe.ActivationFailed, Reason: cur.Reason}
	case cur.State == systemdbus.StateStopped:
		if prev != nil && prev.Listening() {
			return probe.Activation{State: probe.ActivationFailed, Reason: "socket stopped (" + cur.ActiveState + ")"}
		}
		return probe.Activation{State: probe.ActivationIdle}
	case cur.State == systemdbus.StateActive:
		return probe.Activation{State: probe.ActivationUp}
	case cur.State == systemdbus.StateActivating:
		return probe.Activation{State: probe.ActivationStarting}
	}
	return probe.Activation{State: probe.ActivationIdle}
}

// follower is one FollowActivation: an unbounded queue, so that the feed
// never waits for a probe and no state is dropped.
type follower struct {
	mu    sync.Mutex
	queue []probe.Activation
	lost  bool
	wake  chan struct{} // capacity 1
}

func (fl *follower) push(a probe.Activation) {
	fl.mu.Lock()
	fl.queue = append(fl.queue, a)
	fl.mu.Unlock()
	fl.signal()
}

func (fl *follower) lose() {
	fl.mu.Lock()
	fl.lost = true
	fl.mu.Unlock()
	fl.signal()
}

func (fl *follower) signal() {
	select {
	case fl.wake <- struct{}{}:
	default:
	}
}

// pump delivers the queue to out in order until ctx ends or the unit is
// lost and every state before that was delivered.
func (fl *follower) pump(ctx context.Context, out chan<- probe.Activation) {
	for {
		fl.mu.Lock()
		q, lost := fl.queue, fl.lost
		fl.queue = nil
		fl.mu.Unlock()
		for _, a := range q {
			select {
			case out <- a:
			case <-ctx.Done():
				return
			}
		}
		if lost {
			return
		}
		select {
		case <-fl.wake:
		case <-ctx.Done():
			return
		}
	}
}

// EnvProbeKind is the environment variable by which a service declares the
// probe kind of its sockets (echo, connect or http): set it in a drop-in,
// `systemctl --user edit NAME.service`, as `[Service]` then
// `Environment=SOCKTUI_PROBE=http`. --kind overrides it; without either,
// probe.ChooseKind decides from the service's command line.
const EnvProbeKind = "SOCKTUI_PROBE"

// unitProber probes socket units as the CLI and the UI do: a target's kind
// is the --kind given, else the kind its service declares (EnvProbeKind),
// else probe's automatic choice; cold probes follow their activation
// through the Prober's Activations.
type unitProber struct {
	p    *probe.Prober
	kind probe.Kind // KindAuto: per unit
	// envs reads services' Environment (systemdbus's ServiceEnvironments);
	// nil: no declared kinds.
	envs func(ctx context.Context, services []string) (map[string][]string, error)
}

// ProbeAll is the Prober's ProbeAll, with every target's Kind decided
// first (a read of the services' environment, when any kind is auto). It
// returns at once; the results come as the Prober delivers them.
func (u unitProber) ProbeAll(ctx context.Context, ts []probe.Target) <-chan probe.Result {
	ts = slices.Clone(ts)
	if u.kind != probe.KindAuto && u.kind != "" {
		for i := range ts {
			ts[i].Kind = u.kind
		}
		return u.p.ProbeAll(ctx, ts)
	}
	out := make(chan probe.Result, len(ts))
	go func() {
		defer close(out)
		u.declareKinds(ctx, ts)
		for r := range u.p.ProbeAll(ctx, ts) {
			out <- r
		}
	}()
	return out
}

// declareKinds sets the Kind of each auto target whose service declares
// one. A read that fails leaves the automatic choice.
func (u unitProber) declareKinds(ctx context.Context, ts []probe.Target) {
	if u.envs == nil {
		return
	}
	var services []string
	for _, t := range ts {
		if t.Service != "" && (t.Kind == "" || t.Kind == probe.KindAuto) && !slices.Contains(services, t.Service) {
			services = append(services, t.Service)
		}
	}
	if len(services) == 0 {
		return
	}
	envs, err := u.envs(ctx, services)
	if err != nil {
		return
	}
	for i := range ts {
		if k := declaredKind(envs[ts[i].Service]); k != "" && (ts[i].Kind == "" || ts[i].Kind == probe.KindAuto) {
			ts[i].Kind = k
		}
	}
}

// declaredKind is the kind EnvProbeKind names in a service's environment,
// "" when it names none or no kind socktui knows.
func declaredKind(env []string) probe.Kind {
	for _, kv := range slices.Backward(env) {
		if v, ok := strings.CutPrefix(kv, EnvProbeKind+"="); ok {
			k, err := probe.ParseKind(v)
			if err != nil || k == probe.KindAuto {
				return ""
			}
			return k
		}
	}
	return ""
}
