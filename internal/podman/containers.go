package podman

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// ContainerExists reports whether Podman has a container named name
// (`podman container exists`: exit 0 present, 1 absent, else an error).
func (p Podman) ContainerExists(ctx context.Context, name string) (bool, error) {
	_, err := p.Run(ctx, "container", "exists", "--", name)
	switch {
	case err == nil:
		return true, nil
	case ExitCode(err) == 1:
		return false, nil
	}
	return false, err
}

// RemoveContainer removes the container named name, running or not; a
// container that does not exist is no error (`podman rm -f --ignore`).
func (p Podman) RemoveContainer(ctx context.Context, name string) error {
	_, err := p.Run(ctx, "rm", "-f", "--ignore", "-t", "5", "--", name)
	return err
}

// maxProgressLine bounds one line of podman pull's progress that Pull
// passes on.
const maxProgressLine = 512

// Pull pulls image into local storage, calling progress with each line
// podman prints about it (at most maxProgressLine bytes each; podman
// writes its progress to standard error), and returns when the pull is
// done.
func (p Podman) Pull(ctx context.Context, image string, progress func(line string)) error {
	if p.Path == "" {
		return ErrNotInstalled
	}
	cmd := exec.CommandContext(ctx, p.Path, "pull", "--", image)
	cmd.Env = p.Env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	stdout := &limitedBuffer{max: 4 << 10}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("podman pull %s: %w", image, err)
	}
	var last string
	r := bufio.NewReaderSize(stderr, maxProgressLine)
	for {
		line, err := readLine(r)
		if line != "" {
			last = line
			if progress != nil {
				progress(line)
			}
		}
		if err != nil {
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("podman pull %s: %w: %s", image, err, last)
	}
	return nil
}

// readLine reads one line, cut to the reader's buffer: the rest of a longer
// line is dropped.
func readLine(r *bufio.Reader) (string, error) {
	line, isPrefix, err := r.ReadLine()
	s := strings.TrimSpace(string(line))
	for isPrefix && err == nil {
		_, isPrefix, err = r.ReadLine()
	}
	if err == io.EOF && s != "" {
		err = nil
	}
	return s, err
}
