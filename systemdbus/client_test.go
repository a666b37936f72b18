package systemdbus

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestSystemCallsAllowInteractiveAuthorization reads the calls a default
// transport's connection sends: on the system manager each one lets polkit
// ask the user (go-systemd's calls carry no flags of their own), on the user
// manager none does.
func TestSystemCallsAllowInteractiveAuthorization(t *testing.T) {
	for _, system := range []bool{false, true} {
		c := &Client{opts: Options{System: system}}
		client, server := net.Pipe()
		conn, err := dbus.NewConn(client, c.connOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		go conn.Object(busName, managerPath).Go(managerIface+".ResetFailedUnit", 0, nil, "x.socket")
		msg, err := dbus.DecodeMessage(server)
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Flags&dbus.FlagAllowInteractiveAuthorization != 0; got != system {
			t.Errorf("System %v: the call allows interactive authorization: %v, want %v", system, got, system)
		}
		conn.Close()
		server.Close()
	}
}

// TestConnectToAFrozenManager: a manager that takes the connection and then
// answers nothing (stopped with SIGSTOP, say) holds Connect only as long as
// its context: go-systemd's client is set up with a call of its own.
func TestConnectToAFrozenManager(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	go func() {
		// The SASL exchange of AuthConn, then silence.
		r := bufio.NewReader(server)
		for _, answer := range []string{"REJECTED EXTERNAL", "OK 0123456789abcdef0123456789abcdef"} {
			if _, err := r.ReadString('\n'); err != nil { // "\x00AUTH", "AUTH EXTERNAL ..."
				return
			}
			if _, err := io.WriteString(server, answer+"\r\n"); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, r) // BEGIN, then every call unanswered
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c, err := Connect(ctx, Options{Dial: func(ctx context.Context) (*dbus.Conn, error) { return AuthConn(ctx, client) }})
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect to a manager that answers nothing = %v, want the context's deadline", err)
	}
}
