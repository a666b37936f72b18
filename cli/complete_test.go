package cli

import (
	"bufio"
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

// echo-server runs the bundled echo workload in this process, with its own
// flags: it echoes on the sockets named with --listen until its context
// ends, then exits 0; its bad flags exit 2 and its help goes to stderr.
func TestEchoServerEchoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, out, errOut := testEnv()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, env, []string{"echo-server", "--listen", "unix:" + path, "--idle-exit", "0"}) }()

	var c net.Conn
	for deadline := time.Now().Add(time.Minute); ; {
		var err error
		if c, err = net.Dial("unix", path); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("echo-server exited %d before listening: %s", code, errOut)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("echo-server does not listen on %s: %v", path, err)
		}
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello socktui\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hello socktui\n" {
		t.Errorf("echo-server answered %q, %v; want the line back", line, err)
	}
	cancel()
	if code := <-done; code != ExitOK || out.Len() > 0 {
		t.Errorf("echo-server after its context ended: exit %d, stdout %q; want 0 and nothing (stderr %q)", code, out, errOut)
	}

	for _, tt := range []struct {
		args []string
		code int
	}{{[]string{"--bogus"}, 2}, {[]string{"--help"}, 0}} {
		env, out, errOut := testEnv()
		args := append([]string{"echo-server"}, tt.args...)
		if code := Run(context.Background(), env, args); code != tt.code || out.Len() > 0 || !strings.Contains(errOut.String(), "socktui-echo") {
			t.Errorf("socktui %q: exit %d, stdout %q, stderr %q; want %d and the workload's message on stderr", args, code, out, errOut, tt.code)
		}
	}
}
