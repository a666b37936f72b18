package echotest

import (
	"io"
	"net"
	"testing"
	"time"
)

// Echoes connects to a TCP echo endpoint at addr (which may activate its
// service, so the connection and the answer get generous bounds), sends
// msg and fails t unless msg comes back.
func Echoes(t testing.TB, addr, msg string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != msg {
		t.Fatalf("echo from %s = %q, %v; want %q", addr, got, err, msg)
	}
}
