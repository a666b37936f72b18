package wire

// The D-Bus wire format, as far as wire.go needs it: method calls whose
// arguments are strings and string arrays, the header fields of replies,
// and a decoder of bodies that yields the values godbus's decoder yields.
// https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol-marshaling

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// D-Bus names the calls use.
const (
	busName      = "org.freedesktop.systemd1"
	managerPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface = "org.freedesktop.systemd1.Manager"
	propsIface   = "org.freedesktop.DBus.Properties"
	peerIface    = "org.freedesktop.DBus.Peer"
)

// D-Bus message types and header field codes.
const (
	msgMethodCall   = 1
	msgMethodReturn = 2
	msgError        = 3

	fieldPath        = 1
	fieldInterface   = 2
	fieldMember      = 3
	fieldErrorName   = 4
	fieldReplySerial = 5
	fieldDestination = 6
	fieldSignature   = 8

	// maxMessage is the D-Bus limit on a message's length (128 MiB).
	maxMessage = 1 << 27
	// maxDepth bounds nesting in decoded values (the D-Bus limit is 32
	// arrays plus 32 structs).
	maxDepth = 64
)

var (
	errUnsupported = errors.New("value shape not handled by the fast decoder")
	errMalformed   = errors.New("malformed D-Bus message")
)

// appendGetCall appends an org.freedesktop.DBus.Properties.Get method call
// to buf.
func appendGetCall(buf []byte, serial uint32, path dbus.ObjectPath, iface, prop string) []byte {
	return appendCall(buf, serial, path, propsIface, "Get", iface, prop)
}

// appendCall appends a method call to the manager to buf, little-endian.
// Its arguments are strings and string arrays ([]string), all a listing
// sends.
func appendCall(buf []byte, serial uint32, path dbus.ObjectPath, iface, member string, args ...any) []byte {
	le := binary.LittleEndian
	start := len(buf)
	sig := make([]byte, 0, 2*len(args))
	for _, a := range args {
		if _, ok := a.([]string); ok {
			sig = append(sig, 'a')
		}
		sig = append(sig, 's')
	}
	buf = append(buf, 'l', msgMethodCall, 0, 1)
	buf = le.AppendUint32(buf, 0) // body length, set below
	buf = le.AppendUint32(buf, serial)
	buf = le.AppendUint32(buf, 0) // header fields length, set below
	fields := len(buf)
	buf = appendStringField(buf, start, fieldPath, 'o', string(path))
	buf = appendStringField(buf, start, fieldInterface, 's', iface)
	buf = appendStringField(buf, start, fieldMember, 's', member)
	buf = appendStringField(buf, start, fieldDestination, 's', busName)
	if len(sig) > 0 {
		buf = pad(buf, start, 8)
		buf = append(buf, fieldSignature, 1, 'g', 0, byte(len(sig)))
		buf = append(buf, sig...)
		buf = append(buf, 0)
	}
	le.PutUint32(buf[start+12:], uint32(len(buf)-fields))
	buf = pad(buf, start, 8)
	body := len(buf)
	for _, a := range args {
		switch a := a.(type) {
		case string:
			buf = appendString(buf, start, a)
		case []string:
			buf = pad(buf, start, 4)
			n := len(buf)
			buf = le.AppendUint32(buf, 0) // array length, set below
			for _, s := range a {
				buf = appendString(buf, start, s)
			}
			le.PutUint32(buf[n:], uint32(len(buf)-n-4))
		default:
			panic(fmt.Sprintf("wire: appendCall cannot encode %T", a))
		}
	}
	le.PutUint32(buf[start+4:], uint32(len(buf)-body))
	return buf
}

func appendStringField(buf []byte, start int, code byte, typ byte, s string) []byte {
	buf = pad(buf, start, 8)
	buf = append(buf, code, 1, typ, 0)
	return appendString(buf, start, s)
}

func appendString(buf []byte, start int, s string) []byte {
	buf = pad(buf, start, 4)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	buf = append(buf, s...)
	return append(buf, 0)
}

// pad appends zero bytes until the message that begins at start is
// aligned to n.
func pad(buf []byte, start, n int) []byte {
	for (len(buf)-start)%n != 0 {
		buf = append(buf, 0)
	}
	return buf
}

func align8(n int) int { return (n + 7) &^ 7 }

func byteOrder(b byte) (binary.ByteOrder, error) {
	switch b {
	case 'l':
		return binary.LittleEndian, nil
	case 'B':
		return binary.BigEndian, nil
	}
	return nil, fmt.Errorf("%w: byte order %q", errMalformed, b)
}

// parseFields reads the header fields of msg into rep: the reply serial,
// the error name and the body's signature.
func parseFields(msg []byte, order binary.ByteOrder, rep *reply) error {
	end := 16 + int(order.Uint32(msg[12:]))
	if end > len(msg) {
		return errMalformed
	}
	d := dec{b: msg[:end], pos: 16, order: order}
	for d.pos < end {
		if err := d.align(8); err != nil {
			return err
		}
		code, err := d.byte()
		if err != nil {
			return err
		}
		vsig, err := d.signature()
		if err != nil {
			return err
		}
		switch {
		case code == fieldReplySerial && vsig == "u":
			rep.replySerial, err = d.u32()
		case code == fieldSignature && vsig == "g":
			rep.sig, err = d.signature()
		case code == fieldErrorName && vsig == "s":
			rep.errName, err = d.str()
		case vsig == "s" || vsig == "o":
			_, err = d.str()
		case vsig == "u":
			_, err = d.u32()
		case vsig == "g":
			_, err = d.signature()
		default:
			_, _, err = d.value(vsig, 0)
		}
		if err != nil {
			return err
		}
	}
	if rep.replySerial == 0 {
		return fmt.Errorf("%w: reply without a serial", errMalformed)
	}
	return nil
}

// dec decodes D-Bus values from b into the Go values godbus's decoder
// produces for the same signature: basic types as their Go types, arrays
// of strings, uint32, uint64 and bytes as typed slices, structs as []any
// and arrays of structs as [][]any. Doubles, variants, dicts, signatures,
// file descriptors and other arrays are not handled (errUnsupported).
type dec struct {
	b     []byte
	pos   int
	order binary.ByteOrder
}

func (d *dec) align(n int) error {
	p := (d.pos + n - 1) &^ (n - 1)
	if p > len(d.b) {
		return errMalformed
	}
	d.pos = p
	return nil
}

func (d *dec) next(n int) ([]byte, error) {
	if n < 0 || d.pos+n > len(d.b) {
		return nil, errMalformed
	}
	p := d.b[d.pos : d.pos+n]
	d.pos += n
	return p, nil
}

func (d *dec) byte() (byte, error) {
	p, err := d.next(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (d *dec) u32() (uint32, error) {
	if err := d.align(4); err != nil {
		return 0, err
	}
	p, err := d.next(4)
	if err != nil {
		return 0, err
	}
	return d.order.Uint32(p), nil
}

func (d *dec) u64() (uint64, error) {
	if err := d.align(8); err != nil {
		return 0, err
	}
	p, err := d.next(8)
	if err != nil {
		return 0, err
	}
	return d.order.Uint64(p), nil
}

func (d *dec) u16() (uint16, error) {
	if err := d.align(2); err != nil {
		return 0, err
	}
	p, err := d.next(2)
	if err != nil {
		return 0, err
	}
	return d.order.Uint16(p), nil
}

// str reads a string (or object path): length, bytes, a nul.
func (d *dec) str() (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	p, err := d.next(int(min(n, maxMessage)) + 1)
	if err != nil {
		return "", err
	}
	if p[len(p)-1] != 0 {
		return "", errMalformed
	}
	return string(p[:len(p)-1]), nil
}

// signature reads a signature: one length byte, the bytes, a nul.
func (d *dec) signature() (string, error) {
	n, err := d.byte()
	if err != nil {
		return "", err
	}
	p, err := d.next(int(n) + 1)
	if err != nil {
		return "", err
	}
	if p[len(p)-1] != 0 {
		return "", errMalformed
	}
	return string(p[:len(p)-1]), nil
}

// value decodes one value of the first complete type in sig and returns
// it with the rest of sig.
func (d *dec) value(sig string, depth int) (any, string, error) {
	if sig == "" {
		return nil, "", errMalformed
	}
	if depth > maxDepth {
		return nil, "", errMalformed
	}
	var v any
	var err error
	switch sig[0] {
	case 'y':
		v, err = d.byte()
	case 'b':
		var u uint32
		if u, err = d.u32(); err == nil {
			switch u {
			case 0:
				v = false
			case 1:
				v = true
			default:
				err = errMalformed
			}
		}
	case 'n':
		var u uint16
		u, err = d.u16()
		v = int16(u)
	case 'q':
		v, err = d.u16()
	case 'i':
		var u uint32
		u, err = d.u32()
		v = int32(u)
	case 'u':
		v, err = d.u32()
	case 'x':
		var u uint64
		u, err = d.u64()
		v = int64(u)
	case 't':
		v, err = d.u64()
	case 's':
		v, err = d.str()
	case 'o':
		var p string
		p, err = d.str()
		v = dbus.ObjectPath(p)
	case 'a':
		return d.array(sig, depth)
	case '(':
		return d.strct(sig, depth)
	default:
		return nil, "", errUnsupported
	}
	return v, sig[1:], err
}

// array decodes an array whose signature starts sig.
func (d *dec) array(sig string, depth int) (any, string, error) {
	if len(sig) < 2 {
		return nil, "", errMalformed
	}
	n, err := d.u32()
	if err != nil {
		return nil, "", err
	}
	if n > 1<<26 {
		return nil, "", errMalformed // the D-Bus limit on an array
	}
	if err := d.align(alignment(sig[1])); err != nil {
		return nil, "", err
	}
	end := d.pos + int(n)
	if end > len(d.b) {
		return nil, "", errMalformed
	}
	elem := sig[1:]
	var out any
	var rest string
	switch elem[0] {
	case 's':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *dec) (string, error) { return d.str() })
	case 'u':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *dec) (uint32, error) { return d.u32() })
	case 't':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *dec) (uint64, error) { return d.u64() })
	case 'y':
		var p []byte
		if p, err = d.next(int(n)); err == nil {
			out, rest = bytes.Clone(p), elem[1:]
		}
	case '(':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *dec) ([]any, error) {
			v, _, err := d.strct(elem, depth+1)
			s, _ := v.([]any)
			return s, err
		})
		if err == nil {
			_, rest, err = skipType(elem)
		}
	default:
		return nil, "", errUnsupported
	}
	if err != nil {
		return nil, "", err
	}
	if d.pos != end {
		return nil, "", errMalformed
	}
	return out, rest, nil
}

// decodeAll decodes elements until the array's end. rest is what follows
// a one-letter element type in sig.
func decodeAll[T any](d *dec, end int, elem string, depth int, one func(*dec) (T, error)) ([]T, string, error) {
	out := make([]T, 0)
	for d.pos < end {
		v, err := one(d)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, elem[1:], nil
}

// strct decodes a struct whose signature starts sig.
func (d *dec) strct(sig string, depth int) (any, string, error) {
	if err := d.align(8); err != nil {
		return nil, "", err
	}
	out := make([]any, 0, 4)
	rest := sig[1:]
	for {
		if rest == "" {
			return nil, "", errMalformed
		}
		if rest[0] == ')' {
			if len(out) == 0 {
				return nil, "", errMalformed
			}
			return out, rest[1:], nil
		}
		v, r, err := d.value(rest, depth+1)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
		rest = r
	}
}

// skipType returns the rest of sig after its first complete type.
func skipType(sig string) (string, string, error) {
	if sig == "" {
		return "", "", errMalformed
	}
	switch sig[0] {
	case 'a':
		_, rest, err := skipType(sig[1:])
		return sig[:len(sig)-len(rest)], rest, err
	case '(':
		rest := sig[1:]
		for rest != "" && rest[0] != ')' {
			var err error
			if _, rest, err = skipType(rest); err != nil {
				return "", "", err
			}
		}
		if rest == "" {
			return "", "", errMalformed
		}
		return sig[:len(sig)-len(rest)+1], rest[1:], nil
	}
	return sig[:1], sig[1:], nil
}

// alignment is the alignment of values whose signature starts with c.
func alignment(c byte) int {
	switch c {
	case 'n', 'q':
		return 2
	case 'b', 'i', 'u', 's', 'o', 'a', 'h':
		return 4
	case 'x', 't', 'd', '(', '{':
		return 8
	}
	return 1
}

// UnitStatus is one entry of a ListUnits* reply, a(ssssssouso), in the
// order systemd sends its fields (so dbus.Store fills it from godbus's
// values too).
type UnitStatus struct {
	Name, Description, LoadState, ActiveState, SubState, Following string
	Path                                                           dbus.ObjectPath
	JobID                                                          uint32
	JobType                                                        string
	JobPath                                                        dbus.ObjectPath
}

// unitsSignature is the reply of ListUnits*: a(ssssssouso).
const unitsSignature = "a(ssssssouso)"

// units decodes a ListUnits* reply straight into UnitStatus values: the
// generic path (a [][]any of 10,000 values stored by reflection) took most
// of a 1,000-unit listing's time in a fresh process. Another signature
// goes the generic way.
func (w *Conn) units(rep reply) ([]UnitStatus, error) {
	if rep.sig != unitsSignature {
		var units []UnitStatus
		vals, err := w.values(rep)
		if err == nil {
			err = dbus.Store(vals, &units)
		}
		return units, err
	}
	d := dec{b: rep.body, order: rep.order}
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	if err := d.align(8); err != nil {
		return nil, err
	}
	end := d.pos + int(min(n, maxMessage))
	if end > len(d.b) {
		return nil, errMalformed
	}
	units := make([]UnitStatus, 0, n/64)
	for d.pos < end {
		if err := d.align(8); err != nil {
			return nil, err
		}
		var u UnitStatus
		for _, f := range []*string{&u.Name, &u.Description, &u.LoadState, &u.ActiveState, &u.SubState, &u.Following} {
			if *f, err = d.str(); err != nil {
				return nil, err
			}
		}
		var p string
		if p, err = d.str(); err != nil {
			return nil, err
		}
		u.Path = dbus.ObjectPath(p)
		if u.JobID, err = d.u32(); err != nil {
			return nil, err
		}
		if u.JobType, err = d.str(); err != nil {
			return nil, err
		}
		if p, err = d.str(); err != nil {
			return nil, err
		}
		u.JobPath = dbus.ObjectPath(p)
		units = append(units, u)
	}
	if d.pos != end {
		return nil, errMalformed
	}
	return units, nil
}
