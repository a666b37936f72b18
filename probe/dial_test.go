package probe

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestProberDial: with Dial set, stream endpoints are reached through it
// (here: an address nothing listens on, redirected to an echo listener) and
// endpoints it cannot carry are Unsupported, never dialled directly.
func TestProberDial(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	var asked []string
	p := &Prober{Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		asked = append(asked, network+" "+address)
		var d net.Dialer
		return d.DialContext(ctx, "tcp4", ln.Addr().String())
	}}
	r := p.Probe(context.Background(), unit.Target{Unit: "x.socket", Type: "Stream", Address: "127.0.0.1:1", Kind: unit.KindEcho})
	if r.Outcome != OK || len(asked) != 1 || asked[0] != "tcp4 127.0.0.1:1" {
		t.Errorf("stream through Dial: %+v, dialled %q", r, asked)
	}
	r = p.Probe(context.Background(), unit.Target{Unit: "x.socket", Type: "Datagram", Address: "127.0.0.1:1", Kind: unit.KindEcho})
	if r.Outcome != Unsupported || len(asked) != 1 {
		t.Errorf("datagram with Dial: %+v, dialled %q", r, asked)
	}
}
