// Package wire is a narrow D-Bus client for the bulk reads of a one-shot
// listing of a systemd manager: org.freedesktop.DBus.Properties.Get calls
// and the manager's unit lists (ListUnitsByPatterns, ListUnitsByNames),
// encoded by hand into one buffer, written at once on a connection of its
// own to the manager's private socket and answered from a buffered reader.
//
// What it buys, measured: a listing of 1,000 socket units with their
// services (about 3,000 calls) costs 30-35 ms of socktui's CPU through
// this package against 145-160 ms through godbus alone, 4.3-4.9x less, and
// 2.3-2.6x less wall time (100-195 ms against 230-460 ms on a shared,
// loaded 2-core machine), over five runs of systemdbus's
// BenchmarkListCodecVsGodbus (in process, the two paths alternating on the
// same manager, 15 listings each per run). godbus spends that CPU on
// reflection to encode and decode, a goroutine hand-off and syscalls per
// call; the manager's own CPU is about the same either way (36 ms against
// 39 ms). If that gain ever falls under 1.1x on wall time and on CPU, this
// package should go (bench/benchreport's table shows it).
//
// Values come back as exactly what godbus's decoder yields from the same
// bytes (codec.go; wire_test.go cross-checks both directions against
// godbus, and FuzzRead checks the decoder on any input), so callers store
// them as they would godbus's. A reply of a shape the fast decoder does
// not know is handed to godbus's own decoder.
//
// Everything else (signals, actions, watching) belongs on godbus.
package wire

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

// Conn is an authenticated peer-to-peer connection to a manager's private
// socket. It runs one Batch at a time.
type Conn struct {
	conn   net.Conn
	r      *bufio.Reader
	serial uint32
	buf    bytes.Buffer              // the last message read
	sigs   map[string]dbus.Signature // parsed variant signatures
}

// Dial connects to a manager's private socket (such as
// $XDG_RUNTIME_DIR/systemd/private) and authenticates as the effective
// user (EXTERNAL). It returns once the manager has answered a first call.
func Dial(ctx context.Context, path string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("wire: %w", err)
	}
	w := newConn(c)
	if err := w.handshake(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("wire: %w", err)
	}
	return w, nil
}

func newConn(c net.Conn) *Conn {
	return &Conn{conn: c, r: bufio.NewReaderSize(c, 64<<10), sigs: map[string]dbus.Signature{}}
}

// handshake authenticates and settles the connection.
func (w *Conn) handshake(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = w.conn.SetDeadline(dl)
	}
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Geteuid())))
	if _, err := io.WriteString(w.conn, "\x00AUTH EXTERNAL "+uid+"\r\n"); err != nil {
		return err
	}
	line, err := w.r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("authenticating: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("OK ")) {
		return fmt.Errorf("authenticating: the manager answered %q", strings.TrimSpace(string(line)))
	}
	if _, err := io.WriteString(w.conn, "BEGIN\r\n"); err != nil {
		return err
	}
	_ = w.conn.SetDeadline(time.Time{})
	return w.settle(ctx)
}

// settle pings the manager until a reply comes back. sd-bus (systemd 252,
// and 257 alike: 19 and 20 of 20 such calls, measured 2026-12-02) reads
// greedily while it authenticates a client: a message that arrives
// together with BEGIN stays in its buffer, unanswered, until more bytes
// arrive. Each new ping is such bytes; once one is answered, messages are
// read one at a time and nothing more can be stranded.
func (w *Conn) settle(ctx context.Context) error {
	defer w.conn.SetReadDeadline(time.Time{})
	var pings []byte
	first := w.serial + 1
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.serial++
		pings = appendCall(pings[:0], w.serial, managerPath, peerIface, "Ping")
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

// Close closes the connection.
func (w *Conn) Close() error { return w.conn.Close() }

// reply is one method return or error read from the connection. Its body
// is valid until the next read.
type reply struct {
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
func (w *Conn) read() (reply, error) {
	for {
		rep, err := w.readOne()
		if err != nil || rep.typ == msgMethodReturn || rep.typ == msgError {
			return rep, err
		}
	}
}

// readOne reads one message; for a signal or a call only typ is set.
func (w *Conn) readOne() (reply, error) {
	hdr, err := w.r.Peek(16)
	if err != nil {
		return reply{}, err
	}
	order, err := byteOrder(hdr[0])
	if err != nil {
		return reply{}, err
	}
	bodyLen, fieldsLen := order.Uint32(hdr[4:]), order.Uint32(hdr[12:])
	total := 16 + uint64(align8(int(min(fieldsLen, maxMessage)))) + uint64(bodyLen)
	if total > maxMessage {
		return reply{}, fmt.Errorf("%w: %d bytes", errMalformed, total)
	}
	// The buffer grows as bytes arrive, not to the length a header
	// claims.
	w.buf.Reset()
	if _, err := io.CopyN(&w.buf, w.r, int64(total)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return reply{}, err
	}
	msg := w.buf.Bytes()
	typ := msg[1]
	if typ != msgMethodReturn && typ != msgError {
		return reply{typ: typ}, nil
	}
	rep := reply{typ: typ, order: order, body: msg[16+align8(int(fieldsLen)):]}
	if err := parseFields(msg, order, &rep); err != nil {
		return reply{}, err
	}
	return rep, nil
}

// variant decodes the body of a Get reply: one variant. A shape the fast
// decoder does not handle goes through godbus's decoder instead.
func (w *Conn) variant(rep reply) (dbus.Variant, error) {
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

// fastVariant is variant without godbus: errUnsupported for a shape dec
// does not handle.
func (w *Conn) fastVariant(rep reply) (dbus.Variant, error) {
	if rep.sig != "v" {
		return dbus.Variant{}, fmt.Errorf("%w: reply signature %q", errMalformed, rep.sig)
	}
	d := dec{b: rep.body, order: rep.order}
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
func (w *Conn) values(rep reply) ([]any, error) {
	vals, err := fastValues(rep)
	if errors.Is(err, errUnsupported) {
		return w.godbusBody()
	}
	return vals, err
}

// fastValues is values without godbus: errUnsupported for a shape dec
// does not handle.
func fastValues(rep reply) ([]any, error) {
	d := dec{b: rep.body, order: rep.order}
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
func (w *Conn) godbusBody() ([]any, error) {
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
func (w *Conn) replyError(rep reply) error {
	body, _ := w.values(rep)
	return dbus.Error{Name: rep.errName, Body: body}
}

// Batch is a set of calls queued on a Conn with Get and Units and sent
// together by Wait.
type Batch struct {
	ctx   context.Context
	w     *Conn
	buf   []byte
	first uint32 // serial of reqs[0]
	reqs  []request
}

type request struct {
	store func(dbus.Variant)        // a Get
	units func([]UnitStatus, error) // a call returning units
	done  bool
}

// NewBatch returns an empty batch of calls on w; ctx bounds its Wait.
func (w *Conn) NewBatch(ctx context.Context) *Batch { return &Batch{ctx: ctx, w: w} }

// Get queues a Properties.Get of iface's property prop on the object at p.
// Wait calls store with the value, as godbus would decode it; a D-Bus error
// reply (a property the unit lacks, a unit that vanished) or a value that
// does not decode leaves store uncalled.
func (b *Batch) Get(p dbus.ObjectPath, iface, prop string, store func(dbus.Variant)) {
	b.add(request{store: store}, func(buf []byte, serial uint32) []byte {
		return appendGetCall(buf, serial, p, iface, prop)
	})
}

// Units queues a call of the manager's method that returns units
// (ListUnitsByPatterns, ListUnitsByNames), with string-array arguments.
// Wait calls store with the units, or with the error: a dbus.Error for an
// error reply.
func (b *Batch) Units(method string, store func([]UnitStatus, error), args ...[]string) {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	b.add(request{units: store}, func(buf []byte, serial uint32) []byte {
		return appendCall(buf, serial, managerPath, managerIface, method, vals...)
	})
}

func (b *Batch) add(r request, encode func([]byte, uint32) []byte) {
	b.w.serial++
	if len(b.reqs) == 0 {
		b.first = b.w.serial
	}
	b.buf = encode(b.buf, b.w.serial)
	b.reqs = append(b.reqs, r)
}

// Wait writes the queued calls in one write, from a goroutine of its own,
// while it reads the replies in the order they come; it calls the stores,
// on the calling goroutine, and returns when every call has its reply.
// It returns an error only when the connection broke or the batch's
// context ended (the context's error then); the Conn is of no further use
// after that. The batch is empty again after Wait, and may be reused.
func (b *Batch) Wait() error {
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
	err := b.readAll()
	if err != nil {
		conn.Close() // unblocks the writer; the connection is done for
	}
	if werr := <-written; err == nil {
		err = werr
	}
	if err != nil {
		if cerr := b.ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("wire: %w", err)
	}
	return nil
}

// readAll reads replies until every request of the batch has one; its
// error is a broken connection.
func (b *Batch) readAll() error {
	for pending := len(b.reqs); pending > 0; {
		rep, err := b.w.read()
		if err != nil {
			return err
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
			r.units(nil, b.w.replyError(rep))
		case r.units != nil:
			r.units(b.w.units(rep))
		case rep.typ == msgMethodReturn:
			// A value that does not decode is left at its default, as a
			// D-Bus error reply is.
			if v, err := b.w.variant(rep); err == nil {
				r.store(v)
			}
		}
	}
	return nil
}
