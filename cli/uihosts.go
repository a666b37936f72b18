package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/remote"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
)

// errNotConnected is wrapped by what a lazyHost answers while its host is
// not connected.
var errNotConnected = errors.New("not connected")

// hostConn is a connected host: what the UI needs of it, and how to let it
// go.
type hostConn struct {
	manager ui.Manager
	prober  ui.Prober
	doctor  ui.Doctor // nil: no doctor for this host
	logs    ui.LogSource
	// masterDown, when set, is remote.Host.MasterDown: after the manager's
	// watch reports the connection lost, Watch follows up with ssh's own
	// words once the ssh connection has ended too (a cut network, sshd
	// gone), instead of only "connection to the manager closed".
	masterDown func() (<-chan struct{}, func() error)
	// close ends the connection and everything it started (ssh processes,
	// forwards, the prober's activation feed).
	close func()
}

// hostDialer connects to one host, returning once it answers; its error
// says in words why not. It is called again after each failure.
type hostDialer func(ctx context.Context) (*hostConn, error)

// Backoff of a lazyHost between failed connection attempts.
const (
	hostFirstBackoff = time.Second
	hostMaxBackoff   = 15 * time.Second
)

// lazyHost is one remote host of the UI, connecting in the background so
// that the UI starts at once and one unreachable host never holds the
// others. It is a ui.Manager, ui.Prober, ui.Doctor and ui.LogSource: until
// the host is connected, Watch sends unit.Disconnected with the reason
// (each time the reason changes), the actions return "NAME: not connected
// (reason)", probes finish at once as errors saying so; once connected,
// each call goes to the connection, whose Watch reconnects on its own
// when the host goes away later (systemdbus.Client over remote.Host, which
// starts a new ssh master on the next dial).
//
// Its methods are safe for concurrent use. Close ends it.
type lazyHost struct {
	name string

	mu      sync.Mutex
	conn    *hostConn     // nil until connected
	err     error         // the last failure while not connected
	changed chan struct{} // closed and replaced whenever conn or err changes

	cancel context.CancelFunc
	done   chan struct{} // closed when the connecting goroutine has ended
}

var (
	_ ui.Manager   = (*lazyHost)(nil)
	_ ui.Prober    = (*lazyHost)(nil)
	_ ui.Doctor    = (*lazyHost)(nil)
	_ ui.LogSource = (*lazyHost)(nil)
)

// startLazyHost starts connecting to host name with dial, retrying after
// each failure with a backoff from first doubling up to max, until it
// connects, ctx ends or Close is called.
func startLazyHost(ctx context.Context, name string, dial hostDialer, first, max time.Duration) *lazyHost {
	ctx, cancel := context.WithCancel(ctx)
	l := &lazyHost{name: name, changed: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go l.connect(ctx, dial, first, max)
	return l
}

// connect is startLazyHost's goroutine.
func (l *lazyHost) connect(ctx context.Context, dial hostDialer, backoff, max time.Duration) {
	defer close(l.done)
	for {
		c, err := dial(ctx)
		if err == nil {
			l.set(c, nil)
			return
		}
		if ctx.Err() != nil {
			return
		}
		l.set(nil, err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, max)
	}
}

func (l *lazyHost) set(c *hostConn, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn, l.err = c, err
	close(l.changed)
	l.changed = make(chan struct{})
}

// state is the connection (nil until connected), the last failure and a
// channel closed at the next change.
func (l *lazyHost) state() (*hostConn, error, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn, l.err, l.changed
}

// connected returns the connection, or an error saying the host is not
// connected and why.
func (l *lazyHost) connected() (*hostConn, error) {
	c, err, _ := l.state()
	switch {
	case c != nil:
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w (%w)", l.name, errNotConnected, err)
	}
	return nil, fmt.Errorf("%s: %w yet (connecting)", l.name, errNotConnected)
}

// Close stops connecting, waits for the connecting goroutine and closes
// the connection if one was made: every ssh process of the host ends.
// Watch channels close when their contexts end. Idempotent.
func (l *lazyHost) Close() {
	l.cancel()
	<-l.done
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	if l.err == nil {
		l.err = errors.New("closed")
	}
	l.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// Watch implements ui.Manager: Disconnected events with the reason while
// the host is not connected, then the connection's own events. The
// channel is closed when ctx ends.
func (l *lazyHost) Watch(ctx context.Context) <-chan unit.Event {
	out := make(chan unit.Event, 16)
	go func() {
		defer close(out)
		var told string // the reason last sent
		for {
			c, err, changed := l.state()
			if c != nil {
				l.forward(ctx, c, out)
				return
			}
			if err != nil && err.Error() != told {
				told = err.Error()
				if !sendEvent(ctx, out, unit.Event{Kind: unit.Disconnected, At: time.Now(), Err: err}) {
					return
				}
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// forward sends the connection's watch on out until it ends. After a
// Disconnected it waits, beside the next events, for the ssh connection
// to end as well, and then sends another Disconnected that says why in
// ssh's words; a Reconnected first means ssh was not the cause.
func (l *lazyHost) forward(ctx context.Context, c *hostConn, out chan<- unit.Event) {
	events := c.manager.Watch(ctx)
	var (
		down <-chan struct{}
		why  func() error
	)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch {
			case ev.Kind == unit.Disconnected && c.masterDown != nil:
				down, why = c.masterDown()
			case ev.Kind == unit.Reconnected:
				down = nil
			}
			if !sendEvent(ctx, out, ev) {
				return
			}
		case <-down:
			down = nil
			if err := why(); err != nil && !sendEvent(ctx, out, unit.Event{Kind: unit.Disconnected, At: time.Now(), Err: err}) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// sendEvent sends ev on out; false when ctx ended first.
func sendEvent(ctx context.Context, out chan<- unit.Event, ev unit.Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// act runs fn on the connection's manager, or says the host is not
// connected.
func (l *lazyHost) act(fn func(ui.Manager) error) error {
	c, err := l.connected()
	if err != nil {
		return err
	}
	return fn(c.manager)
}

// StartUnit implements ui.Manager.
func (l *lazyHost) StartUnit(ctx context.Context, name string) error {
	return l.act(func(m ui.Manager) error { return m.StartUnit(ctx, name) })
}

// StopUnit implements ui.Manager.
func (l *lazyHost) StopUnit(ctx context.Context, name string) error {
	return l.act(func(m ui.Manager) error { return m.StopUnit(ctx, name) })
}

// RestartUnit implements ui.Manager.
func (l *lazyHost) RestartUnit(ctx context.Context, name string) error {
	return l.act(func(m ui.Manager) error { return m.RestartUnit(ctx, name) })
}

// ResetFailed implements ui.Manager.
func (l *lazyHost) ResetFailed(ctx context.Context, name string) error {
	return l.act(func(m ui.Manager) error { return m.ResetFailed(ctx, name) })
}

// ReviveSocket implements ui.Manager.
func (l *lazyHost) ReviveSocket(ctx context.Context, socket string, services []string) error {
	return l.act(func(m ui.Manager) error { return m.ReviveSocket(ctx, socket, services) })
}

// EnableUnitFiles implements ui.Manager.
func (l *lazyHost) EnableUnitFiles(ctx context.Context, names []string) error {
	return l.act(func(m ui.Manager) error { return m.EnableUnitFiles(ctx, names) })
}

// DisableUnitFiles implements ui.Manager.
func (l *lazyHost) DisableUnitFiles(ctx context.Context, names []string) error {
	return l.act(func(m ui.Manager) error { return m.DisableUnitFiles(ctx, names) })
}

// ProbeAll implements ui.Prober: the connection's prober, or at once an
// error result per target saying the host is not connected.
func (l *lazyHost) ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result {
	c, err := l.connected()
	if err == nil && c.prober != nil {
		return c.prober.ProbeAll(ctx, ts)
	}
	if err == nil {
		err = fmt.Errorf("%s: no prober", l.name)
	}
	out := make(chan probe.Result, len(ts))
	for i, t := range ts {
		out <- probe.Unprobed(t, i, probe.Error, err.Error())
	}
	close(out)
	return out
}

// Diagnose implements ui.Doctor: the connection's doctor; no findings
// while the host is not connected or has no doctor.
func (l *lazyHost) Diagnose(ctx context.Context, socks []unit.Socket, probes map[string][]probe.Result) (map[string][]doctor.Finding, error) {
	c, err := l.connected()
	if err != nil {
		return nil, err
	}
	if c.doctor == nil {
		return nil, nil
	}
	return c.doctor.Diagnose(ctx, socks, probes)
}

// FollowLogs implements ui.LogSource: the connection's journal, or one
// batch saying the host is not connected.
func (l *lazyHost) FollowLogs(ctx context.Context, s unit.Socket, n int) <-chan unit.LogBatch {
	c, err := l.connected()
	if err == nil && c.logs != nil {
		return c.logs.FollowLogs(ctx, s, n)
	}
	if err == nil {
		err = fmt.Errorf("%s: no journal", l.name)
	}
	out := make(chan unit.LogBatch, 1)
	out <- unit.LogBatch{Err: err}
	close(out)
	return out
}

// dialRemote is the hostDialer of target t: one ssh master connection
// (remote.Open, which fails in words on a refused key or a changed host
// key, never prompting), the manager's private socket over it, and the
// host's prober (stream endpoints on its loopback through ssh's
// forwarding, the rest through its socktui), doctor and journal.
func dialRemote(env *Env, t remote.Target, system bool, kind unit.Kind) hostDialer {
	return func(ctx context.Context) (*hostConn, error) {
		h, err := remote.Open(ctx, t, remote.Options{SSH: sshCommand(env), System: system})
		if err != nil {
			return nil, err
		}
		client, err := systemdbus.Connect(ctx, systemdbus.Options{System: system, Dial: h.DialDBus})
		if err != nil {
			h.Close()
			return nil, err
		}
		up, closeFeed := newUnitProber(client, kind)
		p := newRemoteProber(h, up, up.p, system, defaultProbeOptions(kind))
		d := newUIDoctor(client, nil)
		hostDoctor(ctx, d.gt, h)
		return &hostConn{manager: client, prober: p, doctor: d, logs: hostJournal(ctx, h, system), masterDown: h.MasterDown,
			close: func() {
				closeFeed()
				client.Close()
				h.Close()
			}}, nil
	}
}

// runUIHosts is the UI with --host: this machine's manager first, when it
// answers, then each host in the order given, each connecting in the
// background (lazyHost) so that the UI opens at once. When this machine
// has no manager the hosts are shown alone and the hint says why: someone
// who runs socktui --host from a box without a user session asked for the
// hosts, and a "local" that never connects would only look broken. Every
// ssh process of every host has ended when it returns.
func runUIHosts(ctx context.Context, g *globals, kind unit.Kind) error {
	env := g.env
	cfg := ui.Config{ManagerName: "user"}
	if g.system {
		cfg.ManagerName = "system"
	}
	client, err := systemdbus.Connect(ctx, systemdbus.Options{System: g.system, Getenv: env.Getenv})
	switch {
	case err == nil:
		defer client.Close()
		install, closeDemo := demoInstaller(g, client)
		defer closeDemo()
		prober, closeProber := newUnitProber(client, kind)
		defer closeProber()
		cfg.Hosts = append(cfg.Hosts, ui.Host{Manager: client, Prober: prober, Doctor: newUIDoctor(client, nil),
			Logs: localJournalReader(g)})
		cfg.InstallDemo = install
		cfg.Authoring = uiAuthoring{getenv: env.Getenv, system: g.system}
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		cfg.Hint = localMissingHint(err, cfg.ManagerName)
	}

	hostCtx, cancel := context.WithCancel(ctx)
	var hosts []*lazyHost
	defer func() {
		cancel()
		for _, h := range hosts {
			h.Close()
		}
	}()
	for _, t := range env.hosts.targets {
		h := startLazyHost(hostCtx, t.String(), dialRemote(env, t, g.system, kind), hostFirstBackoff, hostMaxBackoff)
		hosts = append(hosts, h)
		cfg.Hosts = append(cfg.Hosts, ui.Host{Name: t.String(), Manager: h, Prober: h, Doctor: h, Logs: h})
	}
	// The UI's calls (probes, logs, remote commands over ssh) end with
	// hostCtx, before the hosts close.
	return runProgram(hostCtx, cfg)
}

// localMissingHint is the UI's hint when this machine's manager did not
// answer and only the hosts are shown.
func localMissingHint(err error, manager string) string {
	if errors.Is(err, systemdbus.ErrNoManager) {
		return fmt.Sprintf("this machine is not shown: no %s manager answers here (socktui list says why)", manager)
	}
	return "this machine is not shown: " + termtext.Clean(err.Error())
}
