package echo

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"golang.org/x/sys/unix"
)

// Kind is how the server treats a socket.
type Kind string

// The kinds of socket. Other covers every fd the server leaves alone: FIFOs,
// netlink and special files, and sockets of a type it does not serve.
const (
	Stream    Kind = "stream"
	Datagram  Kind = "datagram"
	SeqPacket Kind = "seqpacket"
	Other     Kind = "other"
)

// Socket is one listening socket (or other inherited fd) the server owns.
type Socket struct {
	// File is the fd. For Stream, Datagram and SeqPacket it is in
	// non-blocking mode and registered with Go's poller, so it must not be
	// used through File.Fd (which would make it blocking again).
	File *os.File
	// Name is the fd's name from LISTEN_FDNAMES (systemd gives the socket
	// unit's name by default), or the --listen argument it came from.
	Name string
	// Kind says how the server serves it.
	Kind Kind
	// Family is "inet", "inet6", "unix", "vsock", "netlink", a socket's
	// numeric family, or for a non-socket "fifo", "char", "file", ...
	Family string
	// Addr is the local address: "127.0.0.1:3000", "[::1]:3000", a unix
	// path, "@abstract", "vsock:CID:PORT"; empty when unknown.
	Addr string

	unlink string // a unix path this process bound and removes on Close
}

// String is the line logged for the socket at start.
func (s *Socket) String() string {
	addr := s.Addr
	if addr == "" {
		addr = "-"
	}
	return fmt.Sprintf("%s %s %s (name %q)", s.Family, s.Kind, addr, s.Name)
}

// Close closes the fd and removes a unix socket file this process created
// with ListenOn. Sockets inherited from systemd keep their files: systemd owns
// them.
func (s *Socket) Close() error {
	err := s.File.Close()
	if s.unlink != "" {
		_ = os.Remove(s.unlink)
	}
	return err
}

// Inherited takes the fds passed by systemd's socket activation protocol
// (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), unsets those variables and
// classifies each fd. It returns nil when the process was not given any (or
// LISTEN_PID names another process).
func Inherited() ([]*Socket, error) {
	files := activation.Files(true)
	socks := make([]*Socket, 0, len(files))
	for _, f := range files {
		s, err := adopt(f, f.Name())
		if err != nil {
			closeAll(socks)
			return nil, err
		}
		socks = append(socks, s)
	}
	return socks, nil
}

// FromFile classifies f, as Inherited does for each inherited fd, and takes
// ownership of it: f is closed and the returned Socket holds a duplicate of
// its fd (non-blocking when the server serves it).
func FromFile(f *os.File, name string) (*Socket, error) {
	return adopt(f, name)
}

func closeAll(socks []*Socket) {
	for _, s := range socks {
		s.Close()
	}
}

// adopt duplicates f's fd, closes f, classifies the duplicate with
// getsockopt(SO_DOMAIN, SO_TYPE) and, for a kind the server serves, makes it
// non-blocking and wraps it so that Go's poller (and deadlines) work on it.
// net.FileListener cannot be used: it rejects AF_VSOCK and accepts unix
// datagram fds as listeners.
func adopt(f *os.File, name string) (*Socket, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("duplicating fd %q: %w", name, err)
	}
	s := &Socket{Name: name, Kind: Other}
	domain, derr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	typ, terr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if derr != nil || terr != nil {
		// Not a socket: a FIFO or special file. Left alone, but kept open.
		s.Family = fileType(fd)
		s.File = os.NewFile(uintptr(fd), name)
		return s, nil
	}
	s.Family = familyName(domain)
	if sa, err := unix.Getsockname(fd); err == nil {
		s.Addr = FormatSockaddr(sa)
	}
	switch domain {
	case unix.AF_INET, unix.AF_INET6, unix.AF_UNIX, unix.AF_VSOCK:
		switch typ {
		case unix.SOCK_STREAM:
			s.Kind = Stream
		case unix.SOCK_DGRAM:
			if domain != unix.AF_VSOCK {
				s.Kind = Datagram
			}
		case unix.SOCK_SEQPACKET:
			if domain == unix.AF_UNIX || domain == unix.AF_VSOCK {
				s.Kind = SeqPacket
			}
		}
	}
	if s.Kind == Stream || s.Kind == SeqPacket {
		// An inherited stream socket must already listen; one that does
		// not (a connected socket) is left alone.
		if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || acc == 0 {
			s.Kind = Other
		}
	}
	if s.Kind != Other {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("making fd %q non-blocking: %w", name, err)
		}
	}
	s.File = os.NewFile(uintptr(fd), name)
	return s, nil
}

func familyName(domain int) string {
	switch domain {
	case unix.AF_INET:
		return "inet"
	case unix.AF_INET6:
		return "inet6"
	case unix.AF_UNIX:
		return "unix"
	case unix.AF_VSOCK:
		return "vsock"
	case unix.AF_NETLINK:
		return "netlink"
	case unix.AF_PACKET:
		return "packet"
	}
	return "family-" + strconv.Itoa(domain)
}

func fileType(fd int) string {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "unknown"
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFBLK:
		return "block"
	}
	return "special"
}

// FormatSockaddr writes a socket address as systemd writes Listen addresses:
// "127.0.0.1:3000", "[::1]:3000", a path, "@abstract", "vsock:CID:PORT".
// An unnamed unix socket is "".
func FormatSockaddr(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				ip = ip.WithZone(ifi.Name)
			}
		}
		return netip.AddrPortFrom(ip, uint16(a.Port)).String()
	case *unix.SockaddrUnix:
		if unnamedUnix(a) {
			return ""
		}
		return a.Name
	case *unix.SockaddrVM:
		return fmt.Sprintf("vsock:%d:%d", a.CID, a.Port)
	}
	return ""
}

// unnamedUnix reports whether a is the address of an unbound unix socket,
// which cannot receive a reply. x/sys reports it as "" or, for a zero-length
// abstract name, "@".
func unnamedUnix(a *unix.SockaddrUnix) bool {
	return a.Name == "" || a.Name == "@"
}

// ErrBadListen is wrapped by ListenOn's errors for an argument it cannot parse.
var ErrBadListen = errors.New("bad listen address")

// ListenUsage describes the forms ListenOn accepts.
const ListenUsage = "tcp:HOST:PORT, tcp4:..., tcp6:[::1]:PORT, udp:HOST:PORT, udp4:..., udp6:..., " +
	"unix:PATH, unixgram:PATH, unixpacket:PATH (PATH may be @abstract), vsock:PORT"

// ListenOn opens a socket for development, without systemd: spec is
// NETWORK:ADDRESS as described by ListenUsage ("tcp:127.0.0.1:0",
// "unix:/tmp/echo.sock", "vsock:3000"). A unix socket file it creates is
// removed by the Socket's Close.
func ListenOn(spec string) (*Socket, error) {
	network, addr, ok := strings.Cut(spec, ":")
	if !ok || addr == "" {
		return nil, fmt.Errorf("%w %q: want NETWORK:ADDRESS (%s)", ErrBadListen, spec, ListenUsage)
	}
	var (
		f      *os.File
		err    error
		unlink string
	)
	switch network {
	case "tcp", "tcp4", "tcp6", "unix", "unixpacket":
		var l net.Listener
		l, err = net.Listen(network, addr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", spec, err)
		}
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false)
			if !strings.HasPrefix(addr, "@") {
				unlink = addr
			}
		}
		f, err = l.(interface{ File() (*os.File, error) }).File()
		l.Close()
	case "udp", "udp4", "udp6", "unixgram":
		var c net.PacketConn
		c, err = net.ListenPacket(network, addr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", spec, err)
		}
		if network == "unixgram" && !strings.HasPrefix(addr, "@") {
			unlink = addr
		}
		f, err = c.(interface{ File() (*os.File, error) }).File()
		c.Close()
	case "vsock":
		f, err = listenVsock(addr)
	default:
		return nil, fmt.Errorf("%w %q: unknown network %q (%s)", ErrBadListen, spec, network, ListenUsage)
	}
	if err != nil {
		if unlink != "" {
			os.Remove(unlink)
		}
		return nil, fmt.Errorf("listen %s: %w", spec, err)
	}
	s, err := adopt(f, spec)
	if err != nil {
		return nil, err
	}
	s.unlink = unlink
	return s, nil
}

func listenVsock(port string) (*os.File, error) {
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: vsock port %q", ErrBadListen, port)
	}
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: uint32(p)}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock bind: %w", err)
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock listen: %w", err)
	}
	return os.NewFile(uintptr(fd), "vsock:"+port), nil
}
