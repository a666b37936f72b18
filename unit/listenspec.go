package unit

import (
	"fmt"
	"strings"
)

// ListenSpecUsage names the shapes ParseListenSpec takes, for help texts and
// error messages.
const ListenSpecUsage = "tcp:ADDR:PORT, udp:ADDR:PORT ([::1]:PORT for IPv6), unix:PATH, unixgram:PATH, seqpacket:PATH or vsock:[CID]:PORT"

// specKinds maps the kind prefix of a listen spec to the Listen type it
// gives and the address family it takes.
var specKinds = map[string]struct {
	typ    string
	family Family
}{
	"tcp":       {TypeStream, FamilyIP},
	"udp":       {TypeDatagram, FamilyIP},
	"unix":      {TypeStream, FamilyUnix},
	"unixgram":  {TypeDatagram, FamilyUnix},
	"seqpacket": {TypeSeqPacket, FamilyUnix},
	"vsock":     {TypeStream, FamilyVsock},
}

// pathSpecifiers are the systemd specifiers that expand to an absolute
// folder, which may begin a unix path in a unit file (%h the home, %t the
// runtime folder, ...).
const pathSpecifiers = "hCELSTtV"

// unitSpecifiers are every specifier a unit file may use, and "%%".
const unitSpecifiers = "aAbBCEgGhHiIjJlLmMnNopPqsStTuUvVwWyY%"

// ParseListenSpec parses a listener of a socket to create, written as a
// Listen entry is in a unit file and prefixed by its kind:
// "tcp:127.0.0.1:3000", "tcp:[::1]:3000", "udp:...", "unix:/run/x.sock",
// "unix:%h/echo.sock", "unix:@abstract", "unixgram:PATH", "seqpacket:PATH",
// "vsock::3000" or "vsock:CID:3000" (the kind is part of the address).
// The address is checked by ParseAddress, the parser of the Listen entries
// systemd reports. A unix path is as a unit file spells it: it may use
// systemd's %-specifiers (and must then begin with one naming a folder,
// such as %h or %t, or with / or @), and holds no backslash or control
// character. The error wraps ErrBadListen and says what is wrong.
func ParseListenSpec(spec string) (Listen, error) {
	kind, addr, ok := strings.Cut(spec, ":")
	k, known := specKinds[kind]
	if !ok || !known {
		return Listen{}, fmt.Errorf("%w %q: want %s", ErrBadListen, spec, ListenSpecUsage)
	}
	if k.family == FamilyVsock {
		addr = spec
	}
	bad := func(format string, args ...any) (Listen, error) {
		return Listen{}, fmt.Errorf("%w %q: %s", ErrBadListen, spec, fmt.Sprintf(format, args...))
	}
	if k.family == FamilyUnix {
		if err := checkSpecPath(addr); err != nil {
			return bad("%v", err)
		}
		return Listen{Type: k.typ, Address: addr}, nil
	}
	a, err := ParseAddress(addr)
	if err != nil {
		return bad("%s", strings.TrimPrefix(err.Error(), ErrBadListen.Error()+": "))
	}
	if a.Family != k.family {
		return bad("%s takes %s", kind, map[Family]string{FamilyIP: "an IP address and port", FamilyVsock: "vsock:CID:PORT"}[k.family])
	}
	if a.Family == FamilyIP && a.AddrPort.Addr().Zone() != "" {
		return bad("an address with a zone is not supported")
	}
	return Listen{Type: k.typ, Address: addr}, nil
}

// checkSpecPath checks a unix path of a listen spec: absolute, abstract or
// beginning with a folder specifier, every '%' a specifier systemd knows,
// no backslash or control character, and short enough (not counting what
// the specifiers expand to).
func checkSpecPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("control character in path")
		case c == '\\':
			return fmt.Errorf("backslash in path")
		case c == '%':
			if i+1 >= len(p) || strings.IndexByte(unitSpecifiers, p[i+1]) < 0 {
				return fmt.Errorf("%q is not a systemd specifier (write %%%% for a %%)", p[i:min(i+2, len(p))])
			}
			i++
		}
	}
	switch {
	case p[0] == '/' || p[0] == '@':
	case p[0] == '%' && strings.IndexByte(pathSpecifiers, p[1]) >= 0:
		if len(p) > 2 && p[2] != '/' {
			return fmt.Errorf("want a / after %s", p[:2])
		}
	default:
		return fmt.Errorf("a unix path must be absolute (/...), abstract (@...) or begin with a folder specifier such as %%h or %%t")
	}
	probe := p
	if p[0] == '%' {
		probe = "/x" + p[2:]
	}
	if _, err := ParseAddress(probe); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), ErrBadListen.Error()+": "))
	}
	return nil
}

// Spec is the entry as ParseListenSpec takes it back ("tcp:127.0.0.1:3000",
// "unixgram:/run/x"), or "" for an entry no spec describes (a FIFO, or a
// sequential-packet socket on IP).
func (l Listen) Spec() string {
	fam := Family("")
	switch family(l.Address) {
	case "unix":
		fam = FamilyUnix
	case "vsock":
		fam = FamilyVsock
	case "4", "6":
		fam = FamilyIP
	}
	if strings.HasPrefix(l.Address, "%") {
		fam = FamilyUnix
	}
	for kind, k := range specKinds {
		if k.typ == l.Type && k.family == fam {
			if fam == FamilyVsock {
				return l.Address
			}
			return kind + ":" + l.Address
		}
	}
	return ""
}
