package unit

import (
	"strings"
	"time"
)

// SocketSpec describes a socket unit and the service it triggers, with
// every path concrete (no %-specifiers), so that it can be created as
// transient units over D-Bus or written as unit files alike.
type SocketSpec struct {
	// Name ends in .socket.
	Name        string
	Description string
	// Listen lists the socket's listeners in order: the order of the fds
	// the service receives.
	Listen  []Listen
	Service ServiceSpec
	// Accept starts one service instance per connection; the service must
	// then be a template (its name contains "@").
	Accept bool
	// RemoveOnStop removes the socket files (and FIFOs) when the socket
	// stops.
	RemoveOnStop bool
}

// ServiceName is the service the socket triggers: Service.Name, or the
// socket's name with .service (systemd's default).
func (s SocketSpec) ServiceName() string {
	if s.Service.Name != "" {
		return s.Service.Name
	}
	return strings.TrimSuffix(s.Name, ".socket") + ".service"
}

// ServiceSpec is the service half of a SocketSpec.
type ServiceSpec struct {
	// Name is the service unit's name; when empty, the socket's name with
	// .service, the service a socket triggers by default.
	Name        string
	Description string
	// ExecStart is the command, argv[0] an absolute path. ExecStartPre runs
	// before it; ExecStop and ExecStopPost are optional commands run on stop.
	ExecStartPre [][]string
	ExecStart    []string
	ExecStop     [][]string
	ExecStopPost [][]string
	// Type, NotifyAccess and KillMode are systemd's settings of the same
	// names; systemd's defaults when empty.
	Type, NotifyAccess, KillMode string
	// Environment entries are "KEY=value".
	Environment []string
	// TimeoutStopSec bounds a stop; systemd's default when zero.
	TimeoutStopSec time.Duration
}
