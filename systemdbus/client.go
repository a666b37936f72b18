package systemdbus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// D-Bus names of the systemd manager.
const (
	busName      = "org.freedesktop.systemd1"
	managerPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface = "org.freedesktop.systemd1.Manager"
	unitIface    = "org.freedesktop.systemd1.Unit"
	socketIface  = "org.freedesktop.systemd1.Socket"
	serviceIface = "org.freedesktop.systemd1.Service"
	propsIface   = "org.freedesktop.DBus.Properties"
)

// Sentinel errors callers branch on. Errors returned by this package wrap
// them with details.
var (
	// ErrNoManager: no systemd manager answered on any transport tried.
	ErrNoManager = errors.New("no systemd manager answered")
	// ErrPermission: the manager (or polkit) refused the caller.
	ErrPermission = errors.New("permission denied")
	// ErrNoSuchUnit: the manager knows no unit by that name.
	ErrNoSuchUnit = errors.New("no such unit")
	// ErrDisconnected: the connection to the manager dropped.
	ErrDisconnected = errors.New("connection to the manager closed")
	// ErrRefused: the manager ran the job and it did not succeed.
	ErrRefused = errors.New("refused")
	// ErrBadPattern: a unit name or pattern is not valid syntax.
	ErrBadPattern = errors.New("invalid unit name or pattern")
)

// Options configure Connect. The zero value connects to the user manager of
// the calling process.
type Options struct {
	// System selects the system manager instead of the user manager. The
	// default transport then lets polkit ask the user to authorize a call
	// (interactiveAuth); a custom Dial's connection decides for itself.
	System bool
	// Dial, when set, replaces the default transport: it returns an
	// authenticated *dbus.Conn, created with ConnOptions() so that signals
	// keep their order. When DialBus is false the connection is peer to peer
	// with the manager (its private socket, or a stdio bridge to it): no
	// Hello, and the manager sends every signal unasked. When DialBus is true
	// the connection goes through a message bus: Connect calls Hello, adds a
	// match rule for the manager's signals and calls Subscribe.
	//
	// Dial is called again to reconnect (Watch, or an action after the
	// connection dropped).
	Dial func(ctx context.Context) (*dbus.Conn, error)
	// DialBus says that Dial's connections go through a message bus.
	DialBus bool
	// RuntimeDir is the user manager's XDG_RUNTIME_DIR (for a private
	// manager such as the demo's sandbox); Getenv("XDG_RUNTIME_DIR") when
	// empty.
	RuntimeDir string
	// Getenv reads the environment (XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS);
	// os.Getenv when nil.
	Getenv func(string) string
	// CounterInterval is how often Watch re-reads the connection counters of
	// Accept=yes sockets, which emit no signal; 5 s when zero.
	CounterInterval time.Duration
	// Backoff is Watch's first delay before reconnecting; it doubles up to
	// 5 s. 100 ms when zero.
	Backoff time.Duration
}

// ConnOptions are the options a custom Options.Dial must pass to
// dbus.Dial/dbus.NewConn: a sequential signal handler, so that signals reach
// Watch in the order the manager sent them.
func ConnOptions() []dbus.ConnOption {
	return []dbus.ConnOption{dbus.WithSignalHandler(dbus.NewSequentialSignalHandler())}
}

// Client talks to one systemd manager. Its methods are safe for concurrent
// use. The underlying connection is replaced transparently when it drops.
type Client struct {
	opts    Options
	manager string
	dial    func(ctx context.Context) (dialled, error)
	// imageExists checks for a container image when Watch explains a
	// failure (podmanImageExists; tests replace it).
	imageExists imageExistsFunc

	mu     sync.Mutex
	cur    *session
	closed bool
}

// dialled is a new connection to the manager.
type dialled struct {
	conn *dbus.Conn
	bus  bool // through a message bus (else peer to peer)
	// private is the path of the manager's private socket the connection
	// was made to, "" for a bus or a custom Dial. Listings open a second
	// connection there for their bulk property reads (wire.go).
	private string
}

// session is one live connection to the manager. conn is socktui's own
// godbus connection: Watch reads its signals, listings call on it. jobs is
// go-systemd's client over that same connection (jobClient): the actions run
// their jobs and read why one failed through it.
type session struct {
	conn    *dbus.Conn
	jobs    *sd.Conn
	private string // see dialled
}

// Connect connects to the user manager (or the system manager with
// opts.System) and returns a Client. The default transport is the manager's
// private socket ($XDG_RUNTIME_DIR/systemd/private, or /run/systemd/private)
// as systemctl uses, else the session (system) bus. When nothing answers the
// error wraps ErrNoManager, names what was tried and suggests `socktui demo`.
func Connect(ctx context.Context, opts Options) (*Client, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.CounterInterval <= 0 {
		opts.CounterInterval = 5 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	c := &Client{opts: opts, manager: "user", imageExists: podmanImageExists}
	if opts.System {
		c.manager = "system"
	}
	if opts.Dial != nil {
		c.dial = func(ctx context.Context) (dialled, error) {
			conn, err := opts.Dial(ctx)
			return dialled{conn: conn, bus: opts.DialBus}, err
		}
	} else {
		c.dial = c.defaultDial
	}
	if _, err := c.session(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Manager names the manager this client talks to: "user" or "system".
func (c *Client) Manager() string { return c.manager }

// Close closes the connection. Watch channels close when their contexts end,
// not on Close; calls in flight fail.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.cur != nil {
		err := c.cur.conn.Close()
		c.cur = nil
		return err
	}
	return nil
}

// session returns the live session, dialling a new one when there is none
// or the last one dropped.
func (c *Client) session(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("systemdbus: client closed: %w", dbus.ErrClosed)
	}
	if c.cur != nil && c.cur.conn.Connected() {
		return c.cur, nil
	}
	d, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	conn := d.conn
	if d.bus {
		if err := subscribe(ctx, conn); err != nil {
			conn.Close()
			return nil, err
		}
	}
	jobs, err := jobClient(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.cur = &session{conn: conn, jobs: jobs, private: d.private}
	return c.cur, nil
}

// jobClient builds go-systemd's client over conn. NewConnection asks its
// dial function for two connections, one for calls and one for signals;
// both are conn. go-systemd holds its job lock across the call that starts
// a job, so its dispatcher cannot hand out a JobRemoved before the waiter
// is registered, and waits for the lock meanwhile; that stalls nothing else
// because godbus's signal handlers never block conn's reader on a slow
// channel (the sequential handler of ConnOptions queues without bound).
// NewConnection's AddMatch call (answered with an error peer to peer, and
// redundant on a bus) has no timeout: conn is closed when ctx ends or
// callTimeout passes first, so that a frozen manager cannot hold Connect.
func jobClient(ctx context.Context, conn *dbus.Conn) (*sd.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	jobs, err := sd.NewConnection(func() (*dbus.Conn, error) { return conn, nil })
	if !stop() {
		return nil, fmt.Errorf("systemdbus: the manager did not answer: %w", ctx.Err())
	}
	return jobs, err
}

// subscribe readies a bus connection: Hello, a match rule for the manager's
// signals, and Subscribe (without which systemd sends no unit signals on a
// bus).
func subscribe(ctx context.Context, conn *dbus.Conn) error {
	if err := conn.Hello(); err != nil {
		return fmt.Errorf("systemdbus: hello: %w", err)
	}
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(busName)); err != nil {
		return fmt.Errorf("systemdbus: adding a match rule: %w", err)
	}
	if err := conn.Object(busName, managerPath).CallWithContext(ctx, managerIface+".Subscribe", 0).Err; err != nil {
		return fmt.Errorf("systemdbus: subscribe: %w", explain(err, "", ""))
	}
	return nil
}

// defaultDial tries the manager's private socket, then the bus.
func (c *Client) defaultDial(ctx context.Context) (dialled, error) {
	var private, busAddr string
	if c.opts.System {
		private = "/run/systemd/private"
		busAddr = "unix:path=/run/dbus/system_bus_socket"
		if a := c.opts.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
			busAddr = a
		}
	} else {
		rt := c.opts.RuntimeDir
		if rt == "" {
			rt = c.opts.Getenv("XDG_RUNTIME_DIR")
		}
		if rt != "" {
			private = filepath.Join(rt, "systemd", "private")
		}
		if c.opts.RuntimeDir == "" {
			busAddr = c.opts.Getenv("DBUS_SESSION_BUS_ADDRESS")
		}
		if busAddr == "" && rt != "" {
			if _, err := os.Stat(filepath.Join(rt, "bus")); err == nil {
				busAddr = "unix:path=" + filepath.Join(rt, "bus")
			}
		}
	}
	var tried []string
	var permErr error
	if private != "" {
		conn, err := dialPrivate(ctx, private, c.connOptions())
		if err == nil {
			return dialled{conn: conn, private: private}, nil
		}
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			permErr = err
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", private, unwrapAll(err)))
	} else {
		tried = append(tried, "the private socket ($XDG_RUNTIME_DIR is not set)")
	}
	if busAddr != "" {
		conn, err := dialBus(ctx, busAddr, c.connOptions())
		if err == nil {
			return dialled{conn: conn, bus: true}, nil
		}
		tried = append(tried, fmt.Sprintf("bus %s (%v)", busAddr, unwrapAll(err)))
	} else {
		tried = append(tried, "the session bus ($DBUS_SESSION_BUS_ADDRESS is not set)")
	}
	if permErr != nil && c.opts.System {
		return dialled{}, fmt.Errorf("systemdbus: the system manager refused the connection (%v): run as root: %w",
			unwrapAll(permErr), ErrPermission)
	}
	hint := "without a user session, try `socktui demo`, which runs its own private manager"
	if c.opts.System {
		hint = "is systemd running as PID 1 here? Without it, try `socktui demo`, which runs its own private manager"
	}
	return dialled{}, fmt.Errorf("%w: the %s manager: tried %s; %s", ErrNoManager,
		c.manager, strings.Join(tried, ", then "), hint)
}

// DialPrivate connects to a manager's private socket at path, peer to peer
// with EXTERNAL authentication, as systemctl does. The connection is made
// with ConnOptions. Tests use it to build an Options.Dial.
func DialPrivate(ctx context.Context, path string) (*dbus.Conn, error) {
	return dialPrivate(ctx, path, ConnOptions())
}

func dialPrivate(ctx context.Context, path string, opts []dbus.ConnOption) (*dbus.Conn, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return dialAuth(ctx, "unix:path="+path, opts, func(conn *dbus.Conn) error {
		return conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Geteuid()))})
	})
}

// AuthConn wraps an established stream to a manager (the pipes of a stdio
// bridge, say) in a *dbus.Conn made with ConnOptions, with buffered reads,
// and authenticates it as the current user.
func AuthConn(ctx context.Context, rwc io.ReadWriteCloser) (*dbus.Conn, error) {
	conn, err := dbus.NewConn(bufferedStream{bufio.NewReaderSize(rwc, 64<<10), rwc}, ConnOptions()...)
	if err != nil {
		rwc.Close()
		return nil, err
	}
	return authWithin(ctx, conn, func(conn *dbus.Conn) error {
		return conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Geteuid()))})
	})
}

type bufferedStream struct {
	r *bufio.Reader
	io.ReadWriteCloser
}

func (b bufferedStream) Read(p []byte) (int, error) { return b.r.Read(p) }

func dialBus(ctx context.Context, addr string, opts []dbus.ConnOption) (*dbus.Conn, error) {
	return dialAuth(ctx, addr, opts, func(conn *dbus.Conn) error { return conn.Auth(nil) })
}

// connOptions are the options of the default transport's connections:
// ConnOptions and, on the system manager, interactiveAuth.
func (c *Client) connOptions() []dbus.ConnOption {
	if c.opts.System {
		return append(ConnOptions(), interactiveAuth())
	}
	return ConnOptions()
}

// interactiveAuth marks every method call as one polkit may ask the user to
// authorize, as systemctl does on the system manager. go-systemd calls with
// no flags, so the connection adds it to each call it sends.
func interactiveAuth() dbus.ConnOption {
	return dbus.WithOutgoingInterceptor(func(m *dbus.Message) {
		if m.Type == dbus.TypeMethodCall {
			m.Flags |= dbus.FlagAllowInteractiveAuthorization
		}
	})
}

// dialAuth dials addr and authenticates within ctx: a socket whose server
// accepts but never answers must not hang the caller.
func dialAuth(ctx context.Context, addr string, opts []dbus.ConnOption, auth func(*dbus.Conn) error) (*dbus.Conn, error) {
	conn, err := dbus.Dial(addr, opts...)
	if err != nil {
		return nil, err
	}
	return authWithin(ctx, conn, auth)
}

func authWithin(ctx context.Context, conn *dbus.Conn, auth func(*dbus.Conn) error) (*dbus.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ch := make(chan error, 1)
	go func() { ch <- auth(conn) }()
	select {
	case err := <-ch:
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("authenticating: %w", err)
		}
		return conn, nil
	case <-ctx.Done():
		conn.Close() // unblocks auth
		return nil, fmt.Errorf("authenticating: %w", ctx.Err())
	}
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// object returns the manager object or a unit object on s.
func (s *session) object(path dbus.ObjectPath) dbus.BusObject {
	return s.conn.Object(busName, path)
}
