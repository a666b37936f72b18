package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
)

// payload is hostile text carrying mark: it would retitle the terminal to
// mark (OSC 0, ended by BEL) and clear the screen, once with ESC [ and once
// with the C1 CSI.
func payload(mark string) string { return "\x1b]0;" + mark + "\x07\x1b[2J\u009b2J" }

// shown is how payload(mark) reads once termtext.Clean escaped it.
func shown(mark string) string { return `\x1b]0;` + mark + `\a\x1b[2J\u009b2J` }

// TestHostileOutput installs units whose Description, container name, FIFO
// path and message-queue path carry escape sequences, behind one of them an
// HTTP server whose status line does too, and checks that `socktui list`,
// `socktui probe` (tables and --json) and the UI never hand a raw escape to
// the terminal, while JSON keeps the exact values.
//
// What systemd 252 makes of such unit files (tried): Description=,
// ListenFIFO= and ListenMessageQueue= take raw control bytes as they are and
// do not undo C escapes (a written \x1b stays four characters), while
// ExecStart= undoes them, so the container name is written \x1b there.
func TestHostileOutput(t *testing.T) {
	f := newFixture(t)
	proxyd := ""
	for _, p := range []string{"/lib/systemd/systemd-socket-proxyd", "/usr/lib/systemd/systemd-socket-proxyd"} {
		if _, err := os.Stat(p); err == nil {
			proxyd = p
		}
	}
	if proxyd == "" {
		sandboxtest.Unavailable(t, "systemd-socket-proxyd is not installed (apt-get install systemd)")
	}
	name := uniqueName(t, "hostile")
	ctrSock, httpSock := name+"-ctr.socket", name+"-http.socket"
	desc := "hostile " + payload("pwned-desc") + " end"
	fifo := filepath.Join(t.TempDir(), "fifo-"+payload("pwned-fifo"))
	mq := "/" + name + "-" + payload("pwned-mq")
	ctr := "ctr" + payload("pwned-ctr")
	status := "200 OK " + payload("pwned-status") + " " + strings.Repeat("x", 110)

	f.installUnits(name+"-ctr",
		fmt.Sprintf("[Unit]\nDescription=%s\n[Socket]\nListenFIFO=%s\nListenMessageQueue=%s\nRemoveOnStop=yes\n", desc, fifo, mq),
		"[Service]\nExecStart=/usr/bin/podman run --rm --network=none --name=ctr\\x1b]0;pwned-ctr\\x07\\x1b[2J\\u009b2J localhost/none\n")
	backend := hostileHTTPServer(t, status)
	port := sandboxtest.FreePort(t)
	f.installUnits(name+"-http",
		fmt.Sprintf("[Unit]\nDescription=%s\n[Socket]\nListenStream=127.0.0.1:%d\n", desc, port),
		fmt.Sprintf("[Service]\nExecStart=%s %s\n", proxyd, backend))

	// list --json: the exact values, escaped by the encoder.
	out, errOut, code := f.run(60*time.Second, "list", "--all", "--json", name+"-*")
	if code != 0 {
		t.Fatalf("socktui list --json: exit %d\n%s", code, errOut)
	}
	assertNoRawControls(t, "socktui list --json", out)
	if want := `\u001b]0;pwned-ctr\u0007\u001b[2J`; !strings.Contains(out, want) {
		t.Errorf("socktui list --json lacks %s:\n%s", want, out)
	}
	var socks []unit.Socket
	if err := json.Unmarshal([]byte(out), &socks); err != nil {
		t.Fatalf("socktui list --json: %v\n%s", err, out)
	}
	byUnit := map[string]unit.Socket{}
	for _, s := range socks {
		byUnit[s.Unit] = s
	}
	c, h := byUnit[ctrSock], byUnit[httpSock]
	if c.Description != desc || h.Description != desc {
		t.Errorf("descriptions in list --json: %q and %q, want %q", c.Description, h.Description, desc)
	}
	for _, l := range []unit.Listen{{Type: "FIFO", Address: fifo}, {Type: "MessageQueue", Address: mq}} {
		if !slices.Contains(c.Listen, l) {
			t.Errorf("%s in list --json listens on %q, want %q among them", ctrSock, c.Listen, l)
		}
	}
	if len(c.Services) != 1 || c.Services[0].Container != ctr {
		t.Errorf("%s's services in list --json: %+v, want one running container %q", ctrSock, c.Services, ctr)
	}

	// The list table: escaped, never raw.
	out, errOut, code = f.run(60*time.Second, "list", "--all", name+"-*")
	if code != 0 {
		t.Fatalf("socktui list: exit %d\n%s", code, errOut)
	}
	assertTerminalText(t, "socktui list", out)
	for _, mark := range []string{"pwned-fifo", "pwned-mq", "pwned-ctr"} {
		if !strings.Contains(out, shown(mark)) {
			t.Errorf("socktui list lacks %s:\n%s", shown(mark), out)
		}
	}

	// probe --json first (cold: the proxy starts), then the table (warm).
	out, errOut, code = f.run(120*time.Second, "probe", "--json", "--kind", "http", httpSock, ctrSock)
	if code != 0 {
		t.Errorf("socktui probe --json: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	assertNoRawControls(t, "socktui probe --json", out)
	var results []probe.Result
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("socktui probe --json: %v\n%s", err, out)
	}
	var seen []string
	for _, r := range results {
		seen = append(seen, r.Address)
		if r.Unit == httpSock && (r.Outcome != probe.OK || r.Status != "HTTP/1.1 "+status) {
			t.Errorf("http probe of %s: %s, status %q, error %q; want ok with status %q", r.Address, r.Outcome, r.Status, r.Error, "HTTP/1.1 "+status)
		}
	}
	for _, addr := range []string{fifo, mq, fmt.Sprintf("127.0.0.1:%d", port)} {
		if !slices.Contains(seen, addr) {
			t.Errorf("socktui probe --json has no result for %q; it has %q", addr, seen)
		}
	}

	out, errOut, code = f.run(120*time.Second, "probe", "--kind", "http", httpSock, ctrSock)
	if code != 0 {
		t.Errorf("socktui probe: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	assertTerminalText(t, "socktui probe", out)
	for _, mark := range []string{"pwned-fifo", "pwned-mq"} {
		if !strings.Contains(out, shown(mark)) {
			t.Errorf("socktui probe lacks %s:\n%s", shown(mark), out)
		}
	}
	lines := strings.Split(out, "\n")
	col := utf8.RuneCountInString(lines[0][:max(strings.Index(lines[0], "DETAIL"), 0)])
	var detail string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, httpSock) {
			detail = string([]rune(l)[min(col, utf8.RuneCountInString(l)):])
		}
	}
	if !strings.HasPrefix(detail, "HTTP/1.1 200 OK "+shown("pwned-status")) ||
		utf8.RuneCountInString(detail) != 120 || !strings.HasSuffix(detail, "…") {
		t.Errorf("DETAIL of the http probe = %q (%d runes), want the escaped status cut to 120 runes:\n%s",
			detail, utf8.RuneCountInString(detail), out)
	}

	// The UI, on a terminal: the payloads are shown escaped and never reach
	// the terminal raw; lipgloss's own styling may use ESC.
	// The filter selects a unit, so that the detail pane shows it.
	raw := runUIOnPTY(t, f, []string{"--kind", "http"}, []uiStep{
		{"the container in the list, escaped", []string{shown("pwned-ctr")}, "/"},
		{"the filter prompt", []string{"filter: █"}, name + "-ctr"},
		{"the filter typed; the description and listen paths in the detail pane, escaped",
			[]string{"filter: " + name + "-ctr█", shown("pwned-desc"), shown("pwned-fifo"), shown("pwned-mq")}, "\r"},
		{"the filter kept", []string{"(esc clears)"}, "\x1b"},
		{"the filter cleared", []string{httpSock}, "/"},
		{"the filter prompt again", []string{"filter: █"}, name + "-http"},
		{"the filter typed again, the http unit selected", []string{"filter: " + name + "-http█", "> " + httpSock}, "\r"},
		{"the filter kept again", []string{"(esc clears)"}, "p"},
		{"the http probe's status, escaped", []string{shown("pwned-status")}, "q"},
	})
	for _, mark := range []string{"pwned-desc", "pwned-ctr", "pwned-fifo", "pwned-mq", "pwned-status"} {
		if i := bytes.Index(raw, []byte("\x1b]0;"+mark)); i >= 0 {
			t.Errorf("the UI wrote %s raw to the terminal: %q", mark, raw[max(i-40, 0):min(i+40, len(raw))])
		}
		if bytes.Contains(raw, []byte(mark+"\x07")) {
			t.Errorf("the UI wrote %s followed by a raw BEL", mark)
		}
	}
	if bytes.Contains(raw, []byte("\u009b")) {
		t.Errorf("the UI wrote a raw C1 CSI (U+009B)")
	}
}

// hostileHTTPServer serves, on a loopback port, every HTTP request with
// status (code and reason phrase) and an empty body; it returns the address.
func hostileHTTPServer(t *testing.T, status string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 "+status+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	return ln.Addr().String()
}

// assertTerminalText fails t when out holds anything but printable text and
// newlines.
func assertTerminalText(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s wrote invalid UTF-8:\n%q", what, out)
	}
	for i, r := range out {
		if r != '\n' && !unicode.IsGraphic(r) {
			t.Errorf("%s wrote %U at byte %d:\n%q", what, r, i, out)
			return
		}
	}
}

// assertNoRawControls fails t when out holds a C0 control other than a
// newline, or DEL. (encoding/json escapes those but leaves C1 controls and
// bidi overrides as they are: JSON is for programs.)
func assertNoRawControls(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, func(r rune) bool { return (r < 0x20 && r != '\n') || r == 0x7f }); i >= 0 {
		t.Errorf("%s wrote control byte %#x at %d:\n%q", what, out[i], i, out)
	}
}

// uiStep waits until the UI has written every one of want since the keys
// of the step before, then types keys.
type uiStep struct {
	what string
	want []string
	keys string
}

// runUIOnPTY runs the socktui UI with args against f's manager on a
// 250x60 pseudo-terminal, plays steps (the last one should quit), waits for
// it to exit and returns every byte it wrote to the terminal.
func runUIOnPTY(t *testing.T, f *fixture, args []string, steps []uiStep) []byte {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		sandboxtest.Unavailable(t, "no pseudo-terminal: "+err.Error())
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 60, Col: 250}); err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(f.bin, args...)
	cmd.Env = append(f.s.Env(), "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		tty.Close()
		t.Fatal(err)
	}
	tty.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	running := true

	// The reader ends with EIO once the UI has exited and closed the tty.
	var (
		mu      sync.Mutex
		written []byte
		readEnd = make(chan struct{})
		changed = make(chan struct{}, 1)
	)
	go func() {
		defer close(readEnd)
		buf := make([]byte, 32<<10)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			written = append(written, buf[:n]...)
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	snapshot := func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(written)
	}
	defer func() {
		if running {
			cmd.Process.Kill()
			<-exited
		}
		if stderr.Len() > 0 {
			t.Logf("socktui stderr:\n%s", stderr.String())
		}
	}()

	from := 0
	for _, step := range steps {
		deadline := time.NewTimer(90 * time.Second)
		for {
			got := snapshot()[from:]
			missing := slices.DeleteFunc(slices.Clone(step.want), func(w string) bool { return bytes.Contains(got, []byte(w)) })
			if len(missing) == 0 {
				break
			}
			select {
			case <-changed:
				continue
			case err := <-exited:
				running = false
				t.Fatalf("the UI exited (%v) before %s; it lacks %q; it wrote:\n%q", err, step.what, missing, got)
			case <-deadline.C:
				t.Fatalf("waiting for %s: the UI never wrote %q; it wrote:\n%q", step.what, missing, got)
			}
		}
		deadline.Stop()
		from = len(snapshot())
		if _, err := io.WriteString(ptmx, step.keys); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-exited:
		running = false
		if err != nil {
			t.Errorf("the UI exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the UI did not exit within 60s of the last keys")
	}
	select {
	case <-readEnd:
	case <-time.After(30 * time.Second):
		t.Errorf("the terminal never reported its end after the UI exited")
	}
	return snapshot()
}
