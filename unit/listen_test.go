package unit

import "testing"

func TestListenNetwork(t *testing.T) {
	tests := []struct {
		typ, addr string
		want      Network
	}{
		{TypeStream, "127.0.0.1:3000", TCP4},
		{TypeStream, "0.0.0.0:3000", TCP4},
		{TypeStream, "3000", TCP4},
		{TypeStream, "[::1]:3000", TCP6},
		{TypeStream, "[::]:3000", TCP6},
		{TypeStream, "[::ffff:127.0.0.1]:3000", TCP4},
		{TypeStream, "[fe80::1%eth0]:3000", TCP6},
		{TypeDatagram, "127.0.0.1:3000", UDP4},
		{TypeDatagram, "[::1]:3000", UDP6},
		{TypeSeqPacket, "127.0.0.1:3000", SCTP4},
		{TypeSeqPacket, "[::1]:3000", SCTP6},
		{TypeStream, "/run/echo.sock", Unix},
		{TypeStream, "@abstract", Unix},
		{TypeDatagram, "/run/echo.dgram", Unixgram},
		{TypeSeqPacket, "/run/echo.seqpacket", Unixpacket},
		{TypeStream, "vsock::3000", Vsock},
		{TypeStream, "vsock:4294967295:3000", Vsock},
		{TypeDatagram, "vsock::3000", Vsockgram},
		{TypeSeqPacket, "vsock:1:3000", Vsockpacket},
		{TypeFIFO, "/run/fifo", FIFO},
		{TypeSpecial, "/dev/kmsg", Special},
		{TypeNetlink, "kobject-uevent 1", Netlink},
		{TypeMessageQueue, "/mq", MQueue},
		{TypeUSBFunction, "/dev/usb-ffs/x", USBFunction},
		{TypeStream, "not an address", "stream"},
		{"Bogus", "/x", "bogus"},
	}
	for _, tt := range tests {
		if got := (Listen{Type: tt.typ, Address: tt.addr}).Network(); got != tt.want {
			t.Errorf("Listen{%s %q}.Network() = %q, want %q", tt.typ, tt.addr, got, tt.want)
		}
	}
}

func TestListenDirective(t *testing.T) {
	if got := (Listen{Type: TypeSeqPacket}).Directive(); got != "ListenSequentialPacket" {
		t.Errorf("Directive() = %q", got)
	}
}
