package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socktui/socktui/unit"
)

// podmanLogs streams `podman logs --timestamps` of container (the fallback
// when no journal is reachable), tagged with its service, into st. The
// container's standard output and error arrive on podman's; a line of
// podman's own (no timestamp, such as "Error: no container ...") is kept
// for the error.
func (r *Reader) podmanLogs(ctx context.Context, t target, container string, q Query, st *stream) error {
	args := []string{"logs", "--timestamps"}
	if q.Lines > 0 {
		args = append(args, "--tail", strconv.Itoa(q.Lines))
	}
	if !q.Since.IsZero() {
		args = append(args, "--since", q.Since.Format(time.RFC3339Nano))
	}
	if q.Follow {
		args = append(args, "--follow")
	}
	args = append(args, "--", container)
	cmd, stdout, stderr, err := startProcess(ctx, r.Podman.Path, r.Podman.Env, args)
	if err != nil {
		return fmt.Errorf("podman logs %s: %w", container, err)
	}
	svc := t.containers[container]
	var mu sync.Mutex
	var own []string
	stopped := false
	read := func(prio int) func([]byte, bool) bool {
		return func(line []byte, cut bool) bool {
			e, ok := parsePodmanLine(line, cut, svc, container, prio)
			if !ok {
				mu.Lock()
				if len(own) < 10 {
					own = append(own, strings.TrimSpace(string(line)))
				}
				mu.Unlock()
				return true
			}
			if !st.add(ctx, e) {
				mu.Lock()
				stopped = true
				mu.Unlock()
				return false
			}
			return true
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		readLines(stderr, MaxLine, read(unit.PriorityErr))
	}()
	readLines(stdout, MaxLine, read(unit.PriorityInfo))
	mu.Lock()
	if stopped {
		_ = cmd.Process.Kill()
	}
	mu.Unlock()
	<-done
	werr := cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case ctx.Err() != nil || stopped:
		return nil
	case werr != nil:
		msg := fmt.Sprintf("podman logs %s: %v", container, werr)
		if len(own) > 0 {
			msg += ": " + strings.Join(own, "; ")
		}
		return errors.New(msg)
	case q.Follow:
		return fmt.Errorf("podman logs %s stopped following", container)
	}
	return nil
}

// parsePodmanLine reads one line of `podman logs --timestamps`: an RFC 3339
// time, a space, the container's line. ok is false for a line without a
// time (podman's own words).
func parsePodmanLine(line []byte, cut bool, svc, container string, prio int) (unit.LogEntry, bool) {
	ts, msg, found := bytes.Cut(line, []byte(" "))
	if !found {
		return unit.LogEntry{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return unit.LogEntry{}, false
	}
	e := unit.LogEntry{Time: at, Unit: svc, Priority: prio, Identifier: container, Message: string(msg)}
	if cut {
		e.Message += " [… line cut: over 64 KiB]"
	}
	return e, true
}
