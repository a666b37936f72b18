package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A manager that takes the connection and never answers must not hang the
// shell: completing unit names gives up after completionTimeout with no
// words, the error directive, and why on stderr, which the shells discard.
func TestCompleteUnitsGivesUpOnASilentManager(t *testing.T) {
	rt := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rt, "systemd"), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(rt, "systemd", "private"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// Take connections and hold them open, silent, until the test ends.
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	var out, errOut bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return rt
		}
		return ""
	}}
	done := make(chan int, 1)
	go func() { done <- Run(context.Background(), env, []string{"__complete", "probe", "so"}) }()
	select {
	case code := <-done:
		if code != ExitOK || out.String() != ":1\n" || !strings.Contains(errOut.String(), "socktui: completing unit names: ") {
			t.Errorf("__complete probe so: exit %d, stdout %q, stderr %q; want 0, :1 (ShellCompDirectiveError) and why", code, out.String(), errOut.String())
		}
	case <-time.After(time.Minute):
		// Not a bound on the time taken: only a guard against hanging.
		t.Fatalf("__complete probe so still waits for a silent manager after a minute (completionTimeout: %v)", completionTimeout)
	}
}
