package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/socktui/socktui/unit"
	"golang.org/x/sys/unix"
)

// Defaults for a zero Prober.
const (
	DefaultParallel    = 16
	DefaultTimeout     = 2 * time.Second
	DefaultColdTimeout = 30 * time.Second
)

// ErrCancelled is the Error text of a result whose probe was stopped, or
// never started, because the caller's context ended.
const ErrCancelled = "cancelled"

// Prober probes endpoints. Its zero value is ready to use with the defaults
// above; it holds no state between probes, so one Prober may serve many
// goroutines.
type Prober struct {
	// Parallel bounds how many probes ProbeAll runs at once
	// (DefaultParallel when zero or negative).
	Parallel int
	// Timeout bounds a whole probe of a warm target, connection included
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// ColdTimeout replaces Timeout for a cold target, whose service (perhaps
	// a container) must start first (DefaultColdTimeout when zero). It is
	// never shorter than Timeout.
	ColdTimeout time.Duration
	// Activations, when set, makes a cold probe follow the activation it
	// triggers: the probe ends only once systemd settled it, and a failed
	// activation is the Outcome Failed (see Probe). Without it a cold probe
	// is judged by its exchange alone.
	Activations ActivationWatcher
	// Settle is how long a cold connect probe holds its connection after
	// the service came up, for the service to prove it stays up: a service
	// that dies at once is Failed, not ok (DefaultSettle when zero). Echo
	// and http probes need no settling: an answer proves the service up.
	Settle time.Duration

	// Dial, when set, replaces net.Dialer for stream endpoints (tcp4, tcp6,
	// unix): socktui --host sets it to a dialer that reaches the remote
	// host's own loopback through ssh. Endpoints of other networks
	// (datagram, seqpacket, vsock) cannot go through it: they report
	// Unsupported.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	// exchanged, when set (by tests), is called in a cold probe that
	// follows its activation once the exchange has ended.
	exchanged func(error)
}

func (p *Prober) settle(k unit.Kind) time.Duration {
	switch {
	case k != unit.KindConnect:
		return 0
	case p.Settle <= 0:
		return DefaultSettle
	}
	return p.Settle
}

func (p *Prober) parallel() int {
	if p.Parallel <= 0 {
		return DefaultParallel
	}
	return p.Parallel
}

func (p *Prober) timeout(cold bool) time.Duration {
	t := p.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	if !cold {
		return t
	}
	c := p.ColdTimeout
	if c <= 0 {
		c = DefaultColdTimeout
	}
	return max(c, t)
}

// ProbeAll probes every target, at most Parallel at once, and delivers
// exactly one Result per target on the returned channel, in completion
// order, with Result.Index telling which target it is. The channel is
// buffered for every result, so a caller that stops reading blocks nothing
// and leaks nothing; it is closed once the last result is in.
//
// When ctx ends, probes under way stop at once and every target not yet
// finished is still reported, with Outcome Error and Error ErrCancelled
// ("cancelled"): none is dropped.
func (p *Prober) ProbeAll(ctx context.Context, ts []unit.Target) <-chan Result {
	out := make(chan Result, len(ts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(p.parallel(), len(ts)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ts) {
					return
				}
				r := p.Probe(ctx, ts[i])
				r.Index = i
				out <- r
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// Probe probes one target and reports how it went; it never returns before
// the probe's connection is closed. The whole probe, connection included, is
// bounded by one timeout (ColdTimeout for a cold target), so an endpoint
// that accepts and never answers costs that timeout once. Ending ctx stops
// the probe at once, with Outcome Error and Error "cancelled".
//
// A cold target with Activations set is not done when the kernel took the
// connection: the probe follows the activation it triggers and ends when
// systemd settled it. If the service or the socket fails first, the probe
// stops at once with Outcome Failed and the reason. Otherwise an echo or
// http probe is ok once it has its answer and the service's start job has
// finished; a connect probe once the service came up and stayed up for
// Settle while the probe held its connection. RTT then runs to the later of
// the answer and the service coming up.
//
// Entries that are not probeable (see ParseListen) and vsock on a host
// without a loopback transport report Unsupported with the reason; entries
// ParseListen rejects report Error.
func (p *Prober) Probe(ctx context.Context, t unit.Target) Result {
	start := time.Now()
	r := Result{Unit: t.Unit, Type: t.Type, Address: t.Address, Kind: t.Kind, Cold: t.Cold}
	if r.Kind == "" || r.Kind == unit.KindAuto {
		r.Kind = ChooseKind(t.Unit, t.Exec)
	}
	ep, err := ParseListen(t.Type, t.Address)
	if err != nil {
		r.Outcome, r.Error = Error, err.Error()
		return r
	}
	r.Network = ep.Network
	if !ep.Probeable {
		r.Outcome, r.Error = Unsupported, ep.Reason
		return r
	}
	if ctx.Err() != nil {
		r.Outcome, r.Error = Error, ErrCancelled
		return r
	}
	timeout := p.timeout(t.Cold)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	x := exchange{ep: ep, kind: r.Kind, pingPath: pingPath(t.Unit, ep), dialer: p.Dial}
	var up time.Time
	acts := p.follow(pctx, t)
	if acts != nil {
		cr := coldRun{x: &x, acts: acts, settle: p.settle(r.Kind), exchanged: p.exchanged}
		err, up = cr.run(pctx)
	} else {
		err = x.run(pctx)
	}
	r.RTT = rtt(start, err, x.answered, up)
	r.RTTms = math.Round(float64(r.RTT)/float64(time.Microsecond)) / 1000
	r.Bytes, r.Status = x.received, x.status
	r.Outcome, r.Error = classify(ctx, pctx, err, &x, timeout)
	r.Error = shortenText(r.Error, maxErrorText)
	return r
}

// rtt is a probe's round trip: from start to the answer or, when the probe
// followed an activation, to the later of the answer and the service
// coming up (never the Settle window after it); to now when it failed.
func rtt(start time.Time, err error, answered, up time.Time) time.Duration {
	if err != nil || answered.IsZero() {
		return time.Since(start)
	}
	if up.After(answered) {
		return up.Sub(start)
	}
	return answered.Sub(start)
}

// follow starts following the activation of a cold target, when the
// Prober has a watcher that knows the unit; nil otherwise.
func (p *Prober) follow(ctx context.Context, t unit.Target) <-chan Activation {
	if !t.Cold || p.Activations == nil {
		return nil
	}
	acts, err := p.Activations.FollowActivation(ctx, t.Unit)
	if err != nil {
		return nil
	}
	return acts
}

// pingPath is the path an http probe asks for: the Podman API's /_ping, or /.
func pingPath(name string, ep Endpoint) string {
	if name == "podman.socket" || strings.HasSuffix(ep.Dial, "/podman.sock") {
		return "/_ping"
	}
	return "/"
}

// classify maps the error of an exchange to an outcome and a one-line error.
func classify(ctx, pctx context.Context, err error, x *exchange, timeout time.Duration) (Outcome, string) {
	var mm *mismatchError
	var un *unsupportedError
	var ae *activationError
	switch {
	case err == nil:
		return OK, ""
	case errors.As(err, &ae):
		return Failed, ae.Error()
	case errors.As(err, &un):
		return Unsupported, un.why
	case errors.As(err, &mm):
		return Mismatch, mm.Error()
	case ctx.Err() != nil:
		return Error, ErrCancelled
	case errors.Is(err, errNotUp):
		return Timeout, fmt.Sprintf("%v within %v", errNotUp, timeout)
	case errors.Is(err, errClosed):
		return Error, errClosed.Error()
	case x.phase != phaseConnect && x.received == 0 && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)):
		// Dropped before a byte came back: no answer at all, as when the
		// service behind a socket exits at once.
		return Error, "connection reset by the server without a reply"
	case x.phase != phaseConnect && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)):
		// The server took the connection and dropped it: an answer, but
		// not the one expected.
		return Mismatch, fmt.Sprintf("connection reset by the server after %d bytes", x.received)
	case pctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		msg := fmt.Sprintf("%s: no answer within %v", x.phase, timeout)
		if x.phase == phaseReply && x.ep.Network == unit.Unixgram {
			msg += fmt.Sprintf(" (the server replies to the client's abstract address %s, "+
				"which a socket made in another network namespace cannot reach)", x.local)
		}
		return Timeout, msg
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		return Refused, fmt.Sprintf("%s: %s", x.phase, "connection refused")
	case errors.Is(err, syscall.ECONNRESET):
		// Reset while connecting: the listener went away under the
		// connection, as when systemd closes a failed socket unit.
		return Refused, "connect: connection reset"
	default:
		return Error, fmt.Sprintf("%s: %v", x.phase, err)
	}
}

// errClosed is a connection the server closed without sending a byte back:
// no answer, so an Error rather than a Mismatch.
var errClosed = errors.New("connection closed by the server without a reply")

// mismatchError is an answer that is not the expected one.
type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return e.msg }

func mismatchf(format string, args ...any) error {
	return &mismatchError{msg: fmt.Sprintf(format, args...)}
}

// unsupportedError is an endpoint this host cannot probe.
type unsupportedError struct{ why string }

func (e *unsupportedError) Error() string { return e.why }

// The phases of an exchange, named in errors.
const (
	phaseConnect = "connect"
	phaseSend    = "send"
	phaseReply   = "reply"
)

// conn is what an exchange needs of a connection: net.Conn and *os.File
// (vsock) both have it.
type conn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// exchange is one probe's conversation with an endpoint; its fields after
// run say how far it got.
type exchange struct {
	ep       Endpoint
	kind     unit.Kind
	pingPath string
	dialer   func(ctx context.Context, network, address string) (net.Conn, error) // Prober.Dial

	phase    string
	local    string // the client's own address, for unix datagrams
	received int
	status   string
	answered time.Time // when the conversation went through
}

// run dials the endpoint, has the probe's conversation with it and closes
// the connection.
func (x *exchange) run(ctx context.Context) error {
	closeConn, err := x.open(ctx)
	closeConn()
	return err
}

// open dials the endpoint and has the probe's conversation with it. After
// a conversation that went through it records when in answered. Either
// way it returns a func that closes the connection, which the caller must
// call: a cold probe holds the connection open while it watches the
// service stay up.
func (x *exchange) open(ctx context.Context) (closeConn func(), err error) {
	if x.kind == unit.KindHTTP && !x.stream() {
		return func() {}, &unsupportedError{why: fmt.Sprintf("http needs a stream socket, not %s", x.ep.Network)}
	}
	x.phase = phaseConnect
	c, err := x.dial(ctx)
	if err != nil {
		return func() {}, err
	}
	// One deadline for the whole probe: the context's, whether it times out
	// or the caller cancels.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	closeConn = func() {
		stop()
		c.Close()
	}
	switch x.kind {
	case unit.KindEcho:
		err = x.echo(c)
	case unit.KindHTTP:
		err = x.http(c)
	default:
		err = x.connect(c)
	}
	if err == nil {
		x.answered = time.Now()
	}
	return closeConn, err
}

// stream reports whether the endpoint is a byte stream (not message based).
func (x *exchange) stream() bool {
	switch x.ep.Network {
	case unit.TCP4, unit.TCP6, unit.Unix, unit.Vsock:
		return true
	}
	return false
}

// datagram reports whether the endpoint is connectionless.
func (x *exchange) datagram() bool {
	switch x.ep.Network {
	case unit.UDP4, unit.UDP6, unit.Unixgram:
		return true
	}
	return false
}

func (x *exchange) dial(ctx context.Context) (conn, error) {
	if x.dialer != nil {
		if !x.stream() || x.ep.Network == unit.Vsock {
			return nil, &unsupportedError{why: fmt.Sprintf("%s cannot be probed through this dialer (ssh forwards streams only)", x.ep.Network)}
		}
		return x.dialer(ctx, string(x.ep.Network), x.ep.Dial)
	}
	switch x.ep.Network {
	case unit.Vsock, unit.Vsockpacket:
		return dialVsock(ctx, x.ep)
	case unit.Unixgram:
		// Bind an abstract address of our own, so that the server has
		// somewhere to send its reply; it vanishes with the socket. Unlike a
		// path, an abstract address is looked up in the network namespace
		// of the server's socket, so a containerised server that inherited
		// its socket from systemd on the host can still reply.
		x.local = "@socktui-probe-" + strings.ToLower(rand.Text())
		d := net.Dialer{LocalAddr: &net.UnixAddr{Name: x.local, Net: "unixgram"}}
		return d.DialContext(ctx, "unixgram", x.ep.Dial)
	default:
		var d net.Dialer
		return d.DialContext(ctx, string(x.ep.Network), x.ep.Dial)
	}
}

// connect is done once connected; on a datagram socket it sends one empty
// datagram, which is enough to activate the service behind it.
func (x *exchange) connect(c conn) error {
	if !x.datagram() {
		return nil
	}
	x.phase = phaseSend
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("unexpected connection type %T", c)
	}
	// write(2) of zero bytes sends nothing, and Go refuses WriteMsg on a
	// connected unix datagram socket: sendmsg(2) sends an empty datagram.
	if err := sendEmpty(sc); err != nil {
		return err
	}
	return pendingError(sc)
}

func sendEmpty(c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var sendErr error
	err = rc.Write(func(fd uintptr) bool {
		sendErr = unix.Sendmsg(int(fd), nil, nil, nil, 0)
		return sendErr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return sendErr
}

// pendingError returns the error queued on a UDP socket, such as the
// ECONNREFUSED of an ICMP port unreachable, which loopback delivers while
// the datagram is sent.
func pendingError(c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var soerr error
	err = rc.Control(func(fd uintptr) {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			soerr = err
		case v != 0:
			soerr = syscall.Errno(v)
		}
	})
	if err != nil {
		return err
	}
	return soerr
}

// maxMessage is the largest datagram or packet an echo reads back.
const maxMessage = 64 << 10

// echo sends a random nonce and expects exactly it back: as one message on
// message-based sockets, as the next bytes of the stream otherwise.
func (x *exchange) echo(c conn) error {
	nonce := []byte("socktui-probe " + rand.Text() + "\n")
	x.phase = phaseSend
	if _, err := c.Write(nonce); err != nil {
		return err
	}
	x.phase = phaseReply
	if x.stream() {
		got := make([]byte, len(nonce))
		n, err := io.ReadFull(c, got)
		x.received = n
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return errClosed
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return mismatchf("connection closed after %d of %d bytes", n, len(nonce))
		case err != nil:
			return err
		case !bytes.Equal(got, nonce):
			return mismatchf("sent %q, got %q", nonce, got)
		}
		return nil
	}
	got := make([]byte, maxMessage)
	n, err := c.Read(got)
	x.received = n
	switch {
	case errors.Is(err, io.EOF):
		return errClosed
	case err != nil:
		return err
	case !bytes.Equal(got[:n], nonce):
		return mismatchf("sent %q, got %q", nonce, shorten(got[:n]))
	}
	return nil
}

// Bounds on what a probe reads from a peer and reports of it.
const (
	// maxHTTPHead bounds an http probe's read of the status line and
	// headers; a reply that has not ended its headers by then is not an
	// HTTP response a probe accepts.
	maxHTTPHead = 16 << 10
	// maxPingBody bounds the body read of the Podman API's /_ping.
	maxPingBody = 64
	// maxErrorText bounds Result.Error, and maxStatusText Result.Status.
	maxErrorText  = 512
	maxStatusText = 200
)

// http sends GET pingPath and reads the status line and headers (and, for
// the Podman API's /_ping, the body "OK"), never more than maxHTTPHead
// bytes plus maxPingBody of body: whatever the peer sends, a probe reads a
// bounded amount. Any status below 500 is an answer; 5xx is a mismatch,
// and so is anything that is not HTTP.
func (x *exchange) http(c conn) error {
	x.phase = phaseSend
	req := "GET " + x.pingPath + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: socktui-probe\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return err
	}
	x.phase = phaseReply
	cr := &countingReader{r: c}
	head := &io.LimitedReader{R: cr, N: maxHTTPHead}
	br := bufio.NewReaderSize(head, 4096)
	resp, err := http.ReadResponse(br, nil)
	x.received = cr.n
	if err != nil {
		switch {
		case head.N == 0:
			return mismatchf("not an HTTP response: no end of headers in the first %d bytes", maxHTTPHead)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return mismatchf("connection closed without an HTTP response")
		}
		if _, ok := err.(net.Error); ok || errors.Is(err, syscall.ECONNRESET) {
			return err
		}
		return mismatchf("not an HTTP response: %s", shortenText(err.Error(), 120))
	}
	// The body is never drained: closing it would read to its end.
	x.status = shortenText(resp.Proto+" "+resp.Status, maxStatusText)
	if resp.StatusCode >= 500 {
		return mismatchf("server error: %s", x.status)
	}
	if x.pingPath == "/_ping" {
		// Buffered bytes first, then at most maxPingBody from the peer.
		head.N = maxPingBody
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxPingBody))
		x.received = cr.n
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "OK" {
			return mismatchf("/_ping answered %q with %q, want 200 and OK", x.status, shorten(body))
		}
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// shorten keeps a peer's bytes in an error line short: at most 64 of them
// and "...", cut as shortenText cuts.
func shorten(b []byte) string { return shortenText(string(b), 64+len("...")) }

// shortenText cuts s to at most n bytes, at a rune boundary, marking the
// cut with "...".
func shortenText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
