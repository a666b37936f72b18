package echo_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEverySocketType passes one fd of each kind the way systemd does and
// checks each: stream echoes with half-close, seqpacket keeps message
// boundaries, datagrams go back to their sender, and the rest is logged and
// left alone.
func TestEverySocketType(t *testing.T) {
	dir := shortDir(t)
	abstract := fmt.Sprintf("@socktui-echo-test-%d", os.Getpid())

	tcp4, tcp4Addr := listenStream(t, "tcp4", "127.0.0.1:0")
	tcp6, tcp6Addr := listenStream(t, "tcp6", "[::1]:0")
	ustream, ustreamAddr := listenStream(t, "unix", dirPath(dir, "s"))
	uabs, uabsAddr := listenStream(t, "unix", abstract)
	useq, useqAddr := listenStream(t, "unixpacket", dirPath(dir, "p"))
	udp4, udp4Addr := listenPacket(t, "udp4", "127.0.0.1:0")
	udp6, udp6Addr := listenPacket(t, "udp6", "[::1]:0")
	ugram, ugramAddr := listenPacket(t, "unixgram", dirPath(dir, "g"))
	vsock, vsockPort := vsockListener(t)

	fifoPath := dirPath(dir, "fifo")
	if err := syscall.Mkfifo(fifoPath, 0o600); err != nil {
		t.Fatal(err)
	}
	fifo, err := os.OpenFile(fifoPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	nl, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	netlink := os.NewFile(uintptr(nl), "netlink")

	fds := []fd{tcp4, tcp6, ustream, uabs, useq, udp4, udp6, ugram, vsock,
		{fifo, "fifo"}, {netlink, "netlink"}}
	c := startChild(t, fds)

	tests := []struct {
		network, addr string
	}{
		{"tcp4", tcp4Addr}, {"tcp6", tcp6Addr}, {"unix", ustreamAddr}, {"unix", uabsAddr},
	}
	for _, tt := range tests {
		conn := dial(t, tt.network, tt.addr)
		msg := []byte("hello over " + tt.network + " " + tt.addr)
		mustEcho(t, tt.network+" "+tt.addr, conn, msg)
		// Half-close: the rest is echoed, then the server closes too.
		tail := bytes.Repeat([]byte("tail "), 10000)
		if _, err := conn.Write(tail); err != nil {
			t.Fatal(err)
		}
		conn.(interface{ CloseWrite() error }).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, err := io.ReadAll(conn)
		if err != nil || !bytes.Equal(rest, tail) {
			t.Fatalf("%s after half-close: read %d bytes, err %v; want the %d-byte tail then EOF", tt.network, len(rest), err, len(tail))
		}
	}

	// Seqpacket: three messages sent back to back come back as three.
	seq := dial(t, "unixpacket", useqAddr)
	msgs := [][]byte{[]byte("one"), bytes.Repeat([]byte("2"), 5000), []byte("three")}
	for _, m := range msgs {
		if _, err := seq.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	seq.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, m := range msgs {
		buf := make([]byte, 10000)
		n, err := seq.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], m) {
			t.Fatalf("seqpacket: read %d bytes (err %v), want the %d-byte message", n, err, len(m))
		}
	}

	for _, tt := range []struct{ network, addr string }{{"udp4", udp4Addr}, {"udp6", udp6Addr}} {
		mustEcho(t, tt.network, dial(t, tt.network, tt.addr), []byte("datagram over "+tt.network))
	}
	bound, err := net.DialUnix("unixgram", &net.UnixAddr{Name: dirPath(dir, "client"), Net: "unixgram"},
		&net.UnixAddr{Name: ugramAddr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()
	mustEcho(t, "unixgram", bound, []byte("datagram over unixgram"))

	// An unbound unix datagram sender gets no reply and must not harm the
	// server; the next bound sender is still answered.
	unbound, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: ugramAddr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer unbound.Close()
	for range 3 {
		if _, err := unbound.Write([]byte("nobody to answer")); err != nil {
			t.Fatal(err)
		}
	}
	mustEcho(t, "unixgram after unbound senders", bound, []byte("still here"))

	st := c.stop(t)
	if st["unreplyable"] != 3 || st["accepted"] != 5 || st["datagrams"] != 4 || st["open"] != 0 {
		t.Errorf("counters = %v, want unreplyable 3, accepted 5, datagrams 4, open 0", st)
	}
	// The log is read after the exit: stderr reaches us asynchronously.
	log := c.log.String()
	for _, want := range []string{
		"inet stream " + tcp4Addr, "inet6 stream " + tcp6Addr, "unix stream " + ustreamAddr,
		"unix stream " + uabsAddr, "unix seqpacket " + useqAddr, "inet datagram " + udp4Addr,
		"inet6 datagram " + udp6Addr, "unix datagram " + ugramAddr,
		fmt.Sprintf("vsock stream vsock:4294967295:%d", vsockPort),
	} {
		if !strings.Contains(log, "fd "+want) || !strings.Contains(log, want+` (name "`) {
			t.Errorf("no start line for %q in the log:\n%s", want, log)
		}
	}
	for _, want := range []string{`fifo other - (name "fifo"): left alone`, `netlink other`} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "logged once"); n != 1 {
		t.Errorf("the unbound sender was logged %d times, want once; log:\n%s", n, log)
	}
}

// TestConnectionCap checks that connections beyond --max-conns are closed
// at once and counted, and that a slot freed is usable again.
func TestConnectionCap(t *testing.T) {
	l, addr := listenStream(t, "tcp4", "127.0.0.1:0")
	c := startChild(t, []fd{l}, "--max-conns", "2")

	c1, c2 := dial(t, "tcp4", addr), dial(t, "tcp4", addr)
	mustEcho(t, "first", c1, []byte("one"))
	mustEcho(t, "second", c2, []byte("two"))

	c3 := dial(t, "tcp4", addr)
	c3.SetDeadline(time.Now().Add(10 * time.Second))
	c3.Write([]byte("three")) // may fail already: the server may have closed it
	if n, err := c3.Read(make([]byte, 10)); !isClosedByPeer(err) {
		t.Fatalf("third connection over the cap: read %d bytes, err %v; want it closed", n, err)
	}

	c1.Close()
	var refusedAfter int
	waitFor(t, 10*time.Second, "a freed slot", func() bool {
		c4, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c4.Close()
		if _, err := roundTrip(c4, []byte("four")); err != nil {
			refusedAfter++
			return false
		}
		return true
	})
	mustEcho(t, "second, still open", c2, []byte("two again"))

	st := c.stop(t)
	if st["refused"] != 1+refusedAfter || st["accepted"] != 3 {
		t.Errorf("counters = %v, want refused %d, accepted 3", st, 1+refusedAfter)
	}
}

// TestDeadlines checks that a peer that sends nothing and a peer that does
// not read its echo are both disconnected by the deadlines.
func TestDeadlines(t *testing.T) {
	l, addr := listenStream(t, "tcp4", "127.0.0.1:0")
	c := startChild(t, []fd{l}, "--read-timeout", "200ms", "--write-timeout", "200ms")

	silent := dial(t, "tcp4", addr)
	silent.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); !isClosedByPeer(err) {
		t.Fatalf("silent peer: read %d bytes, err %v; want the server to close it", n, err)
	}

	// A peer that only writes: the server's echo fills the peer's receive
	// buffer, its write times out and it closes the connection, which
	// resets it since unread input remains.
	stalled := dial(t, "tcp4", addr).(*net.TCPConn)
	stalled.SetReadBuffer(4096)
	stalled.SetDeadline(time.Now().Add(20 * time.Second))
	chunk := make([]byte, 64<<10)
	var werr error
	for werr == nil {
		_, werr = stalled.Write(chunk)
	}
	if !isClosedByPeer(werr) {
		t.Fatalf("stalled reader: write error %v, want the server to reset the connection", werr)
	}

	// The server is still fine.
	mustEcho(t, "after the timeouts", dial(t, "tcp4", addr), []byte("alive"))
	st := c.stop(t)
	if st["timed out"] != 2 {
		t.Errorf("counters = %v, want timed out 2", st)
	}
}

// TestOversizeInput sends more than any buffer: a stream of 8 MiB comes back
// whole through fixed buffers, a 65,507-byte datagram comes back whole, and
// datagrams or seqpacket messages over the buffer are dropped and counted
// while the next ones are answered.
func TestOversizeInput(t *testing.T) {
	dir := shortDir(t)
	tcp, tcpAddr := listenStream(t, "tcp4", "127.0.0.1:0")
	udp, udpAddr := listenPacket(t, "udp4", "127.0.0.1:0")
	ugram, ugramAddr := listenPacket(t, "unixgram", dirPath(dir, "g"))
	useq, useqAddr := listenStream(t, "unixpacket", dirPath(dir, "p"))
	c := startChild(t, []fd{tcp, udp, ugram, useq})

	big := make([]byte, 8<<20)
	rand.Read(big)
	conn := dial(t, "tcp4", tcpAddr)
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Write(big)
		conn.(*net.TCPConn).CloseWrite()
		errc <- err
	}()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(conn)
	if werr := <-errc; werr != nil {
		t.Fatalf("writing 8 MiB: %v", werr)
	}
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("8 MiB stream: got %d bytes back (err %v), want all of them", len(got), err)
	}

	max := make([]byte, 65507)
	rand.Read(max)
	mustEcho(t, "65,507-byte udp datagram", dial(t, "udp4", udpAddr), max)

	gram, err := net.DialUnix("unixgram", &net.UnixAddr{Name: dirPath(dir, "c"), Net: "unixgram"},
		&net.UnixAddr{Name: ugramAddr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer gram.Close()
	gram.SetWriteBuffer(1 << 20)
	mustEcho(t, "65,507-byte unix datagram", gram, max)
	huge := make([]byte, 100000)
	if _, err := gram.Write(huge); err != nil {
		t.Fatalf("sending a 100,000-byte unix datagram: %v", err)
	}
	mustEcho(t, "unix datagram after an oversize one", gram, []byte("small"))

	seq := dial(t, "unixpacket", useqAddr).(*net.UnixConn)
	seq.SetWriteBuffer(1 << 20)
	if _, err := seq.Write(huge); err != nil {
		t.Fatalf("sending a 100,000-byte seqpacket message: %v", err)
	}
	mustEcho(t, "seqpacket message after an oversize one", seq, []byte("small"))

	st := c.stop(t)
	if st["oversize"] != 2 || st["bytes"] < len(big) {
		t.Errorf("counters = %v, want oversize 2, bytes >= %d", st, len(big))
	}
}

// TestIdleExit checks --idle-exit: an open connection keeps the server, and
// once it closes the server exits 0 by itself.
func TestIdleExit(t *testing.T) {
	l, addr := listenStream(t, "tcp4", "127.0.0.1:0")
	c := startChild(t, []fd{l}, "--idle-exit", "300ms")

	conn := dial(t, "tcp4", addr)
	mustEcho(t, "first", conn, []byte("hello"))
	// Three idle periods with the connection open but quiet: the server
	// must still be there. (A wait is the point here: nothing to poll.)
	time.Sleep(time.Second)
	if !c.running() {
		t.Fatalf("the server exited with a connection open; log:\n%s", c.log)
	}
	mustEcho(t, "after a quiet second", conn, []byte("still there"))
	conn.Close()

	if code := c.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("idle exit status %d, want 0; log:\n%s", code, c.log)
	}
	if log := c.log.String(); !strings.Contains(log, "idle for 300ms, exiting") {
		t.Errorf("no idle exit line in the log:\n%s", log)
	}
}

// TestNothingToServe checks the start-up errors: no fds and no --listen,
// only fds it cannot serve, and a bad --listen.
func TestNothingToServe(t *testing.T) {
	dir := shortDir(t)
	fifoPath := dirPath(dir, "fifo")
	if err := syscall.Mkfifo(fifoPath, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fds  func() []fd
		args []string
		want []string
	}{
		{"no fds", nil, nil, []string{"LISTEN_FDS is not set and no --listen", "--listen tcp:127.0.0.1:3000", "systemd-socket-activate"}},
		{"only a fifo", func() []fd {
			f, err := os.OpenFile(fifoPath, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			return []fd{{f, "fifo"}}
		}, nil, []string{"none of the 1 fds is a socket it can serve"}},
		{"bad listen", nil, []string{"--listen", "sctp:1.2.3.4:5"}, []string{`unknown network "sctp"`}},
		{"stray argument", nil, []string{"extra"}, []string{"unexpected arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fds []fd
			if tt.fds != nil {
				fds = tt.fds()
			}
			c := startChild(t, fds, tt.args...)
			if code := c.wait(t, 10*time.Second); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(c.log.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, c.log)
				}
			}
		})
	}
}

// TestListenFlag checks the development path: --listen without systemd.
func TestListenFlag(t *testing.T) {
	dir := shortDir(t)
	path := dirPath(dir, "dev.sock")
	c := startChild(t, nil, "--listen", "unix:"+path, "--listen", "udp4:127.0.0.1:0")
	waitFor(t, 10*time.Second, "the server to listen", func() bool {
		return strings.Contains(c.log.String(), "inet datagram")
	})
	mustEcho(t, "unix --listen", dial(t, "unix", path), []byte("dev"))
	c.stop(t)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket file %s outlived the server: %v", path, err)
	}
}
