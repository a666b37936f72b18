package unit

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrBadListen is wrapped by every error of ParseAddress and ParseListenSpec:
// an address systemd would not accept or report.
var ErrBadListen = errors.New("bad listen entry")

// Family is the address family of a socket Listen entry.
type Family string

// The families of socket addresses.
const (
	FamilyIP    Family = "ip"
	FamilyUnix  Family = "unix"
	FamilyVsock Family = "vsock"
)

// MaxUnixPath is the longest path (or abstract name, with its '@') that fits
// in sockaddr_un.sun_path with its terminating NUL.
const MaxUnixPath = 107

// VsockCIDAny is VMADDR_CID_ANY, what "vsock::PORT" listens on.
const VsockCIDAny = 0xFFFFFFFF

// Address is the address of a Stream, Datagram or SequentialPacket Listen
// entry, parsed.
type Address struct {
	Family Family
	// AddrPort is an IP entry's address and port as written (zone kept, an
	// IPv4-mapped address not unmapped); for a port alone ("3000") the
	// IPv4 wildcard, with PortOnly set.
	AddrPort netip.AddrPort
	PortOnly bool
	// Path is a unix entry's real path or "@abstract" name: the C escapes
	// systemd reports (see UnescapeC) undone.
	Path string
	// CID and Port are a vsock entry's; CID is VsockCIDAny for
	// "vsock::PORT".
	CID, Port uint32
}

// ParseAddress parses the address of a socket Listen entry as systemd
// reports it in a socket unit's Listen property: "127.0.0.1:3000",
// "[::1]:3000" (an optional zone), a port alone, a C-escaped path or
// "@abstract" name, "vsock::PORT" or "vsock:CID:PORT". It is the one parser
// of Listen addresses: probes resolve endpoints with it, and
// ParseListenSpec checks the listeners of a socket to create with it.
//
// The error wraps ErrBadListen.
func ParseAddress(addr string) (Address, error) {
	switch {
	case addr == "":
		return Address{}, fmt.Errorf("%w: empty address", ErrBadListen)
	case addr[0] == '/' || addr[0] == '@':
		return parseUnixAddress(addr)
	case strings.HasPrefix(addr, "vsock:"):
		return parseVsockAddress(strings.TrimPrefix(addr, "vsock:"))
	default:
		return parseIPAddress(addr)
	}
}

func parseUnixAddress(addr string) (Address, error) {
	if strings.IndexByte(addr, 0) >= 0 {
		return Address{}, fmt.Errorf("%w: NUL byte in unix address", ErrBadListen)
	}
	addr, err := UnescapeC(addr)
	if err != nil {
		return Address{}, fmt.Errorf("%w: unix address: %v", ErrBadListen, err)
	}
	if len(addr) > MaxUnixPath {
		return Address{}, fmt.Errorf("%w: unix address longer than %d bytes", ErrBadListen, MaxUnixPath)
	}
	if addr == "@" {
		return Address{}, fmt.Errorf("%w: empty abstract name", ErrBadListen)
	}
	return Address{Family: FamilyUnix, Path: addr}, nil
}

func parseVsockAddress(rest string) (Address, error) {
	cidText, portText, ok := strings.Cut(rest, ":")
	if !ok {
		return Address{}, fmt.Errorf("%w: vsock address without a port", ErrBadListen)
	}
	cid := uint64(VsockCIDAny)
	if cidText != "" {
		c, err := strconv.ParseUint(cidText, 10, 32)
		if err != nil {
			return Address{}, fmt.Errorf("%w: vsock CID %q", ErrBadListen, cidText)
		}
		cid = c
	}
	port, err := strconv.ParseUint(portText, 10, 32)
	if err != nil {
		return Address{}, fmt.Errorf("%w: vsock port %q", ErrBadListen, portText)
	}
	return Address{Family: FamilyVsock, CID: uint32(cid), Port: uint32(port)}, nil
}

func parseIPAddress(addr string) (Address, error) {
	if isDigits(addr) {
		port, err := parsePort(addr)
		if err != nil {
			return Address{}, err
		}
		return Address{Family: FamilyIP, AddrPort: netip.AddrPortFrom(netip.IPv4Unspecified(), port), PortOnly: true}, nil
	}
	host, portText, err := splitHostPort(addr)
	if err != nil {
		return Address{}, err
	}
	port, err := parsePort(portText)
	if err != nil {
		return Address{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Address{}, fmt.Errorf("%w: not a numeric IP address: %q", ErrBadListen, host)
	}
	if !strings.HasPrefix(addr, "[") && ip.Is6() {
		return Address{}, fmt.Errorf("%w: IPv6 address without brackets", ErrBadListen)
	}
	return Address{Family: FamilyIP, AddrPort: netip.AddrPortFrom(ip, port)}, nil
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

// UnescapeC undoes the C-style escaping systemd applies to unix paths and
// abstract names in the Listen property (sockaddr_pretty calls cescape: \a
// \b \f \n \r \t \v \\ \" \' and \NNN in octal for every other byte below
// 0x20 or from 0x7f, so "café" is "caf\303\251"; spaces and other printable
// ASCII stay as they are). It accepts everything systemd's cunescape does
// without UNESCAPE_RELAX or UNESCAPE_ACCEPT_NUL (src/basic/escape.c): also
// \s (a space), \xNN, \uNNNN and \UNNNNNNNN, the last two written as UTF-8.
// As there, a lone or trailing backslash, an unknown escape, an escaped NUL,
// an octal value above 0377 and an invalid \U code point are errors.
func UnescapeC(s string) (string, error) {
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
