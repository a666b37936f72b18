package echo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/socktui/socktui/internal/elfdeps"
)

// BuildImage builds the echo image from binary and tags it tag
// (DefaultImage when empty), with `podman build --pull=never`: no registry
// is needed. The image runs binary with args before the server's flags:
// {Subcommand} for socktui, none for socktui-echo.
//
// A static binary is all the FROM scratch image holds. A dynamically
// linked one — socktui as `go install` builds it wherever gcc is
// installed, cgo then being on — also gets its ELF interpreter and the
// shared libraries it needs, transitively, copied from this host to the
// paths the loader looks in (see package elfdeps), with LD_LIBRARY_PATH
// naming their folders. env is podman's environment (a sandbox's Env, so
// that its CONTAINERS_CONF applies); nil means this process's.
func BuildImage(ctx context.Context, binary string, args []string, tag string, env []string) error {
	if tag == "" {
		tag = DefaultImage
	}
	fail := func(err error) error { return fmt.Errorf("building image %s from %s: %w", tag, binary, err) }
	dir, err := os.MkdirTemp("", "socktui-echo-image-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	files, err := elfdeps.Needs(binary)
	if err != nil {
		return fail(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	entry := "/" + filepath.Base(binary)
	if err := elfdeps.CopyFile(binary, filepath.Join(rootfs, entry)); err != nil {
		return fail(err)
	}
	var libDirs []string
	for i, f := range files {
		if err := elfdeps.CopyFile(f.Source, filepath.Join(rootfs, f.Path)); err != nil {
			return fail(err)
		}
		if d := filepath.Dir(f.Path); i > 0 && !slices.Contains(libDirs, d) { // files[0] is the interpreter
			libDirs = append(libDirs, d)
		}
	}
	cf := containerfile(append([]string{entry}, args...), libDirs)
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(cf), 0o644); err != nil {
		return fail(err)
	}
	// --layers=false: no intermediate images, which buildah's known race
	// with builds and removals running at once (buildah#5674: "layer not
	// known", seen here while tests built images in parallel) needs.
	if _, err = podman(ctx, env, "build", "--pull=never", "--layers=false", "--quiet", "-t", tag, "-f", filepath.Join(dir, "Containerfile"), dir); err != nil {
		return fail(err)
	}
	return nil
}

// ImageTag is the tag BuildImage should give the image of binary run with
// args: DefaultImage's repository with a digest of the binary, the
// arguments and the recipe, so that an image built from another socktui
// (Podman's storage is shared by every manager and sandbox of the user)
// is never taken for this one's.
func ImageTag(binary string, args []string) (string, error) {
	f, err := os.Open(binary)
	if err != nil {
		return "", fmt.Errorf("naming the echo image: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("naming the echo image: %w", err)
	}
	fmt.Fprintf(h, "\x00%q\x00%s", args, containerfile(append([]string{"/" + filepath.Base(binary)}, args...), nil))
	repo, _, _ := strings.Cut(DefaultImage, ":")
	return fmt.Sprintf("%s:%x", repo, h.Sum(nil)[:8]), nil
}

// containerfile is the image's recipe: FROM scratch, the binary (and what
// a dynamic one needs, in rootfs/), a non-root user, and entry as the
// entrypoint. The services run it with --pull=never --network=none and
// pass its sockets by systemd socket activation.
func containerfile(entry []string, libDirs []string) string {
	ep, _ := json.Marshal(entry) // strings always encode
	var b strings.Builder
	b.WriteString("# socktui's echo workload, built by echo.BuildImage.\nFROM scratch\nCOPY rootfs/ /\n")
	if len(libDirs) > 0 {
		// The loader finds the libraries whatever the binary's RUNPATH
		// says: the binary is no longer where it was built.
		fmt.Fprintf(&b, "ENV LD_LIBRARY_PATH=%s\n", strings.Join(libDirs, ":"))
	}
	fmt.Fprintf(&b, "USER 65534:65534\nENTRYPOINT %s\n", ep)
	return b.String()
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
	cmd := exec.CommandContext(ctx, podmanIn(env), args...)
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

// podmanIn is the podman that env's PATH finds first (a sandbox of another
// stack puts its own there, sandbox.Sandbox.BinDir), else the one of this
// process's PATH.
func podmanIn(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		path, ok := strings.CutPrefix(env[i], "PATH=")
		if !ok {
			continue
		}
		for _, d := range filepath.SplitList(path) {
			p := filepath.Join(d, "podman")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
		break
	}
	return "podman"
}
