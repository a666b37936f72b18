package probe

import (
	"testing"

	"github.com/socktui/socktui/unit"
)

func TestUnprobed(t *testing.T) {
	for _, tt := range []struct {
		target  unit.Target
		network unit.Network
	}{
		{unit.Target{Unit: "a.socket", Type: "Stream", Address: "127.0.0.1:3000", Kind: unit.KindEcho, Cold: true}, unit.TCP4},
		{unit.Target{Unit: "a.socket", Type: "Datagram", Address: "[::1]:3000"}, unit.UDP6},
		{unit.Target{Unit: "a.socket", Type: "Stream", Address: "not an address"}, ""},
	} {
		r := Unprobed(tt.target, 4, Error, "web1: not connected")
		want := Result{Unit: tt.target.Unit, Type: tt.target.Type, Address: tt.target.Address, Kind: tt.target.Kind,
			Cold: tt.target.Cold, Index: 4, Outcome: Error, Error: "web1: not connected", Network: tt.network}
		if r != want {
			t.Errorf("Unprobed(%+v) = %+v, want %+v", tt.target, r, want)
		}
	}
}
