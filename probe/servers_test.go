package probe

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A listener started for a test, with the Listen entry systemd would
// report for it.
type listener struct {
	Type, Address string
}

// tracker keeps a test server's connections so that Cleanup closes them and
// waits for every goroutine it started.
type tracker struct {
	mu     sync.Mutex
	closed bool
	conns  []io.Closer
	wg     sync.WaitGroup
}

func newTracker(t testing.TB) *tracker {
	tr := &tracker{}
	t.Cleanup(tr.close)
	return tr
}

func (tr *tracker) add(c io.Closer) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.closed {
		c.Close()
		return false
	}
	tr.conns = append(tr.conns, c)
	return true
}

func (tr *tracker) close() {
	tr.mu.Lock()
	tr.closed = true
	cs := tr.conns
	tr.conns = nil
	tr.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	tr.wg.Wait()
}

// listenAddr returns the Listen address systemd shows for a listener.
func listenAddr(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().String()
	case *net.UDPAddr:
		return a.AddrPort().String()
	case *net.UnixAddr:
		return a.Name
	}
	panic("unexpected address type")
}

func sockPath(t testing.TB, name string) string {
	dir, err := os.MkdirTemp("", "probe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// serveStream starts a stream (or seqpacket) server on network; handle runs
// for each accepted connection, which is closed after it returns.
func serveStream(t testing.TB, network, typ string, handle func(net.Conn)) listener {
	t.Helper()
	addr := map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network]
	if addr == "" {
		addr = sockPath(t, "s.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s: %v", network, err)
	}
	tr := newTracker(t)
	tr.add(ln)
	tr.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !tr.add(c) {
				return
			}
			tr.wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return listener{Type: typ, Address: listenAddr(ln.Addr())}
}

// servePacket starts a datagram server; handle gets each datagram and
// returns the reply, or nil for none.
func servePacket(t testing.TB, network string, handle func([]byte) []byte) listener {
	t.Helper()
	addr := map[string]string{"udp4": "127.0.0.1:0", "udp6": "[::1]:0"}[network]
	if addr == "" {
		addr = sockPath(t, "d.sock")
	}
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatalf("listen %s: %v", network, err)
	}
	tr := newTracker(t)
	tr.add(pc)
	tr.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := handle(buf[:n]); reply != nil && from != nil {
				pc.WriteTo(reply, from)
			}
		}
	})
	return listener{Type: "Datagram", Address: listenAddr(pc.LocalAddr())}
}

// echoStream echoes a stream with a plain loop: io.Copy between sockets
// would splice through pipes that Go caches, which a leak check would count.
func echoStream(c net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// echoPacket echoes each message of a seqpacket connection.
func echoPacket(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil || n == 0 {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

// blackHole accepts and never answers: it waits for the client to go.
func blackHole(c net.Conn) { io.Copy(io.Discard, c) }

// wrongAnswer answers every request with "nope\n" padded to its length.
func wrongAnswer(c net.Conn) {
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	c.Write([]byte(strings.Repeat("nope\n", n/5+1)[:n]))
}

// delayedEcho echoes the first message after d.
func delayedEcho(d time.Duration) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		time.Sleep(d)
		c.Write(buf[:n])
	}
}

// serveHTTP serves h over HTTP/1.1 on a stream listener.
func serveHTTP(t testing.TB, network string, h http.Handler) listener {
	return serveStream(t, network, "Stream", func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		rw := &responseBuffer{header: http.Header{}}
		h.ServeHTTP(rw, req)
		resp := http.Response{StatusCode: rw.code, ProtoMajor: 1, ProtoMinor: 1, Header: rw.header,
			Body: io.NopCloser(strings.NewReader(rw.body.String())), ContentLength: int64(rw.body.Len()), Close: true}
		if resp.StatusCode == 0 {
			resp.StatusCode = http.StatusOK
		}
		resp.Write(c)
	})
}

type responseBuffer struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (r *responseBuffer) Header() http.Header         { return r.header }
func (r *responseBuffer) WriteHeader(code int)        { r.code = code }
func (r *responseBuffer) Write(p []byte) (int, error) { return r.body.Write(p) }

// refusedTCP returns a loopback TCP address nothing listens on.
func refusedTCP(t testing.TB) listener {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listenAddr(ln.Addr())
	ln.Close()
	return listener{Type: "Stream", Address: addr}
}

// deadUnix returns a unix socket path whose listener is gone.
func deadUnix(t testing.TB) listener {
	path := sockPath(t, "dead.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	return listener{Type: "Stream", Address: path}
}
