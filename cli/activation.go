package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// activationFeed is the probe.ActivationWatcher of `socktui probe` and of
// the UI: it follows every socket unit by systemd's signals (one
// systemdbus Watch, started by the first FollowActivation and kept until
// Close) and tells each follower how its unit's activation goes.
type activationFeed struct {
	watch func(ctx context.Context) <-chan unit.Event

	start  sync.Once
	cancel context.CancelFunc
	ready  chan struct{} // closed once the first listing is in, or failed
	done   chan struct{} // closed when the loop has ended

	mu      sync.Mutex
	isReady bool
	err     error // why the first listing failed
	socks   map[string]unit.Socket
	subs    map[string][]*follower
}

var _ probe.ActivationWatcher = (*activationFeed)(nil)

// newActivationFeed returns a feed over watch (a systemdbus Client's
// Watch); nothing runs until the first FollowActivation.
func newActivationFeed(watch func(ctx context.Context) <-chan unit.Event) *activationFeed {
	return &activationFeed{watch: watch, ready: make(chan struct{}), done: make(chan struct{}),
		socks: map[string]unit.Socket{}, subs: map[string][]*follower{}}
}

// errNotFollowed is a unit the feed cannot follow.
var errNotFollowed = errors.New("not followed")

// FollowActivation implements probe.ActivationWatcher. The first call
// starts the Watch and waits (at most until ctx ends) for its listing.
func (f *activationFeed) FollowActivation(ctx context.Context, name string) (<-chan probe.Activation, error) {
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
	sock, ok := f.socks[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %w", name, errNotFollowed)
	case sock.Accept:
		// Its per-connection instances are not followed one by one.
		return nil, fmt.Errorf("%s: Accept=yes: %w", name, errNotFollowed)
	}
	fl := &follower{wake: make(chan struct{}, 1), queue: []probe.Activation{activationOf(nil, sock)}}
	f.subs[name] = append(f.subs[name], fl)
	out := make(chan probe.Activation)
	go func() {
		defer close(out)
		defer f.unfollow(name, fl)
		fl.pump(ctx, out)
	}()
	return out, nil
}

func (f *activationFeed) unfollow(name string, fl *follower) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[name] = slices.DeleteFunc(f.subs[name], func(x *follower) bool { return x == fl })
	if len(f.subs[name]) == 0 {
		delete(f.subs, name)
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
func (f *activationFeed) loop(events <-chan unit.Event) {
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

func (f *activationFeed) apply(ev unit.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch ev.Kind {
	case unit.Snapshot, unit.Reconnected:
		f.err = nil
		old := f.socks
		f.socks = make(map[string]unit.Socket, len(ev.Sockets))
		for _, s := range ev.Sockets {
			f.socks[s.Unit] = s
		}
		for name, fls := range f.subs {
			cur, ok := f.socks[name]
			var prev *unit.Socket
			if p, had := old[name]; had {
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
	case unit.UnitChanged, unit.UnitAdded:
		if ev.Socket == nil {
			return
		}
		var prev *unit.Socket
		if p, had := f.socks[ev.Socket.Unit]; had {
			prev = &p
		}
		f.socks[ev.Socket.Unit] = *ev.Socket
		for _, fl := range f.subs[ev.Socket.Unit] {
			fl.push(activationOf(prev, *ev.Socket))
		}
	case unit.UnitRemoved:
		delete(f.socks, ev.Unit)
		for _, fl := range f.subs[ev.Unit] {
			fl.lose()
		}
	case unit.Disconnected:
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
func activationOf(prev *unit.Socket, cur unit.Socket) probe.Activation {
	switch {
	case cur.ActiveState == unit.Failed:
		return probe.Activation{State: probe.ActivationFailed, Reason: cur.Reason}
	case cur.State == unit.StateFailed:
		if prev == nil || prev.State == unit.StateFailed && prev.Reason == cur.Reason {
			return probe.Activation{State: probe.ActivationIdle}
		}
		return probe.Activation{State: probe.ActivationFailed, Reason: cur.Reason}
	case cur.State == unit.StateStopped:
		if prev != nil && prev.Listening() {
			return probe.Activation{State: probe.ActivationFailed, Reason: "socket stopped (" + string(cur.ActiveState) + ")"}
		}
		return probe.Activation{State: probe.ActivationIdle}
	case cur.State == unit.StateActive:
		return probe.Activation{State: probe.ActivationUp}
	case cur.State == unit.StateActivating:
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
	kind unit.Kind // KindAuto: per unit
	// envs reads services' Environment (systemdbus's ServiceEnvironments);
	// nil: no declared kinds.
	envs func(ctx context.Context, services []string) (map[string][]string, error)
}

// ProbeAll is the Prober's ProbeAll, with every target's Kind decided
// first (a read of the services' environment, when any kind is auto). It
// returns at once; the results come as the Prober delivers them.
func (u unitProber) ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result {
	ts = slices.Clone(ts)
	if u.kind != unit.KindAuto && u.kind != "" {
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
func (u unitProber) declareKinds(ctx context.Context, ts []unit.Target) {
	if u.envs == nil {
		return
	}
	var services []string
	for _, t := range ts {
		if t.Service != "" && (t.Kind == "" || t.Kind == unit.KindAuto) && !slices.Contains(services, t.Service) {
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
		if k := declaredKind(envs[ts[i].Service]); k != "" && (ts[i].Kind == "" || ts[i].Kind == unit.KindAuto) {
			ts[i].Kind = k
		}
	}
}

// declaredKind is the kind EnvProbeKind names in a service's environment,
// "" when it names none or no kind socktui knows.
func declaredKind(env []string) unit.Kind {
	for _, kv := range slices.Backward(env) {
		if v, ok := strings.CutPrefix(kv, EnvProbeKind+"="); ok {
			k, err := probe.ParseKind(v)
			if err != nil || k == unit.KindAuto {
				return ""
			}
			return k
		}
	}
	return ""
}
