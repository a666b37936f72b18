package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the program writes to tty, the
// test reads what it wrote from ptmx.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

func TestEncodeJSONIndentsOnlyForATerminal(t *testing.T) {
	v := []map[string]any{{"unit": "a.socket", "listen": []string{"x"}}}

	var piped bytes.Buffer
	if err := encodeJSON(&piped, v); err != nil {
		t.Fatal(err)
	}
	if got, want := piped.String(), `[{"listen":["x"],"unit":"a.socket"}]`+"\n"; got != want {
		t.Errorf("to a pipe: %q, want one line %q", got, want)
	}

	ptmx, tty := openPTY(t)
	if err := encodeJSON(tty, v); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	out, _ := io.ReadAll(io.LimitReader(ptmx, 4096))
	// The terminal turns \n into \r\n.
	if got := strings.ReplaceAll(string(out), "\r\n", "\n"); !strings.Contains(got, "[\n  {\n    \"listen\": [\n") {
		t.Errorf("to a terminal: %q, want it indented", got)
	}
}
