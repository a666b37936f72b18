// Package testbin builds the project's binaries for tests that run them for
// real: Build makes static ones once per test process (socktui, whose
// hidden echo-server subcommand is the demo's workload, and the standalone
// socktui-echo the workload's own measurements use); Install makes socktui
// as a user's `go install` does.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// Build compiles the main package pkg (an import path below the module, such
// as "cmd/socktui") as a static binary (CGO_ENABLED=0) and returns its path.
// It builds each package at most once per test process; the binaries live in
// os.TempDir()/socktui-testbin-PID, removed by Cleanup or, once the process
// is gone, by the next test process's first Build.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if dir == "" {
		reapStale()
		d := filepath.Join(os.TempDir(), fmt.Sprintf("socktui-testbin-%d", os.Getpid()))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	root := moduleRoot(t)
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// Install runs `go install ./PKG` (pkg an import path below the module, such
// as "cmd/socktui") as a user on a fresh machine does, and returns the
// installed binary's path: into an empty GOBIN of t's own (t.TempDir),
// with this process's environment as it is (its GOFLAGS, GOCACHE and
// CGO_ENABLED: `go install` links with cgo wherever gcc is installed, so
// the binary may be dynamically linked). Unlike Build it forces nothing and
// builds on every call.
func Install(t testing.TB, pkg string) string {
	t.Helper()
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "./"+pkg)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install ./%s: %v\n%s", pkg, err, b)
	}
	ents, err := os.ReadDir(gobin)
	if err != nil || len(ents) != 1 {
		t.Fatalf("go install ./%s left %v in GOBIN %s, want one binary (%v)", pkg, ents, gobin, err)
	}
	return filepath.Join(gobin, ents[0].Name())
}

// reapStale removes the folders of test processes that are gone: a package
// without a TestMain calling Cleanup leaves its folder behind, and the next
// Build anywhere removes it.
func reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "socktui-testbin-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "socktui-testbin-"))
		if err != nil || pid == os.Getpid() {
			// Not ours to judge (an older naming): leave it.
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

// Cleanup removes the built binaries; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir = ""
		built = map[string]string{}
	}
}

func moduleRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testbin: cannot find its own source file")
	}
	// This file is <root>/internal/testbin/testbin.go.
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("testbin: no go.mod at %s", root)
	}
	return strings.TrimSuffix(root, "/")
}
