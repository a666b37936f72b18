package systemdbus

import "fmt"

// DeriveState decides a socket's activation state from its own state and
// the states of the services it triggers, and says why when it is
// StateFailed. It is pure: it reads only sock's ActiveState, Result,
// Accept, NConnections and Services.
//
//   - failed: the socket failed ("socket: trigger-limit-hit"), or it
//     listens and a triggered service failed ("service echo.service:
//     exit-code");
//   - stopped: the socket is not active (inactive, activating, deactivating,
//     or not loaded);
//   - active: a triggered service is active, reloading or deactivating, or
//     an Accept=yes socket holds connections;
//   - activating: a triggered service is activating (including auto-restart);
//   - idle: listening, nothing running.
func DeriveState(sock Socket) (State, string) {
	if sock.ActiveState == "failed" {
		return StateFailed, "socket: " + orUnknown(sock.Result)
	}
	if sock.ActiveState != "active" && sock.ActiveState != "reloading" {
		return StateStopped, ""
	}
	state := StateIdle
	for _, svc := range sock.Services {
		switch svc.ActiveState {
		case "failed":
			return StateFailed, fmt.Sprintf("service %s: %s", svc.Unit, orUnknown(svc.Result))
		case "active", "reloading", "deactivating", "refreshing":
			state = StateActive
		case "activating":
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

// derive fills sock.State and sock.Reason.
func derive(sock *Socket) {
	sock.State, sock.Reason = DeriveState(*sock)
}
