package echotest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
)

// ImageIn is Image for a sandbox of either mode. For a rootless sandbox
// (s.User set) the image must be in the storage of the sandbox's user: it
// is built with echo.BuildImage by root's Podman (the same recipe), saved to
// an archive and loaded by the user's (`podman load`, run as the user), and
// root's copy is removed at once. The user's copy goes with the user's home
// when the sandbox closes; it is also removed in t's cleanup.
func ImageIn(t testing.TB, s *sandbox.Sandbox, binary, name string, args ...string) string {
	t.Helper()
	if s.User == nil {
		return Image(t, s, binary, name, args...)
	}
	sandboxtest.Need(t, "podman", "podman")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("localhost/socktui-echo-%s:%d", name, os.Getpid())
	rootEnv := append(os.Environ(), "CONTAINERS_CONF="+s.ContainersConfPath)
	if err := echo.BuildImage(ctx, binary, args, tag, rootEnv); err != nil {
		t.Fatal(err)
	}
	defer echo.RemoveImage(context.Background(), tag, rootEnv)
	archive := filepath.Join(s.Home, "socktui-echo-image.tar")
	save := exec.CommandContext(ctx, "podman", "save", "-o", archive, tag)
	save.Env = rootEnv
	if out, err := save.CombinedOutput(); err != nil {
		t.Fatalf("podman save %s: %v\n%s", tag, err, out)
	}
	defer os.Remove(archive)
	if err := os.Chown(archive, s.User.UID, s.User.GID); err != nil {
		t.Fatal(err)
	}
	if out, err := Podman(ctx, s, "load", "-q", "-i", archive).CombinedOutput(); err != nil {
		t.Fatalf("podman load as %s: %v\n%s", s.User.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := Podman(context.Background(), s, "rmi", "--ignore", tag).CombinedOutput(); err != nil {
			t.Errorf("removing image %s of %s: %v\n%s", tag, s.User.Name, err, out)
		}
	})
	return tag
}

// Podman is `podman ARGS` as a client of s: as its user in rootless mode
// (s.Command), with s's environment.
func Podman(ctx context.Context, s *sandbox.Sandbox, args ...string) *exec.Cmd {
	return s.Command(ctx, "podman", args...)
}

// RemoveContainerIn is RemoveContainerAtCleanup for a sandbox of either
// mode: the container is removed from the storage of s's user.
func RemoveContainerIn(t testing.TB, s *sandbox.Sandbox, name string) {
	t.Cleanup(func() { _ = Podman(context.Background(), s, "rm", "-f", "--ignore", name).Run() })
}

// WaitContainerGone waits up to a minute until s's Podman has no container
// name, failing t after that.
func WaitContainerGone(t testing.TB, s *sandbox.Sandbox, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := Podman(context.Background(), s, "container", "exists", name).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still exists after a minute (podman container exists: %v %s)",
				name, err, strings.TrimSpace(string(out)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
