package unit

// SampleListens is one Listen entry of every type and address family
// systemd reports, for tests across packages that must agree on them.
func SampleListens() []Listen {
	return []Listen{
		{Type: TypeStream, Address: "127.0.0.1:3100"},
		{Type: TypeStream, Address: "[::1]:3100"},
		{Type: TypeDatagram, Address: "127.0.0.1:3100"},
		{Type: TypeDatagram, Address: "[::1]:3100"},
		{Type: TypeSeqPacket, Address: "127.0.0.1:3100"},
		{Type: TypeStream, Address: "/run/socktui-none/echo.sock"},
		{Type: TypeStream, Address: "@socktui-none"},
		{Type: TypeDatagram, Address: "/run/socktui-none/echo.dgram"},
		{Type: TypeSeqPacket, Address: "/run/socktui-none/echo.seqpacket"},
		{Type: TypeStream, Address: "vsock::3100"},
		{Type: TypeDatagram, Address: "vsock::3100"},
		{Type: TypeSeqPacket, Address: "vsock:1:3100"},
		{Type: TypeFIFO, Address: "/run/socktui-none/fifo"},
		{Type: TypeSpecial, Address: "/dev/kmsg"},
		{Type: TypeNetlink, Address: "kobject-uevent 1"},
		{Type: TypeMessageQueue, Address: "/socktui-none"},
		{Type: TypeUSBFunction, Address: "/dev/usb-ffs/none"},
	}
}
