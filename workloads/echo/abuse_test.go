package echo_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/workloads/echo"
)

// The abuse test's limits. The server gets --max-conns abuseMaxConns and a
// short write timeout so that a client that stops reading is dropped soon.
const (
	abuseMaxConns     = 512
	abuseBurst        = 1000
	abuseWriteTimeout = 3 * time.Second
	// abuseWait bounds every wait in the abuse test: generous, since CI
	// runs it with the race detector on two shared cores.
	abuseWait = 60 * time.Second
)

// TestAbuse runs the real static socktui-echo binary, activated the way
// systemd does it with a TCP, a UDP, a unix datagram and a unix seqpacket
// socket, and abuses it in turn: 1,000 connections at once (beyond
// --max-conns the rest are refused and counted), a client that never reads
// its echo (only that connection suffers, and the write deadline frees it),
// datagram floods, empty datagrams and datagrams over the buffer on UDP and
// unix datagram sockets, and garbage, oversize and empty messages on the
// seqpacket socket. After each phase, and during the ones that hold
// resources, a well-behaved client on every socket must still get its
// echoes; the process must stay up, and its VmRSS and VmHWM (the peak over
// the whole run) must stay under rssLimit (32 MiB). The counters are read
// live from the server's sd_notify STATUS lines and, at the end, from its
// last log line.
func TestAbuse(t *testing.T) {
	bin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	dir := shortDir(t)
	tcp, tcpAddr := listenStream(t, "tcp4", "127.0.0.1:0")
	udp, udpAddr := listenPacket(t, "udp4", "127.0.0.1:0")
	ugram, ugramAddr := listenPacket(t, "unixgram", dirPath(dir, "g"))
	useq, useqAddr := listenStream(t, "unixpacket", dirPath(dir, "p"))
	notify := listenNotify(t, dirPath(dir, "notify"))

	fds := []fd{tcp, udp, ugram, useq}
	// The shell's pid becomes the server's: exec keeps it.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin,
		"--max-conns", fmt.Sprint(abuseMaxConns), "--write-timeout", abuseWriteTimeout.String())
	cmd.Env = append(cleanEnv(), "LISTEN_FDS=4", "LISTEN_FDNAMES=tcp:udp:ugram:useq", "NOTIFY_SOCKET="+notify.path)
	for _, f := range fds {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f.file)
	}
	c := start(t, cmd, fds)
	pid := cmd.Process.Pid
	notify.waitReady(t)

	good := newGoodClient(t, c, tcpAddr, udpAddr, ugramAddr, useqAddr, dir)
	good.check(t, "at start")
	accepted := 2 // the good client's tcp and seqpacket connections
	var rss []int64
	sampleRSS := func(t *testing.T, phase string) {
		t.Helper()
		st := procStatus(t, pid)
		if st["VmRSS"] >= rssLimit {
			t.Fatalf("%s: VmRSS %.1f MiB, want under %d MiB", phase, mib(st["VmRSS"]), rssLimit>>20)
		}
		rss = append(rss, st["VmRSS"])
	}
	sampleRSS(t, "at start")

	t.Run("burst", func(t *testing.T) {
		served := burst(t, tcpAddr, func() {
			// Every burst connection is still open here: the cap is
			// reached, and the good client's two are among them.
			good.check(t, "with the cap reached")
			sampleRSS(t, "with the cap reached")
			notify.waitStats(t, "the cap reached", func(st map[string]int) bool {
				return st["open"] == abuseMaxConns && st["refused"] == abuseBurst-(abuseMaxConns-2)
			})
		})
		if served != abuseMaxConns-2 {
			t.Errorf("%d of %d concurrent connections served, want %d (--max-conns %d, 2 held by the good client)",
				served, abuseBurst, abuseMaxConns-2, abuseMaxConns)
		}
		accepted += served
		notify.waitStats(t, "the burst's connections to close", func(st map[string]int) bool { return st["open"] == 2 })
		good.check(t, "after the burst")
		sampleRSS(t, "after the burst")
	})

	t.Run("slow reader", func(t *testing.T) {
		slowReader(t, tcpAddr, func() {
			good.check(t, "while a client does not read")
			sampleRSS(t, "while a client does not read")
		})
		accepted++
		notify.waitStats(t, "the slow reader to be timed out", func(st map[string]int) bool {
			return st["timed out"] >= 1 && st["open"] == 2
		})
		good.check(t, "after the slow reader")
	})

	t.Run("udp", func(t *testing.T) {
		udpAbuse(t, udpAddr, good)
		good.check(t, "after the udp abuse")
		sampleRSS(t, "after the udp abuse")
	})

	t.Run("unixgram", func(t *testing.T) {
		unixgramAbuse(t, ugramAddr, dir, good)
		good.check(t, "after the unix datagram abuse")
		sampleRSS(t, "after the unix datagram abuse")
	})

	t.Run("seqpacket", func(t *testing.T) {
		accepted += seqpacketAbuse(t, useqAddr, good)
		good.check(t, "after the seqpacket abuse")
		sampleRSS(t, "after the seqpacket abuse")
	})

	if !c.running() {
		t.Fatalf("the echo server exited; log:\n%s", c.log)
	}
	st := procStatus(t, pid)
	t.Logf("socktui-echo VmRSS per phase (MiB): %s; VmHWM %.1f MiB", formatMiB(rss), mib(st["VmHWM"]))
	if st["VmHWM"] >= rssLimit {
		t.Errorf("VmHWM (peak RSS over the whole run) %.1f MiB, want under %d MiB", mib(st["VmHWM"]), rssLimit>>20)
	}

	final := c.stop(t)
	t.Logf("final counters: %v", final)
	want := map[string]int{
		"open":     0,
		"accepted": accepted,
		"refused":  abuseBurst - (abuseMaxConns - 2),
	}
	for k, v := range want {
		if final[k] != v {
			t.Errorf("final counter %s = %d, want %d (all: %v)", k, final[k], v, final)
		}
	}
	// At least: the slow reader; two unix datagrams and one seqpacket
	// message over BufSize; two empty unix datagrams from an unbound
	// sender; replies to the deaf unix datagram senders.
	atLeast := map[string]int{"timed out": 1, "oversize": 3, "unreplyable": 2, "dropped": 1}
	for k, v := range atLeast {
		if final[k] < v {
			t.Errorf("final counter %s = %d, want at least %d (all: %v)", k, final[k], v, final)
		}
	}
}

// cleanEnv is this process's environment without variables that would
// confuse an activated child.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LISTEN_") || strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func formatMiB(b []int64) string {
	s := make([]string, len(b))
	for i, x := range b {
		s[i] = fmt.Sprintf("%.1f", mib(x))
	}
	return strings.Join(s, ", ")
}

// notifyListener plays systemd's side of sd_notify: a unix datagram socket
// whose path the child gets as NOTIFY_SOCKET. It keeps whether READY=1 came
// and the counters from the latest STATUS line.
type notifyListener struct {
	path string

	mu     sync.Mutex
	ready  bool
	status map[string]int
}

func listenNotify(t *testing.T, path string) *notifyListener {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifyListener{path: path}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			m, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.handle(string(buf[:m]))
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return n
}

func (n *notifyListener) handle(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, line := range strings.Split(msg, "\n") {
		if line == "READY=1" {
			n.ready = true
		}
		if st, ok := strings.CutPrefix(line, "STATUS=open "); ok {
			stats := map[string]int{}
			for _, m := range statRE.FindAllStringSubmatch("open "+st, -1) {
				stats[strings.TrimSpace(m[1])], _ = strconv.Atoi(m[2])
			}
			n.status = stats
		}
	}
}

func (n *notifyListener) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, abuseWait, "READY=1", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.ready
	})
}

// waitStats waits until the latest STATUS line's counters satisfy cond (the
// server sends one a second while they change).
func (n *notifyListener) waitStats(t *testing.T, what string, cond func(map[string]int) bool) {
	t.Helper()
	deadline := time.Now().Add(abuseWait)
	for {
		n.mu.Lock()
		st := n.status
		n.mu.Unlock()
		if st != nil && cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last STATUS counters: %v", abuseWait, what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goodClient is a well-behaved client on every socket: it holds a TCP and
// a seqpacket connection open through the whole test, and sends datagrams
// from a UDP socket and a bound unix datagram socket.
type goodClient struct {
	server         *child
	tcp, seq       net.Conn
	udp, gram      net.Conn
	n              int
	datagramRetry  time.Duration
	datagramWindow time.Duration
}

func newGoodClient(t *testing.T, server *child, tcpAddr, udpAddr, ugramAddr, useqAddr, dir string) *goodClient {
	t.Helper()
	gram, err := net.DialUnix("unixgram", &net.UnixAddr{Name: dirPath(dir, "good"), Net: "unixgram"},
		&net.UnixAddr{Name: ugramAddr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gram.Close() })
	return &goodClient{
		server: server,
		tcp:    dial(t, "tcp4", tcpAddr),
		seq:    dial(t, "unixpacket", useqAddr),
		udp:    dial(t, "udp4", udpAddr),
		gram:   gram,
		// A datagram can be lost when the server's queue is full:
		// resend, as any datagram client must.
		datagramRetry:  500 * time.Millisecond,
		datagramWindow: abuseWait,
	}
}

// check requires an echo on every socket and the server still running.
func (g *goodClient) check(t *testing.T, phase string) {
	t.Helper()
	msg := g.checkStreamsAndUDP(t, phase)
	g.datagramEcho(t, phase+": unix datagram", g.gram, msg)
}

// checkStreamsAndUDP is check without the unix datagram socket. It returns
// the message it sent.
func (g *goodClient) checkStreamsAndUDP(t *testing.T, phase string) []byte {
	t.Helper()
	if !g.server.running() {
		t.Fatalf("%s: the echo server exited; log:\n%s", phase, g.server.log)
	}
	g.n++
	msg := []byte(fmt.Sprintf("good client, %s, #%d", phase, g.n))
	mustEcho(t, phase+": tcp", g.tcp, msg)
	mustEcho(t, phase+": seqpacket", g.seq, msg)
	g.datagramEcho(t, phase+": udp", g.udp, msg)
	return msg
}

// datagramEcho sends msg until its echo comes back, at most for
// datagramWindow. Replies to earlier (resent) messages are skipped.
func (g *goodClient) datagramEcho(t *testing.T, what string, c net.Conn, msg []byte) {
	t.Helper()
	deadline := time.Now().Add(g.datagramWindow)
	buf := make([]byte, echo.BufSize)
	sends := 0
	for time.Now().Before(deadline) {
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("%s: send: %v", what, err)
		}
		sends++
		c.SetReadDeadline(time.Now().Add(g.datagramRetry))
		for {
			n, err := c.Read(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break // resend
				}
				t.Fatalf("%s: receive: %v", what, err)
			}
			if bytes.Equal(buf[:n], msg) {
				c.SetReadDeadline(time.Time{})
				return
			}
		}
	}
	t.Fatalf("%s: no echo in %v (%d sends)", what, g.datagramWindow, sends)
}

// burst opens abuseBurst TCP connections at once; each sends a line and
// expects it back (served) or the connection closed by the server
// (refused). Served connections stay open until whileHeld has run. It
// returns how many were served and fails on any other outcome.
func burst(t *testing.T, addr string, whileHeld func()) int {
	t.Helper()
	type result struct {
		served bool
		err    error
	}
	results := make(chan result, abuseBurst)
	hold := make(chan struct{})
	var wg sync.WaitGroup
	for i := range abuseBurst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp4", addr, abuseWait)
			if err != nil {
				results <- result{err: fmt.Errorf("connection %d: dial: %w", i, err)}
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(abuseWait))
			msg := []byte(fmt.Sprintf("burst connection %d", i))
			if _, err := conn.Write(msg); err != nil {
				if isClosedByPeer(err) {
					results <- result{}
					return
				}
				results <- result{err: fmt.Errorf("connection %d: write: %w", i, err)}
				return
			}
			got := make([]byte, len(msg))
			_, err = io.ReadFull(conn, got)
			switch {
			case err == nil && bytes.Equal(got, msg):
				results <- result{served: true}
				<-hold
			case err == nil:
				results <- result{err: fmt.Errorf("connection %d: echoed %q, want %q", i, got, msg)}
			case isClosedByPeer(err) || errors.Is(err, io.ErrUnexpectedEOF):
				results <- result{}
			default:
				results <- result{err: fmt.Errorf("connection %d: read: %w", i, err)}
			}
		}()
	}
	served, refused := 0, 0
	var errs []error
	for range abuseBurst {
		r := <-results
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case r.served:
			served++
		default:
			refused++
		}
	}
	if len(errs) > 0 {
		close(hold)
		wg.Wait()
		t.Fatalf("%d of %d connections neither served nor refused, e.g. %v", len(errs), abuseBurst, errs[0])
	}
	whileHeld()
	close(hold)
	wg.Wait()
	if served+refused != abuseBurst {
		t.Fatalf("served %d + refused %d != %d", served, refused, abuseBurst)
	}
	return served
}

// slowReader opens a TCP connection with a small receive buffer and writes
// to it without ever reading the echo. Once its writes stall (the server's
// echo is stuck, so the server stopped reading), whileStalled runs; then the
// server's write deadline must close the connection, which the writer sees
// as a reset.
func slowReader(t *testing.T, addr string, whileStalled func()) {
	t.Helper()
	conn := dial(t, "tcp4", addr).(*net.TCPConn)
	mustEcho(t, "slow reader, first line", conn, []byte("hello, I will stop reading now"))
	conn.SetReadBuffer(4096)
	conn.SetWriteDeadline(time.Now().Add(abuseWait))
	var written atomic.Int64
	errc := make(chan error, 1)
	go func() {
		chunk := make([]byte, 4096)
		for {
			n, err := conn.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	// Stalled: nothing more written for a while. (Under load this may
	// also fire while the writer was merely descheduled; the server must
	// cope either way.)
	last, since := int64(-1), time.Now()
	waitFor(t, abuseWait, "the slow reader's writes to stall", func() bool {
		if w := written.Load(); w != last {
			last, since = w, time.Now()
		}
		return time.Since(since) > 200*time.Millisecond
	})
	select {
	case err := <-errc:
		t.Fatalf("the slow reader's write ended before the stall could be observed: %v", err)
	default:
	}
	whileStalled()
	select {
	case err := <-errc:
		if !isClosedByPeer(err) {
			t.Fatalf("slow reader: write error %v after %d bytes, want the server to reset the connection", err, written.Load())
		}
	case <-time.After(abuseWait):
		t.Fatalf("the slow reader was not disconnected within %v (write timeout %v)", abuseWait, abuseWriteTimeout)
	}
}

// udpAbuse sends the largest UDP datagram and an empty one (both echoed as
// they are), then floods the server with the largest datagrams from a
// client that never reads its replies, while the good client keeps getting
// its echoes. No UDP datagram can exceed BufSize (65,507 bytes of payload
// over IPv4), so the oversize case is the unix datagram socket's.
func udpAbuse(t *testing.T, addr string, good *goodClient) {
	t.Helper()
	c := dial(t, "udp4", addr).(*net.UDPConn)
	c.SetWriteBuffer(1 << 20)
	c.SetReadBuffer(1 << 20)
	max := make([]byte, 65507)
	rand.Read(max)
	mustEcho(t, "65,507-byte udp datagram", c, max)
	if _, err := c.Write(make([]byte, 65508)); err == nil {
		t.Errorf("a 65,508-byte UDP datagram was sent; it cannot exist over IPv4")
	}
	mustEcho(t, "empty udp datagram", c, nil)

	deaf, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	flood(t, "udp", deafConn(deaf), max, good, false)
}

// deafSender is a datagram client that sends but never reads its replies.
type deafSender struct {
	send  func(m []byte) (int, error)
	close func() error
}

// flood sends copies of msg, every other one empty, from a deaf client,
// until the good client has checked that it still gets its echoes during
// the flood (and at least 2,000 were sent). With unixgramStarved the good
// client's unix datagram check waits until the flood has ended and the
// deaf client is closed (see unixgramAbuse).
func flood(t *testing.T, what string, deaf deafSender, msg []byte, good *goodClient, unixgramStarved bool) {
	t.Helper()
	defer deaf.close()
	stop := make(chan struct{})
	errc := make(chan error, 1)
	var sent atomic.Int64
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				if i >= 2000 {
					errc <- nil
					return
				}
			default:
			}
			m := msg
			if i%2 == 1 {
				m = nil
			}
			if err := sendDatagram(deaf.send, m); err != nil {
				errc <- fmt.Errorf("%s flood: datagram %d: %w", what, i, err)
				return
			}
			sent.Add(1)
		}
	}()
	waitFor(t, abuseWait, "the flood to start", func() bool { return sent.Load() > 100 })
	phase := "during a " + what + " flood"
	if unixgramStarved {
		good.checkStreamsAndUDP(t, phase)
	} else {
		good.check(t, phase)
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	deaf.close()
	if unixgramStarved {
		good.datagramEcho(t, "after a "+what+" flood, the deaf client gone: unix datagram", good.gram, []byte("answered again"))
	}
}

// sendDatagram sends m, waiting while the peer's queue is full: Go's
// Write returns EAGAIN for an empty datagram instead of waiting.
func sendDatagram(send func([]byte) (int, error), m []byte) error {
	deadline := time.Now().Add(abuseWait)
	for {
		_, err := send(m)
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

func deafConn(c net.Conn) deafSender {
	c.SetWriteDeadline(time.Now().Add(2 * abuseWait))
	return deafSender{send: c.Write, close: c.Close}
}

// unixgramAbuse sends unix datagrams over BufSize (dropped and counted),
// empty ones from a bound sender (echoed empty) and an unbound one (counted
// as unreplyable), random bytes of every size up to BufSize (echoed whole),
// and floods the socket from a bound sender that never reads its replies.
func unixgramAbuse(t *testing.T, addr, dir string, good *goodClient) {
	t.Helper()
	gram, err := net.DialUnix("unixgram", &net.UnixAddr{Name: dirPath(dir, "abuser"), Net: "unixgram"},
		&net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer gram.Close()
	gram.SetWriteBuffer(1 << 20)
	gram.SetReadBuffer(1 << 20)
	for _, size := range []int{echo.BufSize + 1, 100000} {
		if _, err := gram.Write(make([]byte, size)); err != nil {
			t.Fatalf("sending a %d-byte unix datagram: %v", size, err)
		}
	}
	mustEcho(t, "empty unix datagram", gram, nil)
	for _, size := range []int{1, 2, 1000, 4096, 65507, echo.BufSize} {
		msg := make([]byte, size)
		rand.Read(msg)
		mustEcho(t, fmt.Sprintf("%d random bytes over unix datagram", size), gram, msg)
	}

	unbound, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer unbound.Close()
	for range 2 {
		if _, err := unbound.Write(nil); err != nil {
			t.Fatalf("an empty datagram from an unbound sender: %v", err)
		}
	}
	mustEcho(t, "unix datagram after unbound senders", gram, []byte("still answered"))

	msg := make([]byte, 1024)
	rand.Read(msg)
	// A deaf sender that is not connected: the kernel refuses a reply
	// once it has a few queued (net.unix.max_dgram_qlen), so the server
	// drops the rest and everyone else is served.
	unconnected, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dirPath(dir, "deaf1"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	to := &net.UnixAddr{Name: addr, Net: "unixgram"}
	unconnected.SetWriteDeadline(time.Now().Add(2 * abuseWait))
	flood(t, "unix datagram (unconnected deaf sender)", deafSender{
		send:  func(m []byte) (int, error) { return unconnected.WriteTo(m, to) },
		close: unconnected.Close,
	}, msg, good, false)

	// A deaf sender connected to the server: the kernel queues replies
	// to a socket's connected peer without the queue-length limit, and
	// charges them to the server's send buffer until they are read. So
	// once that buffer is full, every unix datagram reply is refused,
	// whoever it is for, until the deaf client reads or closes: no server
	// can avoid that. The server must not block (its replies are dropped
	// and counted) and must keep serving every other socket; once the deaf
	// client is gone, unix datagram replies flow again.
	connected, err := net.DialUnix("unixgram", &net.UnixAddr{Name: dirPath(dir, "deaf2"), Net: "unixgram"}, to)
	if err != nil {
		t.Fatal(err)
	}
	flood(t, "unix datagram (connected deaf sender)", deafConn(connected), msg, good, true)
}

// seqpacketAbuse sends random messages of many sizes (each echoed whole, its
// boundary kept), a message over BufSize (dropped and counted, the
// connection kept), and an empty message, which reads as the end of input:
// the server closes that connection. It returns the number of connections it
// opened.
func seqpacketAbuse(t *testing.T, addr string, good *goodClient) int {
	t.Helper()
	seq := dial(t, "unixpacket", addr).(*net.UnixConn)
	seq.SetWriteBuffer(1 << 20)
	seq.SetReadBuffer(1 << 20)
	for i := range 200 {
		var sz [2]byte
		rand.Read(sz[:])
		msg := make([]byte, 1+(int(sz[0])<<8|int(sz[1])))
		rand.Read(msg)
		mustEcho(t, fmt.Sprintf("seqpacket garbage message %d (%d bytes)", i, len(msg)), seq, msg)
	}
	if _, err := seq.Write(make([]byte, 100000)); err != nil {
		t.Fatalf("sending a 100,000-byte seqpacket message: %v", err)
	}
	mustEcho(t, "seqpacket message after an oversize one", seq, []byte("small"))
	good.check(t, "after seqpacket garbage")

	if _, err := seq.Write(nil); err != nil {
		t.Fatalf("sending an empty seqpacket message: %v", err)
	}
	seq.SetReadDeadline(time.Now().Add(abuseWait))
	if n, err := seq.Read(make([]byte, 16)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after an empty seqpacket message: read %d bytes, err %v; want the server to end the connection", n, err)
	}
	return 1
}
