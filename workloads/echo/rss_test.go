package echo_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/testbin"
)

// rssLimit is the bound for the echo process with 1,000 idle
// connections.
const rssLimit = 32 << 20

// TestRSSWithThousandIdleConnections runs the real static binary (no race
// detector), activated with one TCP socket the way systemd does it, opens
// 1,000 connections that each echo 16 KiB once and then stay open and idle,
// and reads the process's VmRSS from /proc.
func TestRSSWithThousandIdleConnections(t *testing.T) {
	bin := testbin.Build(t, "workloads/echo/cmd/socktui-echo")
	l, addr := listenStream(t, "tcp4", "127.0.0.1:0")
	// The shell's pid becomes the server's: exec keeps it.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin, "--max-conns", "2000")
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_FDNAMES=rss")
	cmd.ExtraFiles = []*os.File{l.file}
	c := start(t, cmd, []fd{l})

	before := procStatus(t, cmd.Process.Pid)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	const n = 1000
	for i := range n {
		conn := dial(t, "tcp4", addr)
		if got, err := roundTrip(conn, msg); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("connection %d: echo failed: %v", i, err)
		}
	}
	after := procStatus(t, cmd.Process.Pid)
	t.Logf("socktui-echo VmRSS: %.1f MiB at start, %.1f MiB with %d idle connections (VmHWM %.1f MiB, %s threads)",
		mib(before["VmRSS"]), mib(after["VmRSS"]), n, mib(after["VmHWM"]), fmt.Sprint(after["Threads"]))
	if after["VmRSS"] >= rssLimit {
		t.Errorf("VmRSS %.1f MiB with %d idle connections, want under %d MiB", mib(after["VmRSS"]), n, rssLimit>>20)
	}
	st := c.stop(t)
	if st["accepted"] != n {
		t.Errorf("counters = %v, want accepted %d", st, n)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// procStatus reads /proc/PID/status; sizes ("kB") are returned in bytes.
func procStatus(t *testing.T, pid int) map[string]int64 {
	t.Helper()
	var m map[string]int64
	// The process may still be exec-ing the binary: wait for its name.
	waitFor(t, 10*time.Second, "the echo process to start", func() bool {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m = map[string]int64{}
		name := ""
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			fields := strings.Fields(v)
			if k == "Name" && len(fields) > 0 {
				name = fields[0]
			}
			if len(fields) == 0 {
				continue
			}
			x, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				continue
			}
			if len(fields) > 1 && fields[1] == "kB" {
				x <<= 10
			}
			m[k] = x
		}
		return strings.HasPrefix(name, "socktui-echo")
	})
	return m
}
