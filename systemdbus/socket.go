package systemdbus

// Listening reports whether the socket is up and listening, so that its
// endpoints can be probed: its derived State says so, or, for a Socket whose
// State was never derived, its ActiveState is active.
func (s Socket) Listening() bool {
	switch s.State {
	case StateIdle, StateActivating, StateActive:
		return true
	case "":
		return s.ActiveState == "active"
	}
	return false
}

// ServiceUp reports whether a service the socket triggers is active or
// coming up: a probe then finds it warm, not cold.
func (s Socket) ServiceUp() bool {
	for _, svc := range s.Services {
		switch svc.ActiveState {
		case "active", "activating", "reloading":
			return true
		}
	}
	return false
}

// FailedServices names the services of the socket that are failed: those
// to reset so that their start limit does not refuse the next connection.
func (s Socket) FailedServices() []string {
	var out []string
	for _, svc := range s.Services {
		if svc.ActiveState == "failed" {
			out = append(out, svc.Unit)
		}
	}
	return out
}
