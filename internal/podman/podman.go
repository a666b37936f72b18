// Package podman runs the podman command line for socktui's backends: is an
// image in local storage, which images are there, which version is
// installed, what an image runs. It is the one place that runs podman for a
// question (the echo workload's image build and the tests run their own
// commands).
//
// Every call runs the podman found in PATH when the Podman was made, never a
// program a unit names (a unit must not make socktui run a binary of its
// choosing), with its arguments as data, and reads at most MaxOutput bytes
// of its output.
package podman

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// MaxOutput bounds what a call reads of podman's standard output; its
// standard error is cut to 4 KiB.
const MaxOutput = 4 << 20

// ErrNotInstalled is returned when no podman is in PATH.
var ErrNotInstalled = errors.New("podman is not installed")

// Podman runs one podman binary with one environment. The zero value is not
// usable: build it with Find.
type Podman struct {
	// Path is the podman binary.
	Path string
	// Env is podman's environment (CONTAINERS_CONF, XDG_RUNTIME_DIR of the
	// manager whose containers are meant); nil means this process's.
	Env []string
}

// Find looks podman up in PATH; env is its environment (nil: this
// process's).
func Find(env []string) (Podman, error) {
	p, err := exec.LookPath("podman")
	if err != nil {
		return Podman{}, fmt.Errorf("%w (Debian: apt-get install podman)", ErrNotInstalled)
	}
	return Podman{Path: p, Env: env}, nil
}

// limitedBuffer keeps the first max bytes written to it and drops the rest,
// so that a command's output cannot grow without bound. The buffer is a
// field, not embedded: an embedded bytes.Buffer's ReadFrom would let
// io.Copy bypass Write and its bound.
type limitedBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *limitedBuffer) String() string { return b.buf.String() }

// exitError is a podman command that ran and exited non-zero.
type exitError struct {
	args   []string
	code   int
	stderr string
}

func (e *exitError) Error() string {
	msg := fmt.Sprintf("podman %s: exit status %d", strings.Join(e.args, " "), e.code)
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

// Run runs podman with args and returns its standard output, at most
// MaxOutput bytes (a longer output is an error). A non-zero exit is an error
// that carries podman's standard error; ExitCode reads its status.
func (p Podman) Run(ctx context.Context, args ...string) ([]byte, error) {
	if p.Path == "" {
		return nil, ErrNotInstalled
	}
	cmd := exec.CommandContext(ctx, p.Path, args...)
	cmd.Env = p.Env
	stdout := &limitedBuffer{max: MaxOutput}
	stderr := &limitedBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ctx.Err() == nil:
		return nil, &exitError{args: args, code: ee.ExitCode(), stderr: strings.TrimSpace(stderr.String())}
	case err != nil:
		return nil, fmt.Errorf("podman %s: %w", strings.Join(args, " "), err)
	case stdout.truncated:
		return nil, fmt.Errorf("podman %s: output over %d bytes", strings.Join(args, " "), MaxOutput)
	}
	return stdout.Bytes(), nil
}

// ExitCode is the exit status of the podman command behind err, or -1 when
// err is not a podman command's exit.
func ExitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return -1
}

// ImageExists reports whether image is in local storage (`podman image
// exists`: exit 0 present, 1 absent, anything else an error).
func (p Podman) ImageExists(ctx context.Context, image string) (bool, error) {
	_, err := p.Run(ctx, "image", "exists", "--", image)
	switch {
	case err == nil:
		return true, nil
	case ExitCode(err) == 1:
		return false, nil
	}
	return false, err
}

// Images lists the names (REPOSITORY:TAG) of the images in local storage,
// in podman's order; untagged images are left out.
func (p Podman) Images(ctx context.Context) ([]string, error) {
	out, err := p.Run(ctx, "images", "--format", "{{.Repository}}:{{.Tag}}")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "<none>") {
			continue
		}
		names = append(names, l)
	}
	return names, nil
}

// Version is podman's client version ("4.3.1").
func (p Podman) Version(ctx context.Context) (string, error) {
	out, err := p.Run(ctx, "version", "--format", "{{.Client.Version}}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// ImageConfig is what an image runs, from `podman image inspect`.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Labels     map[string]string
	// StopSignal is the image's stop signal, empty when unset.
	StopSignal string
}

// InspectImage reads image's configuration from local storage.
func (p Podman) InspectImage(ctx context.Context, image string) (ImageConfig, error) {
	out, err := p.Run(ctx, "image", "inspect", "--format", "{{json .Config}}", "--", image)
	if err != nil {
		return ImageConfig{}, err
	}
	var c ImageConfig
	if err := json.Unmarshal(bytes.TrimSpace(out), &c); err != nil {
		return ImageConfig{}, fmt.Errorf("podman image inspect %s: %w", image, err)
	}
	return c, nil
}
