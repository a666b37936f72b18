package unit

import (
	"slices"
	"testing"
)

func TestListeningAndServiceUp(t *testing.T) {
	svc := func(states ...ActiveState) []Service {
		var out []Service
		for _, s := range states {
			out = append(out, Service{Unit: "x.service", ActiveState: s})
		}
		return out
	}
	cases := []struct {
		name      string
		sock      Socket
		listening bool
		up        bool
	}{
		{"idle", Socket{State: StateIdle, Services: svc("inactive")}, true, false},
		{"activating", Socket{State: StateActivating, Services: svc("activating")}, true, true},
		{"active", Socket{State: StateActive, Services: svc("active")}, true, true},
		{"reloading service", Socket{State: StateActive, Services: svc("reloading")}, true, true},
		{"stopped", Socket{State: StateStopped, ActiveState: "inactive"}, false, false},
		{"failed", Socket{State: StateFailed, ActiveState: "failed", Services: svc("failed")}, false, false},
		{"not derived, active", Socket{ActiveState: "active"}, true, false},
		{"not derived, inactive", Socket{ActiveState: "inactive"}, false, false},
		{"one of two services up", Socket{State: StateActive, Services: svc("inactive", "active")}, true, true},
		{"deactivating service is not warm", Socket{State: StateActive, Services: svc("deactivating")}, true, false},
	}
	for _, c := range cases {
		if got := c.sock.Listening(); got != c.listening {
			t.Errorf("%s: Listening() = %v, want %v", c.name, got, c.listening)
		}
		if got := c.sock.ServiceUp(); got != c.up {
			t.Errorf("%s: ServiceUp() = %v, want %v", c.name, got, c.up)
		}
	}
}

func TestFailedServices(t *testing.T) {
	sock := Socket{Services: []Service{
		{Unit: "a.service", ActiveState: "failed"},
		{Unit: "b.service", ActiveState: "active"},
		{Unit: "c.service", ActiveState: "failed"},
	}}
	if got := sock.FailedServices(); !slices.Equal(got, []string{"a.service", "c.service"}) {
		t.Errorf("FailedServices() = %v", got)
	}
	if got := (Socket{Services: []Service{{Unit: "b.service", ActiveState: "inactive"}}}).FailedServices(); len(got) != 0 {
		t.Errorf("FailedServices() with none failed = %v", got)
	}
}
