package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindEchoBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, EchoBinaryName)
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findEchoBinary(bin); err != nil || got != bin {
		t.Errorf("findEchoBinary(%q) = %q, %v", bin, got, err)
	}
	if _, err := findEchoBinary(filepath.Join(dir, "missing")); err == nil {
		t.Error("findEchoBinary of a missing file succeeded")
	}
	t.Setenv("PATH", dir)
	if got, err := findEchoBinary(""); err != nil || got != bin {
		t.Errorf("findEchoBinary from PATH = %q, %v; want %q", got, err, bin)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := findEchoBinary(""); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("findEchoBinary with none anywhere = %v, want advice to run make build", err)
	}
}
