// Package echotest gives tests the echo workload's container image: built
// from a binary with a tag of the test's own, and removed when the test
// ends.
package echotest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/workloads/echo"
)

// Image builds the echo image from binary (socktui-echo, or a binary that
// serves with args such as echo.Subcommand; static or dynamically linked,
// see echo.BuildImage) with Podman under s's environment, tagged
// localhost/socktui-echo-NAME:PID so
// that test processes running side by side do not share it, and removes it
// in t's cleanup. It fails t (skips it outside CI) without Podman.
func Image(t testing.TB, s *sandbox.Sandbox, binary, name string, args ...string) string {
	t.Helper()
	sandboxtest.Need(t, "podman", "podman")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("localhost/socktui-echo-%s:%d", name, os.Getpid())
	if err := echo.BuildImage(ctx, binary, args, tag, s.Env()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := echo.RemoveImage(context.Background(), tag, s.Env()); err != nil {
			t.Errorf("removing image %s: %v", tag, err)
		}
	})
	return tag
}

// RemoveContainerAtCleanup removes the container name (if any) when t ends,
// whatever happened, so that no container is left in Podman's shared
// storage.
func RemoveContainerAtCleanup(t testing.TB, s *sandbox.Sandbox, name string) {
	t.Cleanup(func() {
		_ = s.Command(context.Background(), "podman", "rm", "-f", "--ignore", name).Run()
	})
}
