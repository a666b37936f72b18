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

// Pull pulls image into local storage, calling progress (when not nil)
// with each line podman prints about it, as scanProgress cuts them, and
// returns when the pull is done. Podman writes its progress to standard
// error; its standard output (the image ID) is read, at most 4 KiB, and
// dropped. A failed pull's error ends with podman's last line.
//
// Pull always asks the registry (podman pull's policy is always): a
// caller that wants --pull=missing checks ImageExists first.
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
	cmd.Stdout = &limitedBuffer{max: 4 << 10}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("podman pull %s: %w", image, err)
	}
	last := scanProgress(stderr, maxProgressLine, progress)
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if last != "" {
			return fmt.Errorf("podman pull %s: %w: %s", image, err, last)
		}
		return fmt.Errorf("podman pull %s: %w", image, err)
	}
	return nil
}

// scanProgress reads r to its end and calls progress (when not nil) with
// each line of it, a line ending at a newline or a carriage return (a
// terminal's progress bar redraws its line after one), trimmed of blanks,
// blank lines left out, and cut to max bytes (the rest of a longer line is
// dropped, and a character cut in two with it). It returns the last line.
// It holds at most max bytes of r at a time.
func scanProgress(r io.Reader, max int, progress func(line string)) (last string) {
	br := bufio.NewReader(r)
	line := make([]byte, 0, max)
	emit := func() {
		s := strings.TrimSpace(strings.ToValidUTF8(string(line), ""))
		line = line[:0]
		if s == "" {
			return
		}
		last = s
		if progress != nil {
			progress(s)
		}
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			emit()
			return last
		}
		switch {
		case b == '\n' || b == '\r':
			emit()
		case len(line) < max:
			line = append(line, b)
		}
	}
}
