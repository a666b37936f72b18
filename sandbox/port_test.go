package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFreePortReservesAcrossCalls(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || p < portLow || p > portHigh {
			t.Fatalf("port %d handed out twice or outside %d-%d", p, portLow, portHigh)
		}
		seen[p] = true
		b, err := os.ReadFile(filepath.Join(os.TempDir(), "socktui-ports", strconv.Itoa(p)))
		if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
			t.Fatalf("port %d: reservation %q, %v; want this process's PID", p, b, err)
		}
	}
	// A reservation of a process that is gone is taken over.
	dir := filepath.Join(os.TempDir(), "socktui-ports")
	path := filepath.Join(dir, "20000")
	os.Remove(path)
	if err := os.WriteFile(path, []byte("2147483646\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !reserve(dir, 20000) {
		t.Fatal("a dead process's reservation was not taken over")
	}
	if reserve(dir, 20000) {
		t.Fatal("a reservation of this process was handed out again")
	}
	os.Remove(path)
}
