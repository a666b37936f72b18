package ui

// Host is one manager the UI shows: this machine's or another host's.
//
// A Host's Manager may connect lazily: its Watch may send unit.Disconnected
// events (Err saying why, e.g. "ssh web1: connection refused") before any
// Snapshot, and its actions may return errors until it is connected; the UI
// shows that host as reconnecting with the reason and keeps every other host
// live.
type Host struct {
	// Name is shown in the HOST column and the status line; "" is this
	// machine, shown as "local".
	Name    string
	Manager Manager   // required
	Prober  Prober    // nil disables p and P for this host's units
	Doctor  Doctor    // nil: no marks or F for this host's units
	Logs    LogSource // nil disables l for this host's units
}
