package unit

import (
	"testing"
)

// TestDeriveStateEveryCombination walks every socket state against every
// state of its service (and no service), plus the Accept=yes counters.
func TestDeriveStateEveryCombination(t *testing.T) {
	socketStates := []ActiveState{"active", "reloading", "inactive", "activating", "deactivating", "failed"}
	serviceStates := []ActiveState{"", "inactive", "activating", "active", "reloading", "deactivating", "failed"}
	// want[socket state] lists the expected state for each service state,
	// in serviceStates' order ("" = no triggered service).
	want := map[ActiveState][]State{
		"active":       {StateIdle, StateIdle, StateActivating, StateActive, StateActive, StateActive, StateFailed},
		"reloading":    {StateIdle, StateIdle, StateActivating, StateActive, StateActive, StateActive, StateFailed},
		"inactive":     {StateStopped, StateStopped, StateStopped, StateStopped, StateStopped, StateStopped, StateStopped},
		"activating":   {StateStopped, StateStopped, StateStopped, StateStopped, StateStopped, StateStopped, StateStopped},
		"deactivating": {StateStopped, StateStopped, StateStopped, StateStopped, StateStopped, StateStopped, StateStopped},
		"failed":       {StateFailed, StateFailed, StateFailed, StateFailed, StateFailed, StateFailed, StateFailed},
	}
	for _, ss := range socketStates {
		for i, vs := range serviceStates {
			sock := Socket{Unit: "echo.socket", ActiveState: ss, Result: "success"}
			if ss == "failed" {
				sock.Result = "trigger-limit-hit"
			}
			if vs != "" {
				res := "success"
				if vs == "failed" {
					res = "exit-code"
				}
				sock.Services = []Service{{Unit: "echo.service", ActiveState: vs, Result: res}}
			}
			got, reason := DeriveState(sock)
			if got != want[ss][i] {
				t.Errorf("socket %s, service %q: state %s, want %s", ss, vs, got, want[ss][i])
			}
			switch {
			case got == StateFailed && ss == "failed":
				if reason != "socket: trigger-limit-hit" {
					t.Errorf("socket %s, service %q: reason %q", ss, vs, reason)
				}
			case got == StateFailed:
				if reason != "service echo.service: exit-code" {
					t.Errorf("socket %s, service %q: reason %q", ss, vs, reason)
				}
			case reason != "":
				t.Errorf("socket %s, service %q: reason %q for state %s, want none", ss, vs, reason, got)
			}
		}
	}
}

func TestDeriveStateAcceptAndSeveralServices(t *testing.T) {
	tests := []struct {
		name   string
		sock   Socket
		want   State
		reason string
	}{
		{"accept, no connection", Socket{ActiveState: "active", Accept: true}, StateIdle, ""},
		{"accept, connections", Socket{ActiveState: "active", Accept: true, NConnections: 2}, StateActive, ""},
		{"accept, stopped with stale count", Socket{ActiveState: "inactive", Accept: true, NConnections: 2}, StateStopped, ""},
		{"active beats activating", Socket{ActiveState: "active", Services: []Service{
			{Unit: "a.service", ActiveState: "activating"}, {Unit: "b.service", ActiveState: "active"}}}, StateActive, ""},
		{"activating then active", Socket{ActiveState: "active", Services: []Service{
			{Unit: "a.service", ActiveState: "active"}, {Unit: "b.service", ActiveState: "activating"}}}, StateActive, ""},
		{"failure beats running", Socket{ActiveState: "active", Services: []Service{
			{Unit: "a.service", ActiveState: "active"}, {Unit: "b.service", ActiveState: "failed", Result: "signal"}}},
			StateFailed, "service b.service: signal"},
		{"failed without result", Socket{ActiveState: "failed"}, StateFailed, "socket: unknown reason"},
		// systemd resets Result as a failed service starts again, while
		// ActiveState still reads failed: starting, not failing.
		{"failed service starting again", Socket{ActiveState: "active", Services: []Service{
			{Unit: "a.service", ActiveState: "failed", Result: "success"}}}, StateActivating, ""},
		{"failed service, no result read", Socket{ActiveState: "active", Services: []Service{
			{Unit: "a.service", ActiveState: "failed"}}}, StateFailed, "service a.service: unknown reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := DeriveState(tt.sock)
			if got != tt.want || reason != tt.reason {
				t.Errorf("DeriveState = %s, %q; want %s, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}
