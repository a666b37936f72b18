package unit

import (
	"encoding/json"
	"net/netip"
	"strings"
)

// Listen is one entry of a socket unit's Listen property, exactly as systemd
// reports it: Type is Stream, Datagram, SequentialPacket, FIFO, Special,
// Netlink, MessageQueue or USBFunction; Address is "127.0.0.1:3000",
// "[::1]:3000", a path (C-escaped by systemd), "@abstract", "vsock::3000"
// or "vsock:CID:PORT".
type Listen struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// The Listen types systemd reports, on org.freedesktop.systemd1.Socket.
const (
	TypeStream       = "Stream"
	TypeDatagram     = "Datagram"
	TypeSeqPacket    = "SequentialPacket"
	TypeFIFO         = "FIFO"
	TypeSpecial      = "Special"
	TypeNetlink      = "Netlink"
	TypeMessageQueue = "MessageQueue"
	TypeUSBFunction  = "USBFunction"
)

// Directive is the socket unit directive for the entry's type
// (ListenStream, ListenDatagram, ListenSequentialPacket, ListenFIFO, ...).
func (l Listen) Directive() string { return "Listen" + l.Type }

// Network is the one name of a Listen entry's transport, shown by the UI,
// the CLI and JSON alike; for sockets it is the network a Go program (and
// a probe) dials.
type Network string

// The networks. The socket ones are Go's names (net.Dial), with vsock and
// SCTP named the same way; the others name what the entry is.
const (
	TCP4        Network = "tcp4"
	TCP6        Network = "tcp6"
	UDP4        Network = "udp4"
	UDP6        Network = "udp6"
	SCTP4       Network = "sctp4" // sequential packets over IPv4
	SCTP6       Network = "sctp6"
	Unix        Network = "unix"
	Unixgram    Network = "unixgram"
	Unixpacket  Network = "unixpacket"
	Vsock       Network = "vsock"
	Vsockgram   Network = "vsockgram"
	Vsockpacket Network = "vsockpacket"
	FIFO        Network = "fifo"
	Special     Network = "special"
	Netlink     Network = "netlink"
	MQueue      Network = "mqueue"
	USBFunction Network = "usbfunction"
)

// Network is the entry's network: its type and the family of its address
// ("Stream" on "[::1]:80" is tcp6, "Datagram" on a path unixgram). An
// IPv4-mapped IPv6 address and a bare port are IPv4. A socket entry whose
// address is none of these, or an unknown type, gives the lower-cased type.
func (l Listen) Network() Network {
	switch l.Type {
	case TypeFIFO:
		return FIFO
	case TypeSpecial:
		return Special
	case TypeNetlink:
		return Netlink
	case TypeMessageQueue:
		return MQueue
	case TypeUSBFunction:
		return USBFunction
	case TypeStream, TypeDatagram, TypeSeqPacket:
	default:
		return Network(strings.ToLower(l.Type))
	}
	// stream, datagram, seqpacket for each family
	var names [3]Network
	switch family(l.Address) {
	case "unix":
		names = [3]Network{Unix, Unixgram, Unixpacket}
	case "vsock":
		names = [3]Network{Vsock, Vsockgram, Vsockpacket}
	case "4":
		names = [3]Network{TCP4, UDP4, SCTP4}
	case "6":
		names = [3]Network{TCP6, UDP6, SCTP6}
	default:
		return Network(strings.ToLower(l.Type))
	}
	switch l.Type {
	case TypeStream:
		return names[0]
	case TypeDatagram:
		return names[1]
	}
	return names[2]
}

// family classifies a Listen address: "unix" (a path or @abstract),
// "vsock", "4", "6", or "" when it is none of them.
func family(addr string) string {
	switch {
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "@"):
		return "unix"
	case strings.HasPrefix(addr, "vsock:"):
		return "vsock"
	case addr != "" && strings.Trim(addr, "0123456789") == "":
		return "4" // a port alone, which a probe dials on 127.0.0.1
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return ""
	}
	if ip := ap.Addr().Unmap(); ip.Is4() {
		return "4"
	}
	return "6"
}

// MarshalJSON writes the entry with its network beside systemd's fields:
// {"type":"Stream","address":"127.0.0.1:80","network":"tcp4"}.
func (l Listen) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type    string  `json:"type"`
		Address string  `json:"address"`
		Network Network `json:"network"`
	}{l.Type, l.Address, l.Network()})
}
