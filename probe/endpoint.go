package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/socktui/socktui/unit"
)

// Endpoint is a Listen entry of a socket unit resolved to what a probe
// dials. Endpoints only ever point at this host: a wildcard or port-only
// address becomes the loopback address, and any other address is kept but
// marked not probeable.
type Endpoint struct {
	// Type and Address are the Listen entry as systemd reports it.
	Type    string
	Address string
	// Network is the transport a probe uses; empty when not probeable
	// because the entry is not a socket (FIFO, Special, ...).
	Network unit.Network
	// Dial is what a probe connects to: "127.0.0.1:3000", "[::1]:3000", a
	// path, "@abstract" or, for vsock, "CID:PORT". Empty when not probeable.
	// A unix path or abstract name is the real one: systemd reports it
	// C-escaped in Address ("caf\\303\\251.sock" for "café.sock").
	Dial string
	// Probeable is false when a probe must not or cannot target the
	// endpoint; Reason then says why in one line.
	Probeable bool
	Reason    string
}

// The vsock context identifiers that matter to a probe.
const (
	vsockCIDLocal = 1          // VMADDR_CID_LOCAL: this host, through the loopback transport
	vsockCIDHost  = 2          // VMADDR_CID_HOST: the hypervisor host, never probed
	vsockCIDAny   = 0xFFFFFFFF // VMADDR_CID_ANY: listening on every CID
)

// maxUnixPath is the longest path (or abstract name, with its '@') that fits
// in sockaddr_un.sun_path with its terminating NUL.
const maxUnixPath = 107

// ErrBadListen is wrapped by every error of ParseListen.
var ErrBadListen = errors.New("bad listen entry")

// ParseListen resolves one Listen entry (type and address, as systemd
// reports them in the Listen property of a socket unit) into an Endpoint.
//
// Stream, Datagram and SequentialPacket entries on an IP address, a unix
// path, an abstract name ("@name", both C-escaped as systemd reports them:
// see unescapeC) or vsock ("vsock::PORT", "vsock:CID:PORT") are probeable, with these exceptions, returned with Probeable false and a
// Reason rather than an error: an IP address other than loopback or a
// wildcard, a vsock CID other than 1 (local) or any, and sequential packets
// over IP. FIFO, Special, Netlink, MessageQueue and USBFunction entries are
// never probeable. A port-only address ("3000") and the IPv4 wildcard
// resolve to 127.0.0.1, the IPv6 wildcard to ::1, and vsock CID any to
// CID 1.
//
// The error, wrapping ErrBadListen, is for entries systemd would not
// report: an unknown type or a malformed address.
func ParseListen(typ, addr string) (Endpoint, error) {
	ep := Endpoint{Type: typ, Address: addr, Network: unit.Listen{Type: typ, Address: addr}.Network()}
	switch typ {
	case unit.TypeStream, unit.TypeDatagram, unit.TypeSeqPacket:
	case unit.TypeFIFO, unit.TypeSpecial, unit.TypeMessageQueue, unit.TypeUSBFunction:
		return notProbeable(ep, typ+" is not a socket a probe can connect to"), nil
	case unit.TypeNetlink:
		return notProbeable(ep, "netlink sockets talk to the kernel, not to a service"), nil
	default:
		return ep, fmt.Errorf("%w: unknown type %q", ErrBadListen, typ)
	}
	switch {
	case addr == "":
		return ep, fmt.Errorf("%w: empty address", ErrBadListen)
	case addr[0] == '/' || addr[0] == '@':
		return parseUnix(ep, typ, addr)
	case strings.HasPrefix(addr, "vsock:"):
		return parseVsock(ep, typ, strings.TrimPrefix(addr, "vsock:"))
	default:
		return parseIP(ep, typ, addr)
	}
}

func notProbeable(ep Endpoint, why string) Endpoint {
	ep.Probeable, ep.Reason = false, why
	return ep
}

func parseUnix(ep Endpoint, typ, addr string) (Endpoint, error) {
	if strings.IndexByte(addr, 0) >= 0 {
		return ep, fmt.Errorf("%w: NUL byte in unix address", ErrBadListen)
	}
	addr, err := unescapeC(addr)
	if err != nil {
		return ep, fmt.Errorf("%w: unix address: %v", ErrBadListen, err)
	}
	if len(addr) > maxUnixPath {
		return ep, fmt.Errorf("%w: unix address longer than %d bytes", ErrBadListen, maxUnixPath)
	}
	if addr == "@" {
		return ep, fmt.Errorf("%w: empty abstract name", ErrBadListen)
	}
	ep.Dial, ep.Probeable = addr, true
	return ep, nil
}

// unescapeC undoes the C-style escaping systemd applies to unix paths and
// abstract names in the Listen property (sockaddr_pretty calls cescape: \a
// \b \f \n \r \t \v \\ \" \' and \NNN in octal for every other byte below
// 0x20 or from 0x7f, so "café" is "caf\303\251"; spaces and other printable
// ASCII stay as they are). It accepts everything systemd's cunescape does
// without UNESCAPE_RELAX or UNESCAPE_ACCEPT_NUL (src/basic/escape.c): also
// \s (a space), \xNN, \uNNNN and \UNNNNNNNN, the last two written as UTF-8.
// As there, a lone or trailing backslash, an unknown escape, an escaped NUL,
// an octal value above 0377 and an invalid \U code point are errors.
func unescapeC(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for ; i >= 0; i = strings.IndexByte(s, '\\') {
		b = append(b, s[:i]...)
		s = s[i+1:]
		if s == "" {
			return "", errors.New("trailing backslash")
		}
		n, err := unescapeOne(&b, s)
		if err != nil {
			return "", err
		}
		s = s[n:]
	}
	return string(append(b, s...)), nil
}

// unescapeOne appends to b what the escape at the start of s (after its
// backslash) stands for and returns how many bytes of s it took.
func unescapeOne(b *[]byte, s string) (int, error) {
	// \a \b \f \n \r \t \v \\ \" \' and \s (a space).
	if c := strings.IndexByte("abfnrtv\\\"'s", s[0]); c >= 0 {
		*b = append(*b, "\a\b\f\n\r\t\v\\\"' "[c])
		return 1, nil
	}
	switch s[0] {
	case 'x':
		v, err := escapedNumber(s, 1, 2, 16)
		if err != nil {
			return 0, err
		}
		*b = append(*b, byte(v))
		return 3, nil
	case 'u', 'U':
		digits := 4
		if s[0] == 'U' {
			digits = 8
		}
		v, err := escapedNumber(s, 1, digits, 16)
		if err != nil {
			return 0, err
		}
		if s[0] == 'U' && !validCodePoint(v) {
			return 0, fmt.Errorf("escape \\%s: not a valid code point", s[:1+digits])
		}
		*b = appendUTF8(*b, v)
		return 1 + digits, nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		v, err := escapedNumber(s, 0, 3, 8)
		if err != nil {
			return 0, err
		}
		if v > 0xff {
			return 0, fmt.Errorf("escape \\%s: above \\377", s[:3])
		}
		*b = append(*b, byte(v))
		return 3, nil
	}
	_, size := utf8.DecodeRuneInString(s)
	return 0, fmt.Errorf("unknown escape \\%s", s[:size])
}

// escapedNumber reads the digits in base of an escape from s[from:], which
// must hold n of them and not stand for NUL.
func escapedNumber(s string, from, n int, base uint32) (uint32, error) {
	if len(s) < from+n {
		return 0, fmt.Errorf("escape \\%s: too short", s)
	}
	var v uint32
	for i := from; i < from+n; i++ {
		d := digitValue(s[i])
		if d >= base {
			return 0, fmt.Errorf("escape \\%s: want %d base-%d digits", s[:from+n], n, base)
		}
		v = v*base + d
	}
	if v == 0 {
		return 0, fmt.Errorf("escape \\%s: NUL", s[:from+n])
	}
	return v, nil
}

// digitValue is the value of a hexadecimal digit, 16 for other bytes.
func digitValue(c byte) uint32 {
	switch {
	case '0' <= c && c <= '9':
		return uint32(c - '0')
	case 'a' <= c && c <= 'f':
		return uint32(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return uint32(c-'A') + 10
	}
	return 16
}

// validCodePoint is systemd's unichar_is_valid, which \U escapes must pass.
func validCodePoint(c uint32) bool {
	return c < 0x110000 && c&0xfffff800 != 0xd800 && (c < 0xfdd0 || c > 0xfdef) && c&0xfffe != 0xfffe
}

// appendUTF8 appends c in UTF-8 as systemd's utf8_encode_unichar writes it:
// unlike utf8.AppendRune it writes surrogates (which a \u escape may name)
// as their three bytes rather than as U+FFFD.
func appendUTF8(b []byte, c uint32) []byte {
	switch {
	case c < 0x80:
		return append(b, byte(c))
	case c < 0x800:
		return append(b, 0xc0|byte(c>>6), 0x80|byte(c&0x3f))
	case c < 0x10000:
		return append(b, 0xe0|byte(c>>12), 0x80|byte(c>>6&0x3f), 0x80|byte(c&0x3f))
	default:
		return append(b, 0xf0|byte(c>>18), 0x80|byte(c>>12&0x3f), 0x80|byte(c>>6&0x3f), 0x80|byte(c&0x3f))
	}
}

func parseVsock(ep Endpoint, typ, rest string) (Endpoint, error) {
	cidText, portText, ok := strings.Cut(rest, ":")
	if !ok {
		return ep, fmt.Errorf("%w: vsock address without a port", ErrBadListen)
	}
	cid := uint64(vsockCIDAny)
	if cidText != "" {
		c, err := strconv.ParseUint(cidText, 10, 32)
		if err != nil {
			return ep, fmt.Errorf("%w: vsock CID %q", ErrBadListen, cidText)
		}
		cid = c
	}
	port, err := strconv.ParseUint(portText, 10, 32)
	if err != nil {
		return ep, fmt.Errorf("%w: vsock port %q", ErrBadListen, portText)
	}
	if typ == unit.TypeDatagram {
		// No transport in Linux carries vsock datagrams to this host.
		return notProbeable(ep, "vsock datagrams have no loopback transport"), nil
	}
	switch cid {
	case vsockCIDAny, vsockCIDLocal:
	case vsockCIDHost:
		return notProbeable(ep, "vsock CID 2 is the hypervisor host, never probed"), nil
	default:
		return notProbeable(ep, fmt.Sprintf("vsock CID %d is another machine: a probe only targets this host", cid)), nil
	}
	ep.Dial = fmt.Sprintf("%d:%d", vsockCIDLocal, port)
	ep.Probeable = true
	return ep, nil
}

func parseIP(ep Endpoint, typ, addr string) (Endpoint, error) {
	var ap netip.AddrPort
	if isDigits(addr) {
		port, err := parsePort(addr)
		if err != nil {
			return ep, err
		}
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), port)
	} else {
		host, portText, err := splitHostPort(addr)
		if err != nil {
			return ep, err
		}
		port, err := parsePort(portText)
		if err != nil {
			return ep, err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return ep, fmt.Errorf("%w: not a numeric IP address: %q", ErrBadListen, host)
		}
		if !strings.HasPrefix(addr, "[") && ip.Is6() {
			return ep, fmt.Errorf("%w: IPv6 address without brackets", ErrBadListen)
		}
		ap = netip.AddrPortFrom(ip, port)
	}
	ip := ap.Addr().Unmap()
	if ip.Zone() != "" && ip.IsLoopback() {
		ip = ip.WithZone("")
	}
	if typ == unit.TypeSeqPacket {
		return notProbeable(ep, "sequential packets over IP (SCTP) are not probed"), nil
	}
	switch {
	case ip.IsUnspecified() && ip.Is4():
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case ip.IsUnspecified():
		ip = netip.IPv6Loopback()
	case !ip.IsLoopback():
		return notProbeable(ep, fmt.Sprintf("%s is not a loopback address: a probe only targets this host", ip)), nil
	}
	ep.Dial = netip.AddrPortFrom(ip, ap.Port()).String()
	ep.Probeable = true
	return ep, nil
}

// splitHostPort splits "1.2.3.4:80" and "[::1]:80" (with an optional zone);
// unlike net.SplitHostPort it rejects every other shape.
func splitHostPort(addr string) (host, port string, err error) {
	if strings.HasPrefix(addr, "[") {
		end := strings.Index(addr, "]:")
		if end < 0 {
			return "", "", fmt.Errorf("%w: IPv6 address without ]:port: %q", ErrBadListen, addr)
		}
		return addr[1:end], addr[end+2:], nil
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("%w: address without a port: %q", ErrBadListen, addr)
	}
	return addr[:i], addr[i+1:], nil
}

func parsePort(s string) (uint16, error) {
	if !isDigits(s) {
		return 0, fmt.Errorf("%w: port %q", ErrBadListen, s)
	}
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("%w: port %q out of range", ErrBadListen, s)
	}
	return uint16(p), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
