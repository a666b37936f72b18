package systemdbus

// A narrow D-Bus client for the one call a listing makes thousands of
// times: org.freedesktop.DBus.Properties.Get, pipelined on the manager's
// private socket.
//
// Why not godbus for this: measured on 1,000 sockets, godbus spends about
// 45 µs of our CPU per pipelined call (reflection to encode and decode, a
// goroutine hand-off and three syscalls), while systemd itself spends about
// 18 µs per message. Here the calls are encoded by hand into one buffer,
// written in a few syscalls and answered from a buffered reader, about 2 µs
// each, so a listing runs at systemd's pace. Values come back as
// dbus.Variant holding exactly what godbus would have decoded, so the code
// that stores them is shared; replies of a shape this decoder does not
// know are handed to godbus's own decoder.
//
// Everything else (signals, actions, the unit lists, Watch) stays on godbus.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
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

// wireConn is an authenticated peer-to-peer connection to a manager's
// private socket. It is used by one goroutine at a time.
type wireConn struct {
	conn   net.Conn
	r      *bufio.Reader
	serial uint32
	buf    bytes.Buffer              // holds msg
	msg    []byte                    // the last message read
	sigs   map[string]dbus.Signature // parsed variant signatures
}

// dialWire connects to a manager's private socket and authenticates as
// the effective user (EXTERNAL), as DialPrivate does.
func dialWire(ctx context.Context, path string) (*wireConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Geteuid())))
	w := &wireConn{conn: c, r: bufio.NewReaderSize(c, 64<<10), sigs: map[string]dbus.Signature{}}
	if _, err := io.WriteString(c, "\x00AUTH EXTERNAL "+uid+"\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	line, err := w.r.ReadSlice('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("authenticating: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("OK ")) {
		c.Close()
		return nil, fmt.Errorf("authenticating: the manager answered %q", strings.TrimSpace(string(line)))
	}
	if _, err := io.WriteString(c, "BEGIN\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	if err := w.settle(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return w, nil
}

// settle pings the manager until a reply comes back. sd-bus (systemd 252)
// reads greedily while it authenticates a client: a message that arrives
// together with BEGIN stays in its buffer, unanswered, until more bytes
// arrive. Each new ping is such bytes; once one is answered, messages are
// read one at a time and nothing more can be stranded.
func (w *wireConn) settle(ctx context.Context) error {
	defer w.conn.SetReadDeadline(time.Time{})
	var pings []byte
	first := w.serial + 1
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.serial++
		pings = appendCall(pings[:0], w.serial, managerPath, "org.freedesktop.DBus.Peer", "Ping")
		if _, err := w.conn.Write(pings); err != nil {
			return err
		}
		deadline := time.Now().Add(wait)
		for {
			// Wait for a message with a deadline, then read it whole
			// without one: a deadline never cuts a message in two.
			_ = w.conn.SetReadDeadline(deadline)
			if _, err := w.r.Peek(1); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // ping again
				}
				return err
			}
			_ = w.conn.SetReadDeadline(time.Time{})
			rep, err := w.readOne()
			if err != nil {
				return err
			}
			if (rep.typ == msgMethodReturn || rep.typ == msgError) && rep.replySerial >= first {
				return nil
			}
		}
	}
}

func (w *wireConn) Close() error { return w.conn.Close() }

// wireReply is one method return or error read from the connection. Its
// body is valid until the next read.
type wireReply struct {
	typ         byte
	replySerial uint32
	errName     string // of an error
	sig         string // the body's signature
	body        []byte
	order       binary.ByteOrder
}

// read reads messages until a method return or error arrives and returns
// it; signals and calls (the manager sends every signal on its private
// socket) are skipped.
func (w *wireConn) read() (wireReply, error) {
	for {
		rep, err := w.readOne()
		if err != nil || rep.typ == msgMethodReturn || rep.typ == msgError {
			return rep, err
		}
	}
}

// readOne reads one message; for a signal or a call only typ is set.
func (w *wireConn) readOne() (wireReply, error) {
	hdr, err := w.r.Peek(16)
	if err != nil {
		return wireReply{}, err
	}
	order, err := byteOrder(hdr[0])
	if err != nil {
		return wireReply{}, err
	}
	bodyLen, fieldsLen := order.Uint32(hdr[4:]), order.Uint32(hdr[12:])
	total := 16 + uint64(align8(int(min(fieldsLen, maxMessage)))) + uint64(bodyLen)
	if total > maxMessage {
		return wireReply{}, fmt.Errorf("%w: %d bytes", errMalformed, total)
	}
	// The buffer grows as bytes arrive, not to the length a header
	// claims.
	w.buf.Reset()
	if _, err := io.CopyN(&w.buf, w.r, int64(total)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return wireReply{}, err
	}
	w.msg = w.buf.Bytes()
	typ := w.msg[1]
	if typ != msgMethodReturn && typ != msgError {
		return wireReply{typ: typ}, nil
	}
	rep := wireReply{typ: typ, order: order, body: w.msg[16+align8(int(fieldsLen)):]}
	if err := parseFields(w.msg, order, &rep); err != nil {
		return wireReply{}, err
	}
	return rep, nil
}

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
func parseFields(msg []byte, order binary.ByteOrder, rep *wireReply) error {
	end := 16 + int(order.Uint32(msg[12:]))
	if end > len(msg) {
		return errMalformed
	}
	d := wdec{b: msg[:end], pos: 16, order: order}
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

// variant decodes the body of a Get reply: one variant. A shape the fast
// decoder does not handle goes through godbus's decoder instead.
func (w *wireConn) variant(rep wireReply) (dbus.Variant, error) {
	if rep.sig != "v" {
		return dbus.Variant{}, fmt.Errorf("%w: reply signature %q", errMalformed, rep.sig)
	}
	d := wdec{b: rep.body, order: rep.order}
	vsig, err := d.signature()
	if err != nil {
		return dbus.Variant{}, err
	}
	v, rest, err := d.value(vsig, 0)
	if err == nil && rest != "" {
		err = fmt.Errorf("%w: variant signature %q holds more than one type", errMalformed, vsig)
	}
	if errors.Is(err, errUnsupported) {
		body, err := w.godbusBody()
		if err != nil {
			return dbus.Variant{}, err
		}
		if v, ok := body[0].(dbus.Variant); ok {
			return v, nil
		}
		return dbus.Variant{}, errMalformed
	}
	if err != nil {
		return dbus.Variant{}, err
	}
	s, ok := w.sigs[vsig]
	if !ok {
		if s, err = dbus.ParseSignature(vsig); err != nil {
			return dbus.Variant{}, err
		}
		w.sigs[vsig] = s
	}
	return dbus.MakeVariantWithSignature(v, s), nil
}

// values decodes a reply's body, one value per complete type of its
// signature, as godbus does.
func (w *wireConn) values(rep wireReply) ([]any, error) {
	d := wdec{b: rep.body, order: rep.order}
	out := make([]any, 0, 1)
	for sig := rep.sig; sig != ""; {
		v, rest, err := d.value(sig, 0)
		if errors.Is(err, errUnsupported) {
			return w.godbusBody()
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		sig = rest
	}
	return out, nil
}

// godbusBody decodes the last message read with godbus.
func (w *wireConn) godbusBody() ([]any, error) {
	m, err := dbus.DecodeMessage(bytes.NewReader(w.msg))
	if err != nil {
		return nil, err
	}
	if len(m.Body) == 0 {
		return nil, errMalformed
	}
	return m.Body, nil
}

// replyError is the error godbus returns for an error reply.
func (w *wireConn) replyError(rep wireReply) error {
	body, _ := w.values(rep)
	return dbus.Error{Name: rep.errName, Body: body}
}

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
			panic(fmt.Sprintf("systemdbus: appendCall cannot encode %T", a))
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

// wdec decodes D-Bus values from b into the Go values godbus's decoder
// produces for the same signature: basic types as their Go types, arrays
// of strings, uint32, uint64 and bytes as typed slices, structs as []any
// and arrays of structs as [][]any. Doubles, variants, dicts, signatures,
// file descriptors and other arrays are not handled (errUnsupported).
type wdec struct {
	b     []byte
	pos   int
	order binary.ByteOrder
}

func (d *wdec) align(n int) error {
	p := (d.pos + n - 1) &^ (n - 1)
	if p > len(d.b) {
		return errMalformed
	}
	d.pos = p
	return nil
}

func (d *wdec) next(n int) ([]byte, error) {
	if n < 0 || d.pos+n > len(d.b) {
		return nil, errMalformed
	}
	p := d.b[d.pos : d.pos+n]
	d.pos += n
	return p, nil
}

func (d *wdec) byte() (byte, error) {
	p, err := d.next(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (d *wdec) u32() (uint32, error) {
	if err := d.align(4); err != nil {
		return 0, err
	}
	p, err := d.next(4)
	if err != nil {
		return 0, err
	}
	return d.order.Uint32(p), nil
}

func (d *wdec) u64() (uint64, error) {
	if err := d.align(8); err != nil {
		return 0, err
	}
	p, err := d.next(8)
	if err != nil {
		return 0, err
	}
	return d.order.Uint64(p), nil
}

func (d *wdec) u16() (uint16, error) {
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
func (d *wdec) str() (string, error) {
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
func (d *wdec) signature() (string, error) {
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
func (d *wdec) value(sig string, depth int) (any, string, error) {
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
func (d *wdec) array(sig string, depth int) (any, string, error) {
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
		out, rest, err = decodeAll(d, end, elem, depth, func(d *wdec) (string, error) { return d.str() })
	case 'u':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *wdec) (uint32, error) { return d.u32() })
	case 't':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *wdec) (uint64, error) { return d.u64() })
	case 'y':
		var p []byte
		if p, err = d.next(int(n)); err == nil {
			out, rest = bytes.Clone(p), elem[1:]
		}
	case '(':
		out, rest, err = decodeAll(d, end, elem, depth, func(d *wdec) ([]any, error) {
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
func decodeAll[T any](d *wdec, end int, elem string, depth int, one func(*wdec) (T, error)) ([]T, string, error) {
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
func (d *wdec) strct(sig string, depth int) (any, string, error) {
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

// wireBatch is the propBatch on a wireConn: the calls are encoded into
// one buffer, written by one goroutine while the caller reads the replies.
type wireBatch struct {
	ctx   context.Context
	w     *wireConn
	buf   []byte
	first uint32 // serial of reqs[0]
	reqs  []wireRequest
}

type wireRequest struct {
	store func(dbus.Variant)                // a Get
	units func([]unitStatus, dbus.Sequence) // a call returning units
	done  bool
}

func (b *wireBatch) get(p dbus.ObjectPath, iface, prop string, store func(dbus.Variant)) {
	b.add(wireRequest{store: store}, func(buf []byte, serial uint32) []byte {
		return appendGetCall(buf, serial, p, iface, prop)
	})
}

func (b *wireBatch) units(method string, store func([]unitStatus, dbus.Sequence), args ...[]string) {
	b.add(wireRequest{units: store}, func(buf []byte, serial uint32) []byte {
		anys := make([]any, len(args))
		for i, a := range args {
			anys[i] = a
		}
		return appendCall(buf, serial, managerPath, managerIface, method, anys...)
	})
}

func (b *wireBatch) add(r wireRequest, encode func([]byte, uint32) []byte) {
	b.w.serial++
	if len(b.reqs) == 0 {
		b.first = b.w.serial
	}
	b.buf = encode(b.buf, b.w.serial)
	b.reqs = append(b.reqs, r)
}

func (b *wireBatch) wait() error {
	if len(b.reqs) == 0 {
		return nil
	}
	defer func() { b.buf, b.reqs = b.buf[:0], b.reqs[:0] }()
	conn := b.w.conn
	// Cancelling ctx unblocks both the writer and the reader.
	stop := context.AfterFunc(b.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	written := make(chan error, 1)
	go func() {
		_, err := conn.Write(b.buf)
		written <- err
	}()
	unitsErr, err := b.readAll()
	if err != nil {
		conn.Close() // unblocks the writer; the connection is done for
	}
	if werr := <-written; err == nil {
		err = werr
	}
	if err != nil {
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
		return fmt.Errorf("systemdbus: reading properties: %w", explain(err, "", ""))
	}
	if unitsErr != nil {
		return fmt.Errorf("systemdbus: listing units: %w", explain(unitsErr, "", ""))
	}
	return nil
}

// readAll reads replies until every request of the batch has one. err is
// a broken connection; unitsErr the first error a units call returned.
func (b *wireBatch) readAll() (unitsErr, err error) {
	for pending := len(b.reqs); pending > 0; {
		rep, err := b.w.read()
		if err != nil {
			return nil, err
		}
		i := int64(rep.replySerial) - int64(b.first)
		if i < 0 || i >= int64(len(b.reqs)) || b.reqs[i].done {
			continue // a reply to nothing of this batch
		}
		r := &b.reqs[i]
		r.done = true
		pending--
		switch {
		case r.units != nil && rep.typ == msgError:
			if unitsErr == nil {
				unitsErr = b.w.replyError(rep)
			}
		case r.units != nil:
			var units []unitStatus
			vals, err := b.w.values(rep)
			if err == nil {
				err = dbus.Store(vals, &units)
			}
			if err != nil && unitsErr == nil {
				unitsErr = err
			}
			r.units(units, 0)
		case rep.typ == msgMethodReturn:
			// A value that does not decode is left at its default, as a
			// D-Bus error reply is.
			if v, err := b.w.variant(rep); err == nil {
				r.store(v)
			}
		}
	}
	return unitsErr, nil
}
