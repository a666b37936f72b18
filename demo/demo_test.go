package demo

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/socktui/socktui/workloads/echo"
)

// The echo server is the running executable's subcommand, unless a
// standalone one is named.
func TestEchoServer(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, args, err := (&Session{}).echoServer()
	if err != nil || bin != self || !slices.Equal(args, []string{echo.Subcommand}) {
		t.Errorf("echoServer() = %q %q, %v; want %q [%s]", bin, args, err, self, echo.Subcommand)
	}

	dir := t.TempDir()
	standalone := filepath.Join(dir, "socktui-echo")
	if err := os.WriteFile(standalone, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	bin, args, err = (&Session{opts: Options{EchoBinary: "socktui-echo"}}).echoServer()
	if err != nil || bin != standalone || args != nil {
		t.Errorf("echoServer() with EchoBinary = %q %q, %v; want %q alone", bin, args, err, standalone)
	}
	if _, _, err := (&Session{opts: Options{EchoBinary: "missing"}}).echoServer(); err == nil {
		t.Error("echoServer() with a missing EchoBinary succeeded")
	}
}
