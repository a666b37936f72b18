package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/socktui/socktui/unit"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		typ, addr string
		network   unit.Network
		dial      string // "" when not probeable
		reason    string // a part of Reason when not probeable
	}{
		{"Stream", "127.0.0.1:3000", unit.TCP4, "127.0.0.1:3000", ""},
		{"Stream", "127.0.0.53:53", unit.TCP4, "127.0.0.53:53", ""},
		{"Stream", "[::1]:3000", unit.TCP6, "[::1]:3000", ""},
		{"Stream", "3000", unit.TCP4, "127.0.0.1:3000", ""},
		{"Stream", "0.0.0.0:3000", unit.TCP4, "127.0.0.1:3000", ""},
		{"Stream", "[::]:3000", unit.TCP6, "[::1]:3000", ""},
		{"Stream", "[::ffff:127.0.0.1]:3000", unit.TCP4, "127.0.0.1:3000", ""},
		{"Stream", "[::1%lo]:3000", unit.TCP6, "[::1]:3000", ""},
		{"Datagram", "127.0.0.1:3001", unit.UDP4, "127.0.0.1:3001", ""},
		{"Datagram", "[::]:3001", unit.UDP6, "[::1]:3001", ""},
		{"Datagram", "3001", unit.UDP4, "127.0.0.1:3001", ""},
		{"Stream", "/run/echo.sock", unit.Unix, "/run/echo.sock", ""},
		{"Stream", "@echo", unit.Unix, "@echo", ""},
		{"Datagram", "/run/echo.dgram", unit.Unixgram, "/run/echo.dgram", ""},
		{"SequentialPacket", "/run/echo.seq", unit.Unixpacket, "/run/echo.seq", ""},
		{"SequentialPacket", "@seq", unit.Unixpacket, "@seq", ""},
		// Unix paths and abstract names come C-escaped (measured on
		// systemd 252 with ListenStream=/run/café.sock and the others).
		{"Stream", `/run/caf\303\251.sock`, unit.Unix, "/run/café.sock", ""},
		{"Stream", "/run/a b.sock", unit.Unix, "/run/a b.sock", ""},
		{"Stream", `/run/back\\\\slash.sock`, unit.Unix, `/run/back\\slash.sock`, ""},
		{"Datagram", `/run/quo\"te\'.sock`, unit.Unixgram, `/run/quo"te'.sock`, ""},
		{"Stream", `/run/t\tab\nnl\177del`, unit.Unix, "/run/t\tab\nnl\x7fdel", ""},
		{"Stream", `@abs \303\251 x`, unit.Unix, "@abs é x", ""},
		{"SequentialPacket", `@\001`, unit.Unixpacket, "@\x01", ""},
		// Every 107-byte path fits, however long its escaped form.
		{"Stream", "/" + strings.Repeat(`\303\251`, 53), unit.Unix, "/" + strings.Repeat("é", 53), ""},
		{"Stream", "vsock::3000", unit.Vsock, "1:3000", ""},
		{"Stream", "vsock:4294967295:3000", unit.Vsock, "1:3000", ""},
		{"Stream", "vsock:1:3000", unit.Vsock, "1:3000", ""},
		{"SequentialPacket", "vsock::3000", unit.Vsockpacket, "1:3000", ""},
		// Never anything but this host.
		{"Stream", "192.0.2.1:80", unit.TCP4, "", "not a loopback address"},
		{"Stream", "[2001:db8::1]:80", unit.TCP6, "", "not a loopback address"},
		{"Stream", "[fe80::1%eth0]:80", unit.TCP6, "", "not a loopback address"},
		{"Datagram", "10.0.0.1:53", unit.UDP4, "", "not a loopback address"},
		{"Stream", "vsock:2:3000", unit.Vsock, "", "CID 2"},
		{"Stream", "vsock:3:3000", unit.Vsock, "", "another machine"},
		{"Stream", "vsock:0:3000", unit.Vsock, "", "another machine"},
		{"Datagram", "vsock::3000", unit.Vsockgram, "", "datagrams"},
		{"SequentialPacket", "127.0.0.1:3000", unit.SCTP4, "", "SCTP"},
		// Not sockets.
		{"FIFO", "/run/fifo", unit.FIFO, "", "not a socket"},
		{"Special", "/proc/kmsg", unit.Special, "", "not a socket"},
		{"MessageQueue", "/mq", unit.MQueue, "", "not a socket"},
		{"USBFunction", "/dev/usb-ffs/x", unit.USBFunction, "", "not a socket"},
		{"Netlink", "kobject-uevent 1", unit.Netlink, "", "netlink"},
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

// cescape is systemd's cescape (src/basic/escape.c), which sockaddr_pretty
// applies to unix paths and abstract names in the Listen property.
func cescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if j := strings.IndexByte("\a\b\f\n\r\t\v\\\"'", c); j >= 0 {
			b.WriteByte('\\')
			b.WriteByte("abfnrtv\\\"'"[j])
		} else if c < ' ' || c >= 127 {
			fmt.Fprintf(&b, "\\%03o", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestCescapeAsSystemdDoes(t *testing.T) {
	// What systemd 252 reported over D-Bus for these paths.
	for in, want := range map[string]string{
		"/run/café.sock":     `/run/caf\303\251.sock`,
		"/run/a b.sock":      "/run/a b.sock",
		`/run/back\\slash`:   `/run/back\\\\slash`,
		`/run/quo"te'.sock`:  `/run/quo\"te\'.sock`,
		"/run/t\tab\nl\x7fx": `/run/t\tab\nl\177x`,
		"@abs é x":           `@abs \303\251 x`,
	} {
		if got := cescape(in); got != want {
			t.Errorf("cescape(%q) = %q, want %q", in, got, want)
		}
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
		{"Stream", "/" + strings.Repeat(`\303\251`, 53) + "x"},
		{"Stream", `/a\`},
		{"Stream", `/a\q`},
		{"Stream", `@\000`},
		{"Stream", `/a\x00`},
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
	case unit.TCP4, unit.TCP6, unit.UDP4, unit.UDP6:
		ap, err := netip.ParseAddrPort(ep.Dial)
		if err != nil {
			t.Fatalf("Dial %q: %v", ep.Dial, err)
		}
		if !ap.Addr().IsLoopback() || ap.Port() == 0 {
			t.Fatalf("Dial %q is not a loopback address and port", ep.Dial)
		}
		if ap.Addr().Is4() != (ep.Network == unit.TCP4 || ep.Network == unit.UDP4) {
			t.Fatalf("Dial %q does not match network %s", ep.Dial, ep.Network)
		}
	case unit.Unix, unit.Unixgram, unit.Unixpacket:
		if ep.Dial == "" || ep.Dial[0] != addr[0] || len(ep.Dial) > maxUnixPath || strings.IndexByte(ep.Dial, 0) >= 0 {
			t.Fatalf("unix Dial %q for address %q", ep.Dial, addr)
		}
		if !strings.Contains(addr, `\`) && ep.Dial != addr {
			t.Fatalf("unix Dial %q for address %q without escapes", ep.Dial, addr)
		}
		// What systemd would report for the path parses back to it.
		back, err := ParseListen(typ, cescape(ep.Dial))
		if err != nil || back.Dial != ep.Dial {
			t.Fatalf("Dial %q escaped as systemd does parses as %+v, %v", ep.Dial, back, err)
		}
	case unit.Vsock:
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
	f.Add("Stream", `/run/caf\303\251 \\x.sock`)
	f.Add("Datagram", `@\x41\u00e9\U0001F600\s\'`)
	f.Fuzz(func(t *testing.T, typ, addr string) {
		ep, err := ParseListen(typ, addr)
		checkEndpoint(t, typ, addr, ep, err)
		// addr read as a real path or abstract name, escaped as systemd
		// reports it: the probe dials exactly that path.
		if typ != unit.TypeStream && typ != unit.TypeDatagram && typ != unit.TypeSeqPacket || addr == "" || addr[0] != '/' && addr[0] != '@' {
			return
		}
		ep, err = ParseListen(typ, cescape(addr))
		checkEndpoint(t, typ, cescape(addr), ep, err)
		fits := len(addr) <= maxUnixPath && addr != "@" && strings.IndexByte(addr, 0) < 0
		if fits != (err == nil) || fits && ep.Dial != addr {
			t.Fatalf("path %q escaped as %q: Dial %q, %v", addr, cescape(addr), ep.Dial, err)
		}
	})
}

func TestChooseKind(t *testing.T) {
	tests := []struct {
		name string
		exec []string
		want unit.Kind
	}{
		{"socktui-echo.socket", []string{"/usr/local/bin/socktui-echo", "--mode=host"}, unit.KindEcho},
		{"demo.socket", []string{"/root/go/bin/socktui", "echo-server", "--idle-exit=30s"}, unit.KindEcho},
		{"demo.socket", []string{"/usr/bin/other", "echo-server"}, unit.KindConnect},
		{"echo-ctr.socket", []string{"/usr/bin/podman", "run", "--rm", "--network=none", "localhost/socktui-echo:latest"}, unit.KindEcho},
		{"echo-ctr.socket", []string{"/usr/bin/podman", "run", "--image=localhost/socktui-echo-test1:v2"}, unit.KindEcho},
		{"socktui-echo-a1.socket", nil, unit.KindEcho},
		{"podman.socket", []string{"/usr/bin/podman", "$LOGGING", "system", "service"}, unit.KindHTTP},
		{"podman.socket", nil, unit.KindHTTP},
		{"api.socket", []string{"/usr/bin/podman", "system", "service", "--time=0"}, unit.KindHTTP},
		{"web.socket", []string{"/usr/sbin/nginx", "-g", "daemon off;"}, unit.KindHTTP},
		{"web.socket", []string{"/usr/bin/podman", "run", "docker.io/library/caddy:2"}, unit.KindHTTP},
		{"web.socket", []string{"/usr/bin/python3", "-m", "http.server"}, unit.KindHTTP},
		{"ssh.socket", []string{"/usr/sbin/sshd", "-i"}, unit.KindConnect},
		{"run.socket", []string{"/usr/bin/podman", "run", "localhost/app"}, unit.KindConnect},
		{"other.socket", nil, unit.KindConnect},
	}
	for _, tt := range tests {
		if got := ChooseKind(tt.name, tt.exec); got != tt.want {
			t.Errorf("ChooseKind(%q, %q) = %q, want %q", tt.name, tt.exec, got, tt.want)
		}
	}
}
