package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// manager is the process a sandbox (Sandbox or System) starts: the shell
// that becomes its systemd. The sandboxes embed it, so that starting,
// waiting for and stopping the manager are written once.
type manager struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
}

// start starts cmd, whose shell waits for "go" on gate (its fd 3, see
// release), closes gate here, waits for cmd in the background (closing
// exited) and records this process and cmd in dir's owner file, which
// ReapStale reads. On an error from cmd.Start, m.cmd stays nil and nothing
// runs; on a later error the manager runs and the caller must close it.
func (m *manager) start(cmd *exec.Cmd, gate *os.File, dir string) error {
	m.exited = make(chan struct{})
	cmd.ExtraFiles = []*os.File{gate}
	err := cmd.Start()
	gate.Close()
	if err != nil {
		return err
	}
	m.cmd = cmd
	go func() { _ = cmd.Wait(); close(m.exited) }()
	return os.WriteFile(filepath.Join(dir, "owner"),
		fmt.Appendf(nil, "%d %d\n", os.Getpid(), cmd.Process.Pid), 0o644)
}

// release tells the manager's shell, waiting on the other end of w, to go
// on.
func release(w *os.File) error {
	_, err := w.Write([]byte("go\n"))
	return err
}

// waitReady calls ready every 5 ms until it reports true or fails. It fails
// when the manager exits first ("NAME exited during DURING"), or when ctx
// or timeout end first ("NAME did not STAGE within"): ready updates stage
// as it gets further.
func (m *manager) waitReady(ctx context.Context, timeout time.Duration, name, during, stage string,
	ready func(ctx context.Context, stage *string) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok, err := ready(ctx, &stage); err != nil {
			return err
		} else if ok {
			return nil
		}
		select {
		case <-m.exited:
			return fmt.Errorf("%s exited during %s (%v)", name, during, m.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("%s did not %s within %v: %w", name, stage, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// stop sends the manager sig and waits for it to exit; after ten seconds it
// calls kill and waits again. It does nothing when the manager never
// started.
func (m *manager) stop(sig os.Signal, kill func(*os.Process)) {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		kill(m.cmd.Process)
		<-m.exited
	}
}

// logTail is the end of a manager's log for an error message: "" or
// "; manager log:\n" and the log.
func logTail(log string) string {
	if log == "" {
		return ""
	}
	return "; manager log:\n" + log
}

// defaultReadyTimeout bounds a manager's start when the options leave it
// zero (see Options.ReadyTimeout).
const defaultReadyTimeout = 30 * time.Second

// newSandboxDir reaps the stale sandboxes under tempDir (os.TempDir() when
// empty, see ReapStale) and makes a new sandbox folder there, named prefix
// and a random suffix.
func newSandboxDir(tempDir, prefix string) (string, error) {
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	ReapStale(tempDir)
	dir, err := os.MkdirTemp(tempDir, prefix+"*")
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	return dir, nil
}
