package echo

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Containerfile is the image's recipe: FROM scratch, the static binary, a
// non-root user.
//
//go:embed Containerfile
var Containerfile string

// BuildImage builds the echo image from binary (a static socktui-echo, see
// `make build`) and tags it tag (DefaultImage when empty), with `podman
// build --pull=never`: no registry is needed. env is podman's environment
// (a sandbox's Env, so that its CONTAINERS_CONF applies); nil means this
// process's.
func BuildImage(ctx context.Context, binary, tag string, env []string) error {
	if tag == "" {
		tag = DefaultImage
	}
	dir, err := os.MkdirTemp("", "socktui-echo-image-")
	if err != nil {
		return fmt.Errorf("building image %s: %w", tag, err)
	}
	defer os.RemoveAll(dir)
	if err := copyExecutable(binary, filepath.Join(dir, "socktui-echo")); err != nil {
		return fmt.Errorf("building image %s: %w", tag, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(Containerfile), 0o644); err != nil {
		return fmt.Errorf("building image %s: %w", tag, err)
	}
	_, err = podman(ctx, env, "build", "--pull=never", "--quiet", "-t", tag, "-f", filepath.Join(dir, "Containerfile"), dir)
	if err != nil {
		return fmt.Errorf("building image %s: %w", tag, err)
	}
	return nil
}

// ImageExists reports whether Podman has the image tag locally.
func ImageExists(ctx context.Context, tag string, env []string) (bool, error) {
	_, err := podman(ctx, env, "image", "exists", tag)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, nil
	}
	return false, fmt.Errorf("looking up image %s: %w", tag, err)
}

// RemoveImage removes the image tag; an image that does not exist is not an
// error.
func RemoveImage(ctx context.Context, tag string, env []string) error {
	if _, err := podman(ctx, env, "rmi", "--ignore", tag); err != nil {
		return fmt.Errorf("removing image %s: %w", tag, err)
	}
	return nil
}

// podman runs podman with args and returns its standard output; a failure's
// error carries its standard error.
func podman(ctx context.Context, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("podman %s: %w: %s", args[0], err, msg)
		}
		return nil, fmt.Errorf("podman %s: %w", args[0], err)
	}
	return stdout.Bytes(), nil
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
