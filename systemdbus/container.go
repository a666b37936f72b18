package systemdbus

import (
	"path/filepath"
	"strings"
)

// Container names the Podman container a service runs, or "" when it runs
// none. The name comes from the service's podman command line in ExecStart
// (`podman run ... --name NAME`, `podman start NAME`); a service that runs
// podman without naming its container, or whose environment carries
// PODMAN_SYSTEMD_UNIT (podman generate systemd, Quadlet) without a podman
// ExecStart, is named after its unit without the .service suffix.
//
// execStart holds the argv of each ExecStart command.
func Container(unit string, execStart [][]string, env []string) string {
	podman, name := containerFromExec(execStart)
	if name != "" {
		return name
	}
	if !podman {
		for _, kv := range env {
			if strings.HasPrefix(kv, "PODMAN_SYSTEMD_UNIT=") {
				podman = true
			}
		}
	}
	if !podman {
		return ""
	}
	return strings.TrimSuffix(unit, ".service")
}

// containerFromExec finds a podman command in ExecStart and the container
// it names.
func containerFromExec(execStart [][]string) (podman bool, name string) {
	for _, args := range execStart {
		if len(args) == 0 || filepath.Base(args[0]) != "podman" {
			continue
		}
		return podmanContainerName(args[1:])
	}
	return false, ""
}

// podmanValueFlags are podman's global and run/create flags that take a
// separate value, so that the value is not mistaken for the subcommand or
// the image.
var podmanValueFlags = map[string]bool{
	"--cgroup-manager": true, "--conmon": true, "--connection": true, "-c": true, "--events-backend": true,
	"--identity": true, "--log-level": true, "--network-cmd-path": true, "--root": true, "--runroot": true,
	"--runtime": true, "--storage-driver": true, "--tmpdir": true, "--url": true, "--module": true,
}

// podmanContainerName reads the container name from podman's arguments
// (without argv[0]); runs is false when podman runs no container (podman
// system service, say).
func podmanContainerName(args []string) (runs bool, name string) {
	// Skip global flags up to the subcommand.
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if podmanValueFlags[args[i]] {
			i++
		}
		i++
	}
	if i < len(args) && args[i] == "container" {
		i++
	}
	if i >= len(args) {
		return false, ""
	}
	sub, rest := args[i], args[i+1:]
	switch sub {
	case "run", "create":
		runs = true
		for j := 0; j < len(rest); j++ {
			a := rest[j]
			if a == "--" {
				break
			}
			if v, ok := strings.CutPrefix(a, "--name="); ok {
				return true, v
			}
			if a == "--name" && j+1 < len(rest) {
				return true, rest[j+1]
			}
			if !strings.HasPrefix(a, "-") {
				// The image: flags after it belong to the container's command.
				// A flag value without "=" cannot be told from the image
				// without podman's full flag table; keep looking for --name.
				continue
			}
		}
	case "start", "restart":
		runs = true
		for _, a := range rest {
			if !strings.HasPrefix(a, "-") {
				return true, a
			}
		}
	case "kube", "pod":
		runs = true
	}
	return runs, ""
}
