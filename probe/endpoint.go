package probe

import (
	"fmt"
	"net/netip"

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
	vsockCIDLocal = 1                // VMADDR_CID_LOCAL: this host, through the loopback transport
	vsockCIDHost  = 2                // VMADDR_CID_HOST: the hypervisor host, never probed
	vsockCIDAny   = unit.VsockCIDAny // VMADDR_CID_ANY: listening on every CID
)

// maxUnixPath is the longest path (or abstract name, with its '@') that fits
// in sockaddr_un.sun_path with its terminating NUL.
const maxUnixPath = unit.MaxUnixPath

// ErrBadListen is wrapped by every error of ParseListen; it is
// unit.ErrBadListen, the error of the one Listen parser.
var ErrBadListen = unit.ErrBadListen

// ParseListen resolves one Listen entry (type and address, as systemd
// reports them in the Listen property of a socket unit) into an Endpoint.
// The address is parsed by unit.ParseAddress; ParseListen adds what a
// probe may target.
//
// Stream, Datagram and SequentialPacket entries on an IP address, a unix
// path, an abstract name ("@name", both C-escaped as systemd reports them:
// see unit.UnescapeC) or vsock ("vsock::PORT", "vsock:CID:PORT") are
// probeable, with these exceptions, returned with Probeable false and a
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
	a, err := unit.ParseAddress(addr)
	if err != nil {
		return ep, err
	}
	switch a.Family {
	case unit.FamilyUnix:
		ep.Dial, ep.Probeable = a.Path, true
		return ep, nil
	case unit.FamilyVsock:
		return vsockEndpoint(ep, typ, a)
	default:
		return ipEndpoint(ep, typ, a)
	}
}

func notProbeable(ep Endpoint, why string) Endpoint {
	ep.Probeable, ep.Reason = false, why
	return ep
}

func vsockEndpoint(ep Endpoint, typ string, a unit.Address) (Endpoint, error) {
	if typ == unit.TypeDatagram {
		// No transport in Linux carries vsock datagrams to this host.
		return notProbeable(ep, "vsock datagrams have no loopback transport"), nil
	}
	switch a.CID {
	case vsockCIDAny, vsockCIDLocal:
	case vsockCIDHost:
		return notProbeable(ep, "vsock CID 2 is the hypervisor host, never probed"), nil
	default:
		return notProbeable(ep, fmt.Sprintf("vsock CID %d is another machine: a probe only targets this host", a.CID)), nil
	}
	ep.Dial = fmt.Sprintf("%d:%d", vsockCIDLocal, a.Port)
	ep.Probeable = true
	return ep, nil
}

func ipEndpoint(ep Endpoint, typ string, a unit.Address) (Endpoint, error) {
	ip := a.AddrPort.Addr().Unmap()
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
	ep.Dial = netip.AddrPortFrom(ip, a.AddrPort.Port()).String()
	ep.Probeable = true
	return ep, nil
}
