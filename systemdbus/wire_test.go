package systemdbus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/socktui/socktui/unit"
)

// TestAppendGetCallDecodesWithGodbus: the hand-encoded call is the message
// godbus would have sent.
func TestAppendGetCallDecodesWithGodbus(t *testing.T) {
	var buf []byte
	buf = appendGetCall(buf, 7, "/org/freedesktop/systemd1/unit/echo_2esocket", socketIface, "Listen")
	buf = appendGetCall(buf, 8, "/a", unitIface, "Triggers")
	r := bytes.NewReader(buf)
	for _, want := range []struct {
		serial      uint32
		path        dbus.ObjectPath
		iface, prop string
	}{
		{7, "/org/freedesktop/systemd1/unit/echo_2esocket", socketIface, "Listen"},
		{8, "/a", unitIface, "Triggers"},
	} {
		m, err := dbus.DecodeMessage(r)
		if err != nil {
			t.Fatalf("godbus cannot decode the call: %v", err)
		}
		if err := m.IsValid(); err != nil {
			t.Fatalf("invalid message: %v", err)
		}
		h := m.Headers
		if m.Type != dbus.TypeMethodCall || m.Serial() != want.serial ||
			h[dbus.FieldPath].Value() != want.path || h[dbus.FieldInterface].Value() != propsIface ||
			h[dbus.FieldMember].Value() != "Get" || h[dbus.FieldDestination].Value() != busName ||
			h[dbus.FieldSignature].Value() != dbus.SignatureOf("", "") ||
			!reflect.DeepEqual(m.Body, []any{want.iface, want.prop}) {
			t.Errorf("decoded %v, want Get(%s, %s) on %s serial %d", m, want.iface, want.prop, want.path, want.serial)
		}
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left over", r.Len())
	}

	for _, args := range [][]any{
		{[]string{}, []string{"*.socket", "echo*"}},
		{[]string{"a.service"}},
		{[]string{}},
	} {
		buf := appendCall(nil, 3, managerPath, managerIface, "ListUnitsByPatterns", args...)
		m, err := dbus.DecodeMessage(bytes.NewReader(buf))
		if err != nil {
			t.Fatalf("godbus cannot decode the call with %v: %v", args, err)
		}
		if err := m.IsValid(); err != nil || !reflect.DeepEqual(m.Body, args) || m.Serial() != 3 ||
			m.Headers[dbus.FieldMember].Value() != "ListUnitsByPatterns" || m.Headers[dbus.FieldPath].Value() != managerPath {
			t.Errorf("call with %v decoded as %v (%v)", args, m, err)
		}
	}
}

// TestWireValuesOfAUnitList: a ListUnits* reply decodes and stores as
// godbus's does.
func TestWireValuesOfAUnitList(t *testing.T) {
	units := []unitStatus{
		{"a.socket", "A", "loaded", "active", "listening", "", "/org/freedesktop/systemd1/unit/a_2esocket", 0, "", "/"},
		{"b.service", "B", "loaded", "activating", "start", "", "/org/freedesktop/systemd1/unit/b_2eservice", 7, "start", "/org/freedesktop/systemd1/job/7"},
	}
	m := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(uint32(4)),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(units)),
	}, Body: []any{units}}
	var b bytes.Buffer
	if err := m.EncodeTo(&b, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	want, err := dbus.DecodeMessage(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	w := &wireConn{r: bufio.NewReader(&b), sigs: map[string]dbus.Signature{}}
	rep, err := w.read()
	if err != nil {
		t.Fatal(err)
	}
	vals, err := w.values(rep)
	if err != nil || !reflect.DeepEqual(vals, want.Body) {
		t.Fatalf("values %#v (%v), godbus %#v", vals, err, want.Body)
	}
	var got []unitStatus
	if err := dbus.Store(vals, &got); err != nil || !reflect.DeepEqual(got, units) {
		t.Errorf("stored %+v (%v), want %+v", got, err, units)
	}
	if got, err := w.units(rep); err != nil || !reflect.DeepEqual(got, units) {
		t.Errorf("units() %+v (%v), want %+v", got, err, units)
	}
	if got, err := w.units(wireReply{sig: unitsSignature, body: rep.body[:len(rep.body)-3], order: rep.order}); err == nil {
		t.Errorf("units() of a cut reply: %+v, want an error", got)
	}
}

// reply encodes, with godbus, a method return to serial holding v in a
// variant, in the given byte order.
func reply(t testing.TB, order binary.ByteOrder, serial uint32, v dbus.Variant) []byte {
	t.Helper()
	m := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(serial),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(v)),
		dbus.FieldSender:      dbus.MakeVariant(":1.5"),
	}, Body: []any{v}}
	var b bytes.Buffer
	if err := m.EncodeTo(&b, order); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// replyValues are the shapes systemd's properties take, plus some the fast
// decoder hands to godbus.
var replyValues = []any{
	[]unit.Listen{{Type: "Stream", Address: "127.0.0.1:80"}, {Type: "Datagram", Address: "@abstract"}},
	[]unit.Listen{},
	[]string{"echo.service"},
	[]string{},
	"success",
	"",
	true,
	false,
	uint32(4242),
	uint64(1764400000123456),
	[]execCommand{{Path: "/usr/bin/podman", Args: []string{"podman", "run", "--name", "echo", "img"}, PID: 12, Code: 1, Status: -3, Start: 1}},
	[]execCommand{},
	int32(-5), int64(-7), int16(-2), uint16(9), byte(3), 2.5,
	[]byte("bytes"),
	[]uint32{1, 2}, []uint64{3},
	dbus.ObjectPath("/org/freedesktop/systemd1/job/1"), // not handled: goes to godbus
	map[string]string{"k": "v"},                        // not handled
	[][]string{{"a"}},                                  // not handled
	[]int32{-1},                                        // not handled
	dbus.MakeVariant("nested"),                         // not handled
}

// TestWireReadMatchesGodbus: every reply reads as the value godbus decodes,
// in both byte orders, whether the fast decoder or godbus's handles it.
func TestWireReadMatchesGodbus(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for i, v := range replyValues {
			msg := reply(t, order, uint32(i+1), dbus.MakeVariant(v))
			want, err := dbus.DecodeMessage(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			w := &wireConn{r: bufio.NewReader(bytes.NewReader(msg)), sigs: map[string]dbus.Signature{}}
			rep, err := w.read()
			if err != nil {
				t.Fatalf("%v %T: read: %v", order, v, err)
			}
			got, err := w.variant(rep)
			if err != nil {
				t.Fatalf("%v %T: variant: %v", order, v, err)
			}
			if rep.typ != msgMethodReturn || rep.replySerial != uint32(i+1) {
				t.Errorf("%v %T: type %d serial %d", order, v, rep.typ, rep.replySerial)
			}
			if !reflect.DeepEqual(got, want.Body[0]) {
				t.Errorf("%v %T: got %#v (%s), godbus %#v", order, v, got.Value(), got.Signature(), want.Body[0])
			}
		}
	}
}

// TestWireReadSkipsSignalsAndReadsErrors: signals in between are skipped;
// an error reply is reported as such.
func TestWireReadSkipsSignalsAndReadsErrors(t *testing.T) {
	var b bytes.Buffer
	sig := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:      dbus.MakeVariant(managerPath),
		dbus.FieldInterface: dbus.MakeVariant(managerIface),
		dbus.FieldMember:    dbus.MakeVariant("UnitNew"),
		dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf("", dbus.ObjectPath("/"))),
	}, Body: []any{"x.service", dbus.ObjectPath("/x")}}
	errMsg := &dbus.Message{Type: dbus.TypeError, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(uint32(9)),
		dbus.FieldErrorName:   dbus.MakeVariant("org.freedesktop.DBus.Error.UnknownProperty"),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf("")),
	}, Body: []any{"no such property"}}
	for _, m := range []*dbus.Message{sig, errMsg} {
		if err := m.EncodeTo(&b, binary.LittleEndian); err != nil {
			t.Fatal(err)
		}
	}
	b.Write(reply(t, binary.LittleEndian, 10, dbus.MakeVariant("ok")))
	w := &wireConn{r: bufio.NewReader(&b), sigs: map[string]dbus.Signature{}}
	rep, err := w.read()
	if err != nil || rep.typ != msgError || rep.replySerial != 9 {
		t.Fatalf("first reply: %+v, %v; want the error to serial 9", rep, err)
	}
	if err := w.replyError(rep); !reflect.DeepEqual(err, dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownProperty", Body: []any{"no such property"}}) {
		t.Errorf("error reply reads as %#v", err)
	}
	rep, err = w.read()
	if err != nil || rep.typ != msgMethodReturn || rep.replySerial != 10 {
		t.Fatalf("second reply: %+v, %v", rep, err)
	}
	if v, err := w.variant(rep); err != nil || v.Value() != "ok" {
		t.Fatalf("second reply's value: %v, %v", v, err)
	}
	if _, err := w.read(); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want EOF", err)
	}
}

// TestWireBatchAgainstPeer runs a batch against a fake manager that answers
// each call out of order, with signals in between, and checks every value
// lands where it belongs; then that cancelling the context ends a batch the
// peer never answers.
func TestWireBatchAgainstPeer(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		r := bufio.NewReader(server)
		var calls []*dbus.Message
		for range 3 {
			m, err := dbus.DecodeMessage(r)
			if err != nil {
				return
			}
			calls = append(calls, m)
		}
		for i := len(calls) - 1; i >= 0; i-- { // answers in reverse
			m := calls[i]
			prop := m.Body[1].(string)
			var b []byte
			if prop == "Missing" {
				e := &dbus.Message{Type: dbus.TypeError, Headers: map[dbus.HeaderField]dbus.Variant{
					dbus.FieldReplySerial: dbus.MakeVariant(m.Serial()),
					dbus.FieldErrorName:   dbus.MakeVariant("org.freedesktop.DBus.Error.UnknownProperty"),
				}}
				var bb bytes.Buffer
				_ = e.EncodeTo(&bb, binary.LittleEndian)
				b = bb.Bytes()
			} else {
				b = reply(t, binary.LittleEndian, m.Serial(), dbus.MakeVariant(prop+"@"+string(m.Headers[dbus.FieldPath].Value().(dbus.ObjectPath))))
			}
			if _, err := server.Write(b); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, server) // the second batch: never answered
	}()

	w := &wireConn{conn: client, r: bufio.NewReader(client), sigs: map[string]dbus.Signature{}}
	b := &wireBatch{ctx: context.Background(), w: w}
	got := map[string]string{}
	for _, q := range []struct {
		path dbus.ObjectPath
		prop string
	}{{"/a", "Listen"}, {"/b", "Missing"}, {"/c", "Triggers"}} {
		b.get(q.path, socketIface, q.prop, func(v dbus.Variant) { got[string(q.path)] = v.Value().(string) })
	}
	if err := b.wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	want := map[string]string{"/a": "Listen@/a", "/c": "Triggers@/c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values %v, want %v (the error reply leaves /b unset)", got, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b = &wireBatch{ctx: ctx, w: w}
	b.get("/d", socketIface, "Listen", func(dbus.Variant) { t.Error("a value from nowhere") })
	// It gives up on the context's deadline (and a hang would be the
	// test's timeout), not on some other error.
	if err := b.wait(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unanswered batch: %v, want the context's deadline", err)
	}
}

// FuzzWireRead: no input crashes or hangs the reader, and whatever it
// decodes itself is exactly what godbus decodes from the same bytes.
func FuzzWireRead(f *testing.F) {
	for i, v := range replyValues {
		f.Add(reply(f, binary.LittleEndian, uint32(i+1), dbus.MakeVariant(v)))
	}
	f.Add(reply(f, binary.BigEndian, 1, dbus.MakeVariant([]unit.Listen{{Type: "Stream", Address: "x"}})))
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var b bytes.Buffer
		units := []unitStatus{{"a.socket", "A", "loaded", "active", "listening", "", "/a", 3, "start", "/j"}}
		m := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldReplySerial: dbus.MakeVariant(uint32(4)),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(units)),
		}, Body: []any{units}}
		if err := m.EncodeTo(&b, order); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		w := &wireConn{r: bufio.NewReader(bytes.NewReader(msg)), sigs: map[string]dbus.Signature{}}
		rep, err := w.read()
		if err != nil || rep.typ != msgMethodReturn {
			return
		}
		// Only what the fast decoder reads by itself is under test: godbus
		// decodes the rest, as it does every message on its own
		// connections.
		v, verr := w.fastVariant(rep)
		vals, valsErr := fastValues(rep)
		var units []unitStatus
		unitsErr := errUnsupported
		if rep.sig == unitsSignature {
			units, unitsErr = w.units(rep)
		}
		if verr != nil && valsErr != nil && unitsErr != nil {
			return
		}
		m, err := dbus.DecodeMessage(bytes.NewReader(msg))
		if err != nil {
			// godbus validates more (UTF-8, object paths, header
			// fields); only values we decoded ourselves must agree.
			return
		}
		if verr == nil && (len(m.Body) != 1 || !reflect.DeepEqual(m.Body[0], v)) {
			t.Fatalf("fast decoder read %#v, godbus %#v", v, m.Body)
		}
		if valsErr == nil && !reflect.DeepEqual(m.Body, vals) && !(len(m.Body) == 0 && len(vals) == 0) {
			t.Fatalf("fast decoder read body %#v, godbus %#v", vals, m.Body)
		}
		if rep.sig == unitsSignature && unitsErr == nil {
			var want []unitStatus
			if dbus.Store(m.Body, &want) == nil && !reflect.DeepEqual(units, want) {
				t.Fatalf("units() read %+v, godbus %+v", units, want)
			}
		}
	})
}
