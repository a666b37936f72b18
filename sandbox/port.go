package sandbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// FreePort returns a port that is free for TCP and UDP on both 127.0.0.1
// and [::1] right now, for the listeners of units made in a sandbox (which
// shares the host's network). Another process may take it before they bind.
func FreePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if portFree(port) {
			return port, nil
		}
	}
	return 0, errors.New("finding a free port: none found in 20 tries")
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
