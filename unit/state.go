package unit

import (
	"fmt"
	"slices"
)

// DeriveState decides a socket's activation state from its own state and
// the states of the services it triggers, and says why when it is
// StateFailed (adding each service's Reason, when set). It is pure: it
// reads only sock's ActiveState, Result, Accept, NConnections and Services.
//
//   - failed: the socket failed ("socket: trigger-limit-hit"), or it
//     listens and a triggered service failed ("service echo.service:
//     exit-code");
//   - stopped: the socket is not active (inactive, activating, deactivating,
//     or not loaded);
//   - active: a triggered service is active, reloading or deactivating, or
//     an Accept=yes socket holds connections;
//   - activating: a triggered service is activating (including auto-restart),
//     or failed and starting again (Service.Failed);
//   - idle: listening, nothing running.
func DeriveState(sock Socket) (State, string) {
	if sock.ActiveState == Failed {
		why := "socket: " + orUnknown(sock.Result)
		// A socket that gave up on its service (a start limit) keeps the
		// service's own reason in words, when there is one.
		for _, svc := range sock.Services {
			if svc.Reason != "" {
				why += fmt.Sprintf("; service %s: %s", svc.Unit, svc.Reason)
			}
		}
		return StateFailed, why
	}
	if sock.ActiveState != Active && sock.ActiveState != Reloading {
		return StateStopped, ""
	}
	state := StateIdle
	for _, svc := range sock.Services {
		switch {
		case svc.Failed():
			why := fmt.Sprintf("service %s: %s", svc.Unit, orUnknown(svc.Result))
			if svc.Reason != "" {
				why += ": " + svc.Reason
			}
			return StateFailed, why
		case slices.Contains([]ActiveState{Active, Reloading, Deactivating, Refreshing}, svc.ActiveState):
			state = StateActive
		case svc.ActiveState == Activating, svc.ActiveState == Failed: // Failed: starting again (Service.Failed)
			if state != StateActive {
				state = StateActivating
			}
		}
	}
	if state == StateIdle && sock.Accept && sock.NConnections > 0 {
		state = StateActive
	}
	return state, ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown reason"
	}
	return s
}

// Derive fills sock.State and sock.Reason with DeriveState's answer.
func (sock *Socket) Derive() {
	sock.State, sock.Reason = DeriveState(*sock)
}
