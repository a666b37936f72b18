package systemdbus

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/internal/podmancmd"
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
		if !podmancmd.IsPodman(args[0]) {
			continue
		}
		if c.Code != cldExited || c.Status != podmanRunFailed {
			return ""
		}
		why := fmt.Sprintf("podman exited %d: it could not start the container", podmanRunFailed)
		// The image of run or create; "" for another command, and when
		// the line cannot be read to its image (podmancmd's Uncertain).
		run := podmancmd.Parse(args)
		if run.Image == "" || run.Rootfs || exists == nil {
			return why
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ok, err := exists(cctx, run.Image)
		switch {
		case err != nil || ok:
			return why
		case run.Pull == podmancmd.PullNever:
			return fmt.Sprintf("image %s is not in local storage and the service runs it with --pull=never: build or pull it, then reset-failed", run.Image)
		default:
			return fmt.Sprintf("image %s is not in local storage and podman could not pull it", run.Image)
		}
	}
	return ""
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
		if podmancmd.IsPodman(args[0]) {
			return c.Exit != 0 || c.Code != 0
		}
	}
	return true
}
