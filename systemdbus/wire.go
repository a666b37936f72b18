package systemdbus

// A narrow D-Bus client for one-shot listings: the thousands of
// org.freedesktop.DBus.Properties.Get calls a listing makes, and its unit
// lists (ListUnitsByPatterns, ListUnitsByNames), pipelined on a second
// connection to the manager's private socket.
//
// Why not godbus for this: measured on 1,000 sockets (about 3,000 calls),
// a listing through godbus costs about 190 ms of our CPU (reflection to
// encode and decode, a goroutine hand-off and three syscalls per call) and
// 150 ms of wall time, while systemd itself spends about 60 ms. Here the
// calls are encoded by hand into one buffer, written by one goroutine and
// answered from a buffered reader: about 80 ms of our CPU, most of it
// reading each reply as systemd sends it, and 95 ms of wall time, so the
// reads keep pace with systemd. Values come back as exactly
// what godbus would have decoded (wirecodec.go), so the code that stores
// them is shared (propBatch); replies of a shape the decoder does not know
// are handed to godbus's own decoder.
//
// Everything else (signals, actions, Watch and its listings) stays on
// godbus.

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

// wireConn is an authenticated peer-to-peer connection to a manager's
// private socket. It is used by one goroutine at a time.
type wireConn struct {
	conn   net.Conn
	r      *bufio.Reader
	serial uint32
	buf    bytes.Buffer              // the last message read
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
	msg := w.buf.Bytes()
	typ := msg[1]
	if typ != msgMethodReturn && typ != msgError {
		return wireReply{typ: typ}, nil
	}
	rep := wireReply{typ: typ, order: order, body: msg[16+align8(int(fieldsLen)):]}
	if err := parseFields(msg, order, &rep); err != nil {
		return wireReply{}, err
	}
	return rep, nil
}

// variant decodes the body of a Get reply: one variant. A shape the fast
// decoder does not handle goes through godbus's decoder instead.
func (w *wireConn) variant(rep wireReply) (dbus.Variant, error) {
	v, err := w.fastVariant(rep)
	if !errors.Is(err, errUnsupported) {
		return v, err
	}
	body, err := w.godbusBody()
	if err != nil {
		return dbus.Variant{}, err
	}
	if v, ok := body[0].(dbus.Variant); ok {
		return v, nil
	}
	return dbus.Variant{}, errMalformed
}

// fastVariant is variant without godbus: errUnsupported for a shape wdec
// does not handle.
func (w *wireConn) fastVariant(rep wireReply) (dbus.Variant, error) {
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
	vals, err := fastValues(rep)
	if errors.Is(err, errUnsupported) {
		return w.godbusBody()
	}
	return vals, err
}

// fastValues is values without godbus: errUnsupported for a shape wdec
// does not handle.
func fastValues(rep wireReply) ([]any, error) {
	d := wdec{b: rep.body, order: rep.order}
	out := make([]any, 0, 1)
	for sig := rep.sig; sig != ""; {
		v, rest, err := d.value(sig, 0)
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
	m, err := dbus.DecodeMessage(bytes.NewReader(w.buf.Bytes()))
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
		return appendCall(buf, serial, managerPath, managerIface, method, callArgs(args)...)
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
			units, err := b.w.units(rep)
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
