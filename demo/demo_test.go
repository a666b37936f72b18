package demo

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// Transient must carry every field of the echo units: a field dropped here
// would silently change what the demo runs.
func TestTransientCarriesEveryField(t *testing.T) {
	u, err := echo.Spec{Name: Name, Mode: echo.ModeContainer, Port: 3100, UnixDir: "/run/x", VsockPort: 3100,
		RuntimeDir: "/run/x", IdleExit: time.Second}.Units()
	if err != nil {
		t.Fatal(err)
	}
	u.KillMode = "mixed" // not set by the spec: make sure it passes too
	got := Transient(u)
	want := unit.SocketSpec{
		Name:         "socktui-echo.socket",
		Description:  u.Description,
		RemoveOnStop: true,
		Service: unit.ServiceSpec{
			Name: "socktui-echo.service", Description: u.Description,
			ExecStartPre: u.ExecStartPre, ExecStart: u.ExecStart, ExecStop: u.ExecStop, ExecStopPost: u.ExecStopPost,
			Type: "notify", NotifyAccess: "all", KillMode: "mixed", Environment: u.Environment,
			TimeoutStopSec: u.TimeoutStopSec,
		},
	}
	for _, l := range u.Listen {
		want.Listen = append(want.Listen, unit.Listen{Type: l.Type, Address: l.Address})
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Transient =\n%+v\nwant\n%+v", got, want)
	}
	// Both structs grow together: count the fields we map.
	if n := reflect.TypeOf(echo.Units{}).NumField(); n != 14 {
		t.Errorf("echo.Units has %d fields; update Transient and this test", n)
	}
}

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
