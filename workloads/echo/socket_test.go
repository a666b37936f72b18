package echo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/workloads/echo"
)

func TestFormatSockaddr(t *testing.T) {
	tests := []struct {
		sa   unix.Sockaddr
		want string
	}{
		{&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 3000}, "127.0.0.1:3000"},
		{&unix.SockaddrInet6{Addr: [16]byte{15: 1}, Port: 3000}, "[::1]:3000"},
		{&unix.SockaddrUnix{Name: "/run/echo.sock"}, "/run/echo.sock"},
		{&unix.SockaddrUnix{Name: "@abstract"}, "@abstract"},
		{&unix.SockaddrUnix{Name: ""}, ""},
		{&unix.SockaddrUnix{Name: "@"}, ""},
		{&unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: 3000}, "vsock:4294967295:3000"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := echo.FormatSockaddr(tt.sa); got != tt.want {
			t.Errorf("FormatSockaddr(%#v) = %q, want %q", tt.sa, got, tt.want)
		}
	}
}

func TestListenOnErrors(t *testing.T) {
	for _, spec := range []string{"", "tcp", "tcp:", "sctp:127.0.0.1:1", "vsock:port"} {
		if _, err := echo.ListenOn(spec); !errors.Is(err, echo.ErrBadListen) {
			t.Errorf("ListenOn(%q) error = %v, want ErrBadListen", spec, err)
		}
	}
}

func TestFromFileClassifies(t *testing.T) {
	dir := shortDir(t)
	tests := []struct {
		name               string
		file               func() *os.File
		kind               echo.Kind
		family, addrSuffix string
	}{
		{"unix seqpacket", func() *os.File { f, _ := listenStream(t, "unixpacket", filepath.Join(dir, "p")); return f.file },
			echo.SeqPacket, "unix", "/p"},
		{"udp6", func() *os.File { f, _ := listenPacket(t, "udp6", "[::1]:0"); return f.file },
			echo.Datagram, "inet6", ""},
		{"regular file", func() *os.File {
			f, err := os.Create(filepath.Join(dir, "plain"))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, echo.Other, "file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := echo.FromFile(tt.file(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Kind != tt.kind || s.Family != tt.family || len(s.Addr) < len(tt.addrSuffix) ||
				s.Addr[len(s.Addr)-len(tt.addrSuffix):] != tt.addrSuffix || s.Name != tt.name {
				t.Errorf("FromFile = %s, want %s %s ...%s", s, tt.family, tt.kind, tt.addrSuffix)
			}
		})
	}
}

func TestBuildImageMissingBinary(t *testing.T) {
	err := echo.BuildImage(context.Background(), filepath.Join(t.TempDir(), "absent"), nil, "localhost/never-built:x", nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BuildImage with no binary: %v, want a not-exist error", err)
	}
}
