package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// manager is the process a sandbox (Sandbox or System) starts: the shell
// that becomes its systemd. The sandboxes embed it, so that starting,
// waiting for and stopping the manager are written once.
type manager struct {
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd has been waited for
	closing  sync.Once
	closeErr error
}

// closeOnce runs close on the first call only; every call returns its
// result.
func (m *manager) closeOnce(close func() error) error {
	m.closing.Do(func() { m.closeErr = close() })
	return m.closeErr
}

// managerLog is the file in the sandbox folder that the manager's shell
// writes its stdout and stderr to.
const managerLog = "manager.log"

// start starts cmd, the shell that becomes the manager of the sandbox in
// dir, with its stdout and stderr appended to dir's managerLog and a pipe
// as its fd 3, on which the shell waits for "go" (see waitReady); it returns
// that pipe's write end, which the caller closes. It waits for cmd in the
// background (closing exited) and records this process and cmd in dir's
// owner file, which ReapStale reads. On an error it returns no pipe (a
// shell already started reads EOF and exits), and the caller closes the
// sandbox, which works whether or not the manager started.
func (m *manager) start(cmd *exec.Cmd, dir string) (*os.File, error) {
	m.exited = make(chan struct{})
	logf, err := os.OpenFile(filepath.Join(dir, managerLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	gate, goAhead, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{gate}
	err = cmd.Start()
	gate.Close()
	if err != nil {
		goAhead.Close()
		return nil, err
	}
	m.cmd = cmd
	go func() { _ = cmd.Wait(); close(m.exited) }()
	if err := os.WriteFile(filepath.Join(dir, "owner"),
		fmt.Appendf(nil, "%d %d\n", os.Getpid(), cmd.Process.Pid), 0o644); err != nil {
		goAhead.Close()
		return nil, err
	}
	return goAhead, nil
}

// waitReady tells the manager's shell, waiting on the other end of goAhead
// (see start), to go on, then calls ready every 5 ms until it reports true
// or fails. It fails when the manager exits first ("NAME exited during
// DURING"), or when ctx or timeout (defaultReadyTimeout when zero) end
// first ("NAME did not STAGE within"): ready updates stage as it gets
// further.
func (m *manager) waitReady(ctx context.Context, goAhead *os.File, timeout time.Duration, name, during, stage string,
	ready func(ctx context.Context, stage *string) (bool, error)) error {
	if _, err := goAhead.Write([]byte("go\n")); err != nil {
		return fmt.Errorf("releasing %s: %w", name, err)
	}
	if timeout == 0 {
		timeout = defaultReadyTimeout
	}
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
