package systemdbus

import (
	"strings"

	"github.com/socktui/socktui/internal/podmancmd"
)

// Container names the Podman container a service runs, or "" when it runs
// none. The name comes from the service's podman command line in ExecStart
// as package podmancmd reads it (`podman run ... --name NAME`, `podman
// start NAME`); a service that runs podman without naming its container,
// or whose environment carries PODMAN_SYSTEMD_UNIT (podman generate
// systemd, Quadlet) without a podman ExecStart that runs containers, is
// named after its unit without the .service suffix.
//
// execStart holds the argv of each ExecStart command.
func Container(unit string, execStart [][]string, env []string) string {
	runs, name := containerFromExec(execStart)
	if name != "" {
		return name
	}
	if !runs {
		for _, kv := range env {
			if strings.HasPrefix(kv, "PODMAN_SYSTEMD_UNIT=") {
				runs = true
			}
		}
	}
	if !runs {
		return ""
	}
	return strings.TrimSuffix(unit, ".service")
}

// containerFromExec reads the first podman command in ExecStart: runs
// reports whether it runs containers (podmancmd.Command.RunsContainer),
// name is the container it names, "" when it names none or its line
// cannot be read that far (podmancmd.Command.Uncertain).
func containerFromExec(execStart [][]string) (runs bool, name string) {
	for _, args := range execStart {
		if c := podmancmd.Parse(args); c.Podman {
			return c.RunsContainer(), c.Name
		}
	}
	return false, ""
}
