package testbin

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestReapStaleRemovesOnlyDeadProcessesFolders(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	// 4194305 is above the kernel's pid_max limit: never a live process.
	dead := filepath.Join(os.TempDir(), "socktui-testbin-4194305")
	live := filepath.Join(os.TempDir(), "socktui-testbin-"+strconv.Itoa(os.Getppid()))
	other := filepath.Join(os.TempDir(), "socktui-testbin-notapid")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reapStale()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("%s of a dead process survived (%v)", dead, err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
