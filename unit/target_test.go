package unit

import (
	"reflect"
	"testing"
)

func TestTargets(t *testing.T) {
	sock := Socket{
		Unit: "echo.socket", ActiveState: Active, State: StateIdle,
		Listen:   []Listen{{Type: TypeStream, Address: "127.0.0.1:3100"}, {Type: TypeDatagram, Address: "/run/e.dgram"}},
		Services: []Service{{Unit: "echo.service", ActiveState: Inactive, Exec: []string{"/usr/bin/socktui-echo"}}},
	}
	got := sock.Targets()
	want := []Target{
		{Unit: "echo.socket", Type: TypeStream, Address: "127.0.0.1:3100", Kind: KindAuto, Cold: true, Service: "echo.service", Exec: []string{"/usr/bin/socktui-echo"}},
		{Unit: "echo.socket", Type: TypeDatagram, Address: "/run/e.dgram", Kind: KindAuto, Cold: true, Service: "echo.service", Exec: []string{"/usr/bin/socktui-echo"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Targets() = %+v\nwant %+v", got, want)
	}
	sock.Services[0].ActiveState = Active
	for _, tg := range sock.Targets() {
		if tg.Cold {
			t.Errorf("target %+v of an active service is cold", tg)
		}
	}
	// Accept=yes: no one service to name.
	sock.Services = append(sock.Services, Service{Unit: "echo@1.service"})
	if tg := sock.Targets()[0]; tg.Service != "" || tg.Exec != nil {
		t.Errorf("two services: target %+v names one", tg)
	}
	if n := len((Socket{Unit: "none.socket"}).Targets()); n != 0 {
		t.Errorf("a socket without Listen has %d targets", n)
	}
}
