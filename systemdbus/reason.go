package systemdbus

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// podmanRunFailed is podman run's exit status when podman itself could not
// start the container (a missing image, a bad option, a name conflict), as
// opposed to the container's command failing.
const podmanRunFailed = 125

// cldExited is the ExecStart Code of a command that exited (CLD_EXITED).
const cldExited = 1

// imageExistsFunc reports whether a container image is in local storage.
type imageExistsFunc func(ctx context.Context, image string) (bool, error)

// podmanImageExists runs `podman image exists IMAGE` with the podman in
// PATH — never the program a unit names: a unit must not be able to make
// socktui run a binary of its choosing. Exit 0 means present, 1 absent,
// anything else is an error.
func podmanImageExists(ctx context.Context, image string) (bool, error) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		return false, err
	}
	err = exec.CommandContext(ctx, podman, "image", "exists", image).Run()
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false, nil
	}
	return false, fmt.Errorf("podman image exists %s: %w", image, err)
}

// explainFailure says in words why a failed service that runs a Podman
// container failed, or "" when nothing more than its Result can be told.
// It looks at the last exit status of the podman command in ExecStart: 125
// means podman could not start the container; then, when the image named
// on the command line is not in local storage, the image is the reason.
// A check that fails or takes over 5 s leaves the reason at "podman could
// not start the container".
func explainFailure(ctx context.Context, exists imageExistsFunc, cmds []execCommand) string {
	for _, c := range cmds {
		args := c.Args
		if len(args) == 0 {
			args = []string{c.Path}
		}
		if filepath.Base(args[0]) != "podman" {
			continue
		}
		if c.Code != cldExited || c.Status != podmanRunFailed {
			return ""
		}
		why := fmt.Sprintf("podman exited %d: it could not start the container", podmanRunFailed)
		image, pullNever := podmanRunImage(args[1:])
		if image == "" || exists == nil {
			return why
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ok, err := exists(cctx, image)
		switch {
		case err != nil || ok:
			return why
		case pullNever:
			return fmt.Sprintf("image %s is not in local storage and the service runs it with --pull=never: build or pull it, then reset-failed", image)
		default:
			return fmt.Sprintf("image %s is not in local storage and podman could not pull it", image)
		}
	}
	return ""
}

// podmanRunValueFlags are podman run/create flags that take their value as
// the next argument, so that the value is not taken for the image.
var podmanRunValueFlags = map[string]bool{
	"--name": true, "-v": true, "--volume": true, "-p": true, "--publish": true, "-e": true, "--env": true,
	"--env-file": true, "--network": true, "--net": true, "-l": true, "--label": true, "--label-file": true,
	"--mount": true, "-u": true, "--user": true, "-w": true, "--workdir": true, "--entrypoint": true,
	"--cidfile": true, "--pod": true, "-h": true, "--hostname": true, "--device": true, "--restart": true,
	"--pull": true, "--log-driver": true, "--log-opt": true, "--sdnotify": true, "--cgroups": true,
	"--security-opt": true, "--cap-add": true, "--cap-drop": true, "-m": true, "--memory": true,
	"--cpus": true, "--ulimit": true, "--tmpfs": true, "--add-host": true, "--dns": true, "--secret": true,
	"--annotation": true, "--userns": true, "--uts": true, "--ipc": true, "--pid": true,
	"--stop-signal": true, "--stop-timeout": true, "--health-cmd": true, "--tz": true, "--platform": true,
	"--arch": true, "--os": true, "--variant": true, "--authfile": true, "--creds": true, "--ip": true,
	"--ip6": true, "--mac-address": true, "--group-add": true, "--expose": true, "--shm-size": true,
	"--uidmap": true, "--gidmap": true, "--conmon-pidfile": true, "--pidfile": true, "--requires": true,
	"--hooks-dir": true, "--init-path": true, "--cgroup-parent": true, "--cgroupns": true, "--timeout": true,
	"--image-volume": true, "--systemd": true, "--preserve-fds": true, "--cpu-shares": true, "-c": true,
}

// podmanRunImage finds the image of a `podman [global flags] [container]
// run|create ...` command (args without argv[0]) and whether it runs with
// --pull=never; image is "" for any other podman command, or when a flag
// the tables do not know makes the image uncertain.
func podmanRunImage(args []string) (image string, pullNever bool) {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if podmanValueFlags[args[i]] && !strings.Contains(args[i], "=") {
			i++
		}
		i++
	}
	if i < len(args) && args[i] == "container" {
		i++
	}
	if i >= len(args) || (args[i] != "run" && args[i] != "create") {
		return "", false
	}
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			if j+1 < len(rest) {
				return rest[j+1], pullNever
			}
			return "", false
		}
		if !strings.HasPrefix(a, "-") {
			return a, pullNever
		}
		name, value, hasValue := strings.Cut(a, "=")
		if !hasValue && podmanRunValueFlags[name] {
			j++
			if j < len(rest) {
				value = rest[j]
			}
		} else if !hasValue && strings.HasPrefix(name, "--") && !podmanRunBoolFlags[name] {
			// An unknown long flag: its value may be the next word.
			return "", false
		}
		if name == "--pull" {
			pullNever = value == "never"
		}
	}
	return "", false
}

// podmanRunBoolFlags are the long podman run flags without a value that
// socktui knows of; with a value they are written --flag=value.
var podmanRunBoolFlags = map[string]bool{
	"--rm": true, "--replace": true, "--detach": true, "--interactive": true, "--tty": true, "--init": true,
	"--privileged": true, "--read-only": true, "--read-only-tmpfs": true, "--rootfs": true, "--quiet": true,
	"--no-hosts": true, "--no-healthcheck": true, "--oom-kill-disable": true, "--http-proxy": true,
	"--env-host": true, "--sig-proxy": true, "--publish-all": true, "--tls-verify": true,
}

// explain reads the ExecStart of a service that just failed and returns
// the reason that can be told at once (podman's exit status). When the
// image check can tell more, it runs in the background and its reason
// reaches follow through w.finer. It returns an error only when the
// connection failed; a D-Bus error reply gives no reason.
func (w *watcher) explain(unit string) (string, error) {
	var v dbus.Variant
	err := w.s.object(unitPath(unit)).CallWithContext(w.ctx, propsIface+".Get", 0, serviceIface, "ExecStart").Store(&v)
	if err != nil {
		if isDBusError(err) {
			return "", nil
		}
		return "", fmt.Errorf("systemdbus: reading %s's ExecStart: %w", unit, explain(err, "", ""))
	}
	var cmds []execCommand
	if err := v.Store(&cmds); err != nil {
		return "", nil
	}
	if !podmanExited(cmds) {
		// The service is already starting again (a socket retriggers at
		// once): the status read is the new run's. Keep the last reason.
		return w.reasons[unit], nil
	}
	w.failures[unit]++
	r := explainFailure(w.ctx, nil, cmds)
	w.reasons[unit] = r
	if r != "" && w.imageExists != nil {
		f := finerReason{name: unit, failure: w.failures[unit]}
		go func() {
			f.reason = explainFailure(w.ctx, w.imageExists, cmds)
			if f.reason == r {
				return
			}
			select {
			case w.finer <- f:
			case <-w.ctx.Done():
			}
		}()
	}
	return r, nil
}

// podmanExited reports whether the podman command in cmds has exited in
// the run they describe.
func podmanExited(cmds []execCommand) bool {
	for _, c := range cmds {
		args := c.Args
		if len(args) == 0 {
			args = []string{c.Path}
		}
		if filepath.Base(args[0]) == "podman" {
			return c.Exit != 0 || c.Code != 0
		}
	}
	return true
}
