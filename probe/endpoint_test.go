package probe

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		typ, addr string
		network   Network
		dial      string // "" when not probeable
		reason    string // a part of Reason when not probeable
	}{
		{"Stream", "127.0.0.1:3000", TCP4, "127.0.0.1:3000", ""},
		{"Stream", "127.0.0.53:53", TCP4, "127.0.0.53:53", ""},
		{"Stream", "[::1]:3000", TCP6, "[::1]:3000", ""},
		{"Stream", "3000", TCP4, "127.0.0.1:3000", ""},
		{"Stream", "0.0.0.0:3000", TCP4, "127.0.0.1:3000", ""},
		{"Stream", "[::]:3000", TCP6, "[::1]:3000", ""},
		{"Stream", "[::ffff:127.0.0.1]:3000", TCP4, "127.0.0.1:3000", ""},
		{"Stream", "[::1%lo]:3000", TCP6, "[::1]:3000", ""},
		{"Datagram", "127.0.0.1:3001", UDP4, "127.0.0.1:3001", ""},
		{"Datagram", "[::]:3001", UDP6, "[::1]:3001", ""},
		{"Datagram", "3001", UDP4, "127.0.0.1:3001", ""},
		{"Stream", "/run/echo.sock", Unix, "/run/echo.sock", ""},
		{"Stream", "@echo", Unix, "@echo", ""},
		{"Datagram", "/run/echo.dgram", Unixgram, "/run/echo.dgram", ""},
		{"SequentialPacket", "/run/echo.seq", Unixpacket, "/run/echo.seq", ""},
		{"SequentialPacket", "@seq", Unixpacket, "@seq", ""},
		{"Stream", "vsock::3000", Vsock, "1:3000", ""},
		{"Stream", "vsock:4294967295:3000", Vsock, "1:3000", ""},
		{"Stream", "vsock:1:3000", Vsock, "1:3000", ""},
		{"SequentialPacket", "vsock::3000", Vsock, "1:3000", ""},
		// Never anything but this host.
		{"Stream", "192.0.2.1:80", TCP4, "", "not a loopback address"},
		{"Stream", "[2001:db8::1]:80", TCP6, "", "not a loopback address"},
		{"Stream", "[fe80::1%eth0]:80", TCP6, "", "not a loopback address"},
		{"Datagram", "10.0.0.1:53", UDP4, "", "not a loopback address"},
		{"Stream", "vsock:2:3000", Vsock, "", "CID 2"},
		{"Stream", "vsock:3:3000", Vsock, "", "another machine"},
		{"Stream", "vsock:0:3000", Vsock, "", "another machine"},
		{"Datagram", "vsock::3000", Vsock, "", "datagrams"},
		{"SequentialPacket", "127.0.0.1:3000", TCP4, "", "SCTP"},
		// Not sockets.
		{"FIFO", "/run/fifo", "", "", "not a socket"},
		{"Special", "/proc/kmsg", "", "", "not a socket"},
		{"MessageQueue", "/mq", "", "", "not a socket"},
		{"USBFunction", "/dev/usb-ffs/x", "", "", "not a socket"},
		{"Netlink", "kobject-uevent 1", "", "", "netlink"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.addr, func(t *testing.T) {
			ep, err := ParseListen(tt.typ, tt.addr)
			if err != nil {
				t.Fatalf("ParseListen: %v", err)
			}
			if ep.Type != tt.typ || ep.Address != tt.addr {
				t.Errorf("Type, Address = %q, %q; want the input", ep.Type, ep.Address)
			}
			if ep.Network != tt.network {
				t.Errorf("Network = %q, want %q", ep.Network, tt.network)
			}
			if ep.Dial != tt.dial {
				t.Errorf("Dial = %q, want %q", ep.Dial, tt.dial)
			}
			if want := tt.dial != ""; ep.Probeable != want {
				t.Errorf("Probeable = %v, want %v (Reason %q)", ep.Probeable, want, ep.Reason)
			}
			if !strings.Contains(ep.Reason, tt.reason) || (tt.reason == "") != (ep.Reason == "") {
				t.Errorf("Reason = %q, want it to say %q", ep.Reason, tt.reason)
			}
		})
	}
}

func TestParseListenErrors(t *testing.T) {
	tests := []struct{ typ, addr string }{
		{"Bogus", "127.0.0.1:80"},
		{"Stream", ""},
		{"Stream", "localhost:80"},
		{"Stream", "127.0.0.1"},
		{"Stream", "127.0.0.1:0"},
		{"Stream", "127.0.0.1:65536"},
		{"Stream", "127.0.0.1:+80"},
		{"Stream", "0"},
		{"Stream", "::1:80"},
		{"Stream", "[::1]"},
		{"Stream", "[::1]:x"},
		{"Stream", "@"},
		{"Stream", "/" + strings.Repeat("x", 107)},
		{"Stream", "/a\x00b"},
		{"Stream", "vsock:3000"},
		{"Stream", "vsock:x:3000"},
		{"Stream", "vsock::"},
		{"Stream", "vsock:1:4294967296"},
		{"Datagram", "relative/path"},
	}
	for _, tt := range tests {
		ep, err := ParseListen(tt.typ, tt.addr)
		if !errors.Is(err, ErrBadListen) {
			t.Errorf("ParseListen(%q, %q) = %+v, %v; want an error wrapping ErrBadListen", tt.typ, tt.addr, ep, err)
		}
	}
}

// checkEndpoint asserts what ParseListen promises of any input.
func checkEndpoint(t *testing.T, typ, addr string, ep Endpoint, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrBadListen) {
			t.Fatalf("error %v does not wrap ErrBadListen", err)
		}
		return
	}
	if ep.Type != typ || ep.Address != addr {
		t.Fatalf("Type, Address = %q, %q; want %q, %q", ep.Type, ep.Address, typ, addr)
	}
	if ep.Probeable == (ep.Reason != "") {
		t.Fatalf("Probeable %v with Reason %q", ep.Probeable, ep.Reason)
	}
	if !ep.Probeable {
		if ep.Dial != "" {
			t.Fatalf("not probeable but Dial = %q", ep.Dial)
		}
		return
	}
	switch ep.Network {
	case TCP4, TCP6, UDP4, UDP6:
		ap, err := netip.ParseAddrPort(ep.Dial)
		if err != nil {
			t.Fatalf("Dial %q: %v", ep.Dial, err)
		}
		if !ap.Addr().IsLoopback() || ap.Port() == 0 {
			t.Fatalf("Dial %q is not a loopback address and port", ep.Dial)
		}
		if ap.Addr().Is4() != (ep.Network == TCP4 || ep.Network == UDP4) {
			t.Fatalf("Dial %q does not match network %s", ep.Dial, ep.Network)
		}
	case Unix, Unixgram, Unixpacket:
		if ep.Dial != addr || len(addr) > maxUnixPath {
			t.Fatalf("unix Dial %q for address %q", ep.Dial, addr)
		}
	case Vsock:
		cid, port, ok := strings.Cut(ep.Dial, ":")
		if _, err := strconv.ParseUint(port, 10, 32); !ok || cid != "1" || err != nil {
			t.Fatalf("vsock Dial %q is not 1:PORT", ep.Dial)
		}
	default:
		t.Fatalf("probeable with network %q", ep.Network)
	}
}

func FuzzParseListen(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzParseListen.
	f.Add("Stream", "127.0.0.1:3000")
	f.Add("Datagram", "[::]:53")
	f.Add("SequentialPacket", "@seq")
	f.Add("Stream", "vsock::3000")
	f.Fuzz(func(t *testing.T, typ, addr string) {
		ep, err := ParseListen(typ, addr)
		checkEndpoint(t, typ, addr, ep, err)
	})
}

func TestChooseKind(t *testing.T) {
	tests := []struct {
		unit string
		exec []string
		want Kind
	}{
		{"socktui-echo.socket", []string{"/usr/local/bin/socktui-echo", "--mode=host"}, KindEcho},
		{"echo-ctr.socket", []string{"/usr/bin/podman", "run", "--rm", "--network=none", "localhost/socktui-echo:latest"}, KindEcho},
		{"echo-ctr.socket", []string{"/usr/bin/podman", "run", "--image=localhost/socktui-echo-test1:v2"}, KindEcho},
		{"socktui-echo-a1.socket", nil, KindEcho},
		{"podman.socket", []string{"/usr/bin/podman", "$LOGGING", "system", "service"}, KindHTTP},
		{"podman.socket", nil, KindHTTP},
		{"api.socket", []string{"/usr/bin/podman", "system", "service", "--time=0"}, KindHTTP},
		{"web.socket", []string{"/usr/sbin/nginx", "-g", "daemon off;"}, KindHTTP},
		{"web.socket", []string{"/usr/bin/podman", "run", "docker.io/library/caddy:2"}, KindHTTP},
		{"web.socket", []string{"/usr/bin/python3", "-m", "http.server"}, KindHTTP},
		{"ssh.socket", []string{"/usr/sbin/sshd", "-i"}, KindConnect},
		{"run.socket", []string{"/usr/bin/podman", "run", "localhost/app"}, KindConnect},
		{"other.socket", nil, KindConnect},
	}
	for _, tt := range tests {
		if got := ChooseKind(tt.unit, tt.exec); got != tt.want {
			t.Errorf("ChooseKind(%q, %q) = %q, want %q", tt.unit, tt.exec, got, tt.want)
		}
	}
}
