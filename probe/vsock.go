package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/socktui/socktui/unit"
	"golang.org/x/sys/unix"
)

// dialVsock connects to a vsock endpoint of this host (CID 1), or reports
// it unsupported at once when the kernel has no vsock loopback transport.
//
// It never sends a connection request anywhere else: without the loopback
// transport Linux hands a connection to CID 1 to the guest-to-host
// transport, where it would hang (or reach the hypervisor). So the socket is
// first bound to CID 1, which the kernel refuses with EADDRNOTAVAIL unless
// the loopback transport exists; nothing leaves the socket before that.
func dialVsock(ctx context.Context, ep Endpoint) (conn, error) {
	cidText, portText, _ := strings.Cut(ep.Dial, ":")
	cid, err := strconv.ParseUint(cidText, 10, 32)
	if err != nil || cid != vsockCIDLocal {
		return nil, &unsupportedError{why: fmt.Sprintf("vsock %s is not this host", ep.Dial)}
	}
	port, err := strconv.ParseUint(portText, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("vsock port %q: %w", portText, err)
	}
	sotype := unix.SOCK_STREAM
	if ep.Type == unit.TypeSeqPacket {
		sotype = unix.SOCK_SEQPACKET
	}
	fd, err := unix.Socket(unix.AF_VSOCK, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &unsupportedError{why: fmt.Sprintf("vsock unsupported on this host: %v", err)}
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: vsockCIDLocal, Port: unix.VMADDR_PORT_ANY}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EADDRNOTAVAIL) {
			return nil, &unsupportedError{why: "vsock unsupported on this host: the kernel has no vsock loopback transport (vsock_loopback)"}
		}
		return nil, &unsupportedError{why: fmt.Sprintf("vsock unsupported on this host: binding CID 1: %v", err)}
	}
	err = unix.Connect(fd, &unix.SockaddrVM{CID: vsockCIDLocal, Port: uint32(port)})
	switch {
	case err == nil, errors.Is(err, unix.EINPROGRESS):
	case errors.Is(err, unix.ESOCKTNOSUPPORT), errors.Is(err, unix.EOPNOTSUPP):
		unix.Close(fd)
		return nil, &unsupportedError{why: fmt.Sprintf("vsock %s unsupported on this host: %v", ep.Type, err)}
	default:
		unix.Close(fd)
		return nil, err
	}
	// A non-blocking fd makes an *os.File that uses the runtime poller, so
	// deadlines (and so the context) interrupt it.
	f := os.NewFile(uintptr(fd), "vsock:"+ep.Dial)
	stop := context.AfterFunc(ctx, func() { f.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := waitConnected(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// waitConnected waits until the non-blocking connect on f completes.
func waitConnected(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var connErr error
	first := true
	err = rc.Write(func(fd uintptr) bool {
		if first {
			// Called once before waiting: the connect is still in progress.
			first = false
			return false
		}
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			connErr = err
		case v == int(unix.EINPROGRESS), v == int(unix.EALREADY), v == int(unix.EINTR):
			return false
		case v != 0:
			connErr = unix.Errno(v)
		}
		return true
	})
	if err != nil {
		return err
	}
	return connErr
}
