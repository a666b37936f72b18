package sandbox

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Ports FreePort hands out: below Linux's default ephemeral range
// (32768-60999), so that no client connection of any process is given one
// by the kernel between FreePort and the bind of the unit that uses it.
const (
	portLow  = 20000
	portHigh = 32767
)

// FreePort returns a port that is free for TCP and UDP on both 127.0.0.1
// and [::1] right now, for the listeners of units made in a sandbox (which
// shares the host's network). Each port is reserved for the calling
// process with a file in a folder all socktui processes share
// (os.TempDir()/socktui-ports), so that test processes running side by
// side never pick the same one; a reservation whose process is gone is
// taken over. A port is handed out once per process.
func FreePort() (int, error) {
	dir := filepath.Join(os.TempDir(), "socktui-ports")
	if err := os.MkdirAll(dir, 0o1777); err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	// Every user's processes share it (a rootless sandbox's clients run as
	// its user), so it is world-writable and sticky as /tmp is: Mkdir's
	// mode lost the sticky bit and the umask's bits. Only its owner may
	// set that; for anyone else this fails harmlessly.
	_ = os.Chmod(dir, 0o777|os.ModeSticky)
	span := portHigh - portLow + 1
	start := rand.IntN(span)
	for i := range span {
		port := portLow + (start+i)%span
		if !reserve(dir, port) {
			continue
		}
		if portFree(port) {
			return port, nil
		}
	}
	return 0, errors.New("finding a free port: every port from 20000 to 32767 is taken or reserved")
}

// reserve claims port for this process, or reports that a live process
// holds it (this one included).
func reserve(dir string, port int) bool {
	path := filepath.Join(dir, strconv.Itoa(port))
	for range 2 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return err == nil
		}
		if !errors.Is(err, os.ErrExist) || holderAlive(path) {
			return false
		}
		// The holder is gone: take the reservation over.
		os.Remove(path)
	}
	return false
}

// holderAlive reports whether the process named in a reservation file
// still runs; an unreadable file counts as held.
func holderAlive(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		// Half written: its writer is between create and write.
		return true
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func portFree(port int) bool {
	p := strconv.Itoa(port)
	for _, a := range []struct{ network, addr string }{
		{"tcp4", "127.0.0.1:" + p}, {"tcp6", "[::1]:" + p}, {"udp4", "127.0.0.1:" + p}, {"udp6", "[::1]:" + p},
	} {
		var c io.Closer
		var err error
		if a.network[0] == 't' {
			c, err = net.Listen(a.network, a.addr)
		} else {
			c, err = net.ListenPacket(a.network, a.addr)
		}
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}
