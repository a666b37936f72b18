package sandbox

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePortIsFreeEverywhere(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := strconv.Itoa(port)
	for _, a := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:" + p}, {"tcp6", "[::1]:" + p}} {
		l, err := net.Listen(a.network, a.addr)
		if err != nil {
			t.Fatalf("FreePort gave %d but %s %s is taken: %v", port, a.network, a.addr, err)
		}
		l.Close()
	}
	for _, a := range []struct{ network, addr string }{{"udp4", "127.0.0.1:" + p}, {"udp6", "[::1]:" + p}} {
		c, err := net.ListenPacket(a.network, a.addr)
		if err != nil {
			t.Fatalf("FreePort gave %d but %s %s is taken: %v", port, a.network, a.addr, err)
		}
		c.Close()
	}
	// A port taken on one family only is not free.
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if portFree(l.Addr().(*net.TCPAddr).Port) {
		t.Errorf("portFree(%d) = true while [::1] holds it", l.Addr().(*net.TCPAddr).Port)
	}
}
