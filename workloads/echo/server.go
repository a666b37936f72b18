// Package echo is socktui's bundled workload: a socket-activated echo server
// for every socket type systemd can hand over (TCP and UDP over IPv4 and
// IPv6, unix stream, datagram and seqpacket, vsock), with bounded resources
// and an idle exit so activation can be watched more than once; its
// container image; and its unit definitions, in a container mode and a bare
// mode, as one neutral description (Units) that callers turn into unit files
// or transient units.
//
// The package never imports Bubble Tea or godbus.
package echo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// BufSize is the size of every I/O buffer: a stream read, a seqpacket
// message or a datagram. Datagrams and messages larger than this (UDP
// payloads are at most 65,507 bytes over IPv4) are dropped and counted.
const BufSize = 64 << 10

// Defaults for Config's zero fields.
const (
	DefaultMaxConns     = 1024
	DefaultReadTimeout  = 2 * time.Minute
	DefaultWriteTimeout = 10 * time.Second
)

// Config bounds a Server. The zero value uses the defaults above and never
// exits when idle.
type Config struct {
	// MaxConns caps concurrent stream and seqpacket connections over all
	// sockets; a connection beyond it is closed as soon as it is accepted,
	// and counted as refused. DefaultMaxConns when zero.
	MaxConns int
	// ReadTimeout closes a connection that sends nothing for about this
	// long. DefaultReadTimeout when zero.
	ReadTimeout time.Duration
	// WriteTimeout closes a connection that does not take its echo (a
	// peer that stopped reading) for about this long. DefaultWriteTimeout
	// when zero.
	WriteTimeout time.Duration
	// IdleExit makes Run return once no connection has been open and no
	// datagram has arrived for this long. Zero means never.
	IdleExit time.Duration
	// Logf receives the server's log lines (no trailing newline); nil
	// discards them.
	Logf func(format string, args ...any)
	// Notify receives sd_notify states ("READY=1", "STATUS=..."); nil
	// discards them. It is called from one goroutine at a time.
	Notify func(state string)
	// StatusEvery is how often Notify gets a fresh STATUS line while the
	// counters change; one second when zero.
	StatusEvery time.Duration
}

// Stats are the server's counters since it started.
type Stats struct {
	Open        int64 // connections open now
	Accepted    int64 // connections accepted and served
	Refused     int64 // connections closed at once because MaxConns were open
	TimedOut    int64 // connections closed by a read or write deadline
	Bytes       int64 // bytes echoed on connections
	Datagrams   int64 // datagrams echoed
	Oversize    int64 // datagrams and seqpacket messages over BufSize, dropped
	Unreplyable int64 // unix datagrams from an unbound sender, dropped
	Dropped     int64 // datagram replies that could not be sent at once (full queue, unreachable sender)
}

// String is the STATUS line.
func (s Stats) String() string {
	return fmt.Sprintf("open %d, accepted %d, refused %d, timed out %d, bytes %d, datagrams %d, oversize %d, unreplyable %d, dropped %d",
		s.Open, s.Accepted, s.Refused, s.TimedOut, s.Bytes, s.Datagrams, s.Oversize, s.Unreplyable, s.Dropped)
}

// ErrNoSockets is returned by Run when it has no socket it can serve.
var ErrNoSockets = errors.New("no socket to serve")

// Server echoes on a set of sockets. Create it with NewServer and call Run
// once.
type Server struct {
	cfg   Config
	socks []*Socket
	bufs  sync.Pool // *[]byte of BufSize

	open, accepted, refused, timedOut, bytes                atomic.Int64
	datagrams, oversize, unreplyable, dropped               atomic.Int64
	lastActive                                              atomic.Int64 // unix nanoseconds
	warnedUnreplyable, warnedOversize, warnedMF, warnedSend atomic.Bool

	mu     sync.Mutex
	conns  map[*os.File]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewServer returns a server for socks. The server owns them: Run closes
// them when it returns.
func NewServer(cfg Config, socks []*Socket) *Server {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	s := &Server{cfg: cfg, socks: socks, conns: map[*os.File]struct{}{}}
	s.bufs.New = func() any { b := make([]byte, BufSize); return &b }
	return s
}

// Stats returns the counters. It is safe to call at any time.
func (s *Server) Stats() Stats {
	return Stats{
		Open: s.open.Load(), Accepted: s.accepted.Load(), Refused: s.refused.Load(),
		TimedOut: s.timedOut.Load(), Bytes: s.bytes.Load(), Datagrams: s.datagrams.Load(),
		Oversize: s.oversize.Load(), Unreplyable: s.unreplyable.Load(), Dropped: s.dropped.Load(),
	}
}

// Run logs one line per socket, serves every Stream, Datagram and SeqPacket
// socket, tells systemd READY=1, and blocks until ctx is done or, with
// IdleExit, the server has been idle that long. Both return nil; it returns
// ErrNoSockets at once when no socket can be served. On return every socket
// and connection is closed and every goroutine it started has ended.
func (s *Server) Run(ctx context.Context) error {
	defer closeAll(s.socks)
	served := 0
	for _, sock := range s.socks {
		if sock.Kind == Other {
			s.cfg.Logf("fd %s: left alone", sock)
			continue
		}
		s.cfg.Logf("fd %s: serving", sock)
		served++
	}
	if served == 0 {
		return ErrNoSockets
	}
	s.touch()
	for _, sock := range s.socks {
		switch sock.Kind {
		case Stream, SeqPacket:
			s.wg.Add(1)
			go s.acceptLoop(sock)
		case Datagram:
			s.wg.Add(1)
			go s.datagramLoop(sock)
		}
	}
	s.cfg.Notify("READY=1\nSTATUS=" + s.Stats().String())

	idle := make(<-chan time.Time)
	if s.cfg.IdleExit > 0 {
		t := time.NewTicker(min(max(s.cfg.IdleExit/10, 10*time.Millisecond), time.Second))
		defer t.Stop()
		idle = t.C
	}
	status := time.NewTicker(s.cfg.StatusEvery)
	defer status.Stop()
	last := s.Stats()
	reason := "stopping"
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-status.C:
			if st := s.Stats(); st != last {
				last = st
				s.cfg.Notify("STATUS=" + st.String())
			}
		case <-idle:
			if s.open.Load() == 0 && time.Since(time.Unix(0, s.lastActive.Load())) >= s.cfg.IdleExit {
				reason = fmt.Sprintf("idle for %v, exiting", s.cfg.IdleExit)
				break loop
			}
		}
	}
	s.cfg.Notify("STOPPING=1\nSTATUS=" + reason)
	s.shutdown()
	s.cfg.Logf("%s: %s", reason, s.Stats())
	return nil
}

// shutdown closes the sockets and every open connection, which wakes every
// goroutine blocked on them, and waits for the goroutines.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	for _, sock := range s.socks {
		if sock.Kind != Other {
			sock.File.Close()
		}
	}
	for f := range s.conns {
		f.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) touch() { s.lastActive.Store(time.Now().UnixNano()) }

func (s *Server) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *Server) putBuf(b *[]byte) { s.bufs.Put(b) }

// acceptLoop accepts connections on a stream or seqpacket socket until the
// socket is closed.
func (s *Server) acceptLoop(sock *Socket) {
	defer s.wg.Done()
	rc, err := sock.File.SyscallConn()
	if err != nil {
		s.cfg.Logf("fd %s: %v", sock, err)
		return
	}
	var (
		nfd  int
		aerr error
	)
	accept := func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN
	}
	for {
		if err := rc.Read(accept); err != nil {
			return // the socket was closed
		}
		switch {
		case aerr == nil:
		case aerr == unix.EINTR || aerr == unix.ECONNABORTED:
			continue
		case aerr == unix.EMFILE || aerr == unix.ENFILE || aerr == unix.ENOBUFS || aerr == unix.ENOMEM:
			// Out of fds or memory: the pending connection stays queued;
			// back off instead of spinning.
			if !s.warnedMF.Swap(true) {
				s.cfg.Logf("fd %s: accept: %v (backing off; logged once)", sock, aerr)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		default:
			s.cfg.Logf("fd %s: accept: %v", sock, aerr)
			return
		}
		// The time first, then the count: the idle check reads the
		// count, then the time, so a check that misses the new count
		// still sees the fresh time and does not exit.
		s.touch()
		if s.open.Load() >= int64(s.cfg.MaxConns) {
			unix.Close(nfd)
			s.refused.Add(1)
			continue
		}
		if sock.Family == "inet" || sock.Family == "inet6" {
			// As Go's net package does: an echo goes out at once, not
			// when Nagle's algorithm decides.
			_ = unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		f := os.NewFile(uintptr(nfd), sock.Name)
		if !s.track(f) {
			f.Close()
			return
		}
		s.open.Add(1)
		s.accepted.Add(1)
		s.wg.Add(1)
		go s.serveConn(f, sock.Kind == SeqPacket)
	}
}

// track registers an open connection so shutdown can close it; it reports
// false once shutdown has begun.
func (s *Server) track(f *os.File) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[f] = struct{}{}
	return true
}

func (s *Server) untrack(f *os.File) {
	s.mu.Lock()
	delete(s.conns, f)
	s.mu.Unlock()
	f.Close()
	s.touch()
	s.open.Add(-1)
}

// serveConn echoes one connection until the peer closes it, a deadline
// passes or the server shuts down.
//
// A connection holds a buffer only while it has data to move: when a read
// would block, the buffer goes back to the pool before the goroutine waits,
// so an idle connection costs a goroutine and an fd, not BufSize bytes.
// Deadlines are re-armed at most every eighth of their length, not on every
// read, which keeps timer updates off the hot path.
func (s *Server) serveConn(f *os.File, seqpacket bool) {
	defer s.wg.Done()
	defer s.untrack(f)
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	var (
		buf   *[]byte
		n     int
		trunc bool
		rerr  error
		wrote int
		werr  error
		out   []byte
	)
	defer func() {
		if buf != nil {
			s.putBuf(buf)
		}
	}()
	read := func(fd uintptr) bool {
		if buf == nil {
			buf = s.getBuf()
		}
		for {
			if seqpacket {
				var flags int
				n, _, flags, _, rerr = unix.Recvmsg(int(fd), *buf, nil, 0)
				trunc = flags&unix.MSG_TRUNC != 0
			} else {
				n, rerr = unix.Read(int(fd), *buf)
				trunc = false
			}
			if rerr != unix.EINTR {
				break
			}
		}
		if rerr == unix.EAGAIN {
			s.putBuf(buf)
			buf = nil
			return false
		}
		return true
	}
	write := func(fd uintptr) bool {
		for len(out) > 0 {
			m, err := unix.Write(int(fd), out)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return false
			}
			if err != nil {
				werr = err
				return true
			}
			wrote += m
			out = out[m:]
		}
		return true
	}
	rslack, wslack := s.cfg.ReadTimeout/8, s.cfg.WriteTimeout/8
	var rarmed, warmed time.Time
	for {
		now := time.Now()
		if now.Sub(rarmed) > rslack {
			f.SetReadDeadline(now.Add(s.cfg.ReadTimeout))
			rarmed = now
		}
		if err := rc.Read(read); err != nil {
			s.countTimeout(err)
			return
		}
		if rerr != nil { // ECONNRESET and the like
			return
		}
		if n == 0 {
			// End of input (for seqpacket, a zero-length message reads
			// the same and ends the connection too): every byte has
			// been echoed; pass the half-close on so the peer sees the
			// end of the echo.
			rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
			return
		}
		if trunc {
			s.oversize.Add(1)
			if !s.warnedOversize.Swap(true) {
				s.cfg.Logf("dropped a message over %d bytes (logged once; counted in STATUS)", BufSize)
			}
			continue
		}
		out, wrote, werr = (*buf)[:n], 0, nil
		if now := time.Now(); now.Sub(warmed) > wslack {
			f.SetWriteDeadline(now.Add(s.cfg.WriteTimeout))
			warmed = now
		}
		err := rc.Write(write)
		s.bytes.Add(int64(wrote))
		if err != nil {
			s.countTimeout(err)
			return
		}
		if werr != nil {
			return
		}
	}
}

func (s *Server) countTimeout(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.timedOut.Add(1)
	}
}

// datagramLoop answers every datagram on sock with the same bytes, sent back
// to its sender, until the socket is closed. A reply that cannot be sent at
// once is dropped: a datagram socket must never wait on one peer.
func (s *Server) datagramLoop(sock *Socket) {
	defer s.wg.Done()
	rc, err := sock.File.SyscallConn()
	if err != nil {
		s.cfg.Logf("fd %s: %v", sock, err)
		return
	}
	buf := make([]byte, BufSize)
	var (
		n     int
		flags int
		from  unix.Sockaddr
		rerr  error
	)
	recv := func(fd uintptr) bool {
		n, _, flags, from, rerr = unix.Recvmsg(int(fd), buf, nil, 0)
		return rerr != unix.EAGAIN
	}
	for {
		if err := rc.Read(recv); err != nil {
			return // the socket was closed
		}
		if rerr != nil {
			continue // e.g. ECONNREFUSED from an earlier ICMP error
		}
		s.touch()
		if flags&unix.MSG_TRUNC != 0 {
			s.oversize.Add(1)
			if !s.warnedOversize.Swap(true) {
				s.cfg.Logf("fd %s: dropped a datagram over %d bytes (logged once; counted in STATUS)", sock, BufSize)
			}
			continue
		}
		if ua, ok := from.(*unix.SockaddrUnix); from == nil || ok && unnamedUnix(ua) {
			s.unreplyable.Add(1)
			if !s.warnedUnreplyable.Swap(true) {
				s.cfg.Logf("fd %s: a datagram came from an unbound unix socket, which cannot get a reply (logged once; counted in STATUS)", sock)
			}
			continue
		}
		var serr error
		rc.Control(func(fd uintptr) {
			for {
				serr = unix.Sendto(int(fd), buf[:n], unix.MSG_DONTWAIT, from)
				if serr != unix.EINTR {
					return
				}
			}
		})
		if serr != nil {
			s.dropped.Add(1)
			if serr != unix.EAGAIN && serr != unix.ENOBUFS && !s.warnedSend.Swap(true) {
				// In a container, a sender's unix path is looked up in
				// the container's mount namespace, where it may not be.
				s.cfg.Logf("fd %s: cannot reply to %s: %v (logged once; counted in STATUS as dropped)", sock, FormatSockaddr(from), serr)
			}
			continue
		}
		s.datagrams.Add(1)
	}
}
