package wire

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

// Names the tests use; the package itself asks only for what its callers
// name.
const (
	socketIface = "org.freedesktop.systemd1.Socket"
	unitIface   = "org.freedesktop.systemd1.Unit"
)

// execStart is the shape of a service's ExecStart: a(sasbttttuii).
type execStart struct {
	Path             string
	Args             []string
	IgnoreFailure    bool
	Start, StartMono uint64
	Exit, ExitMono   uint64
	PID              uint32
	Code, Status     int32
}

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

// TestValuesOfAUnitList: a ListUnits* reply decodes and stores as
// godbus's does.
func TestValuesOfAUnitList(t *testing.T) {
	units := []UnitStatus{
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
	w := &Conn{r: bufio.NewReader(&b), sigs: map[string]dbus.Signature{}}
	rep, err := w.read()
	if err != nil {
		t.Fatal(err)
	}
	vals, err := w.values(rep)
	if err != nil || !reflect.DeepEqual(vals, want.Body) {
		t.Fatalf("values %#v (%v), godbus %#v", vals, err, want.Body)
	}
	var got []UnitStatus
	if err := dbus.Store(vals, &got); err != nil || !reflect.DeepEqual(got, units) {
		t.Errorf("stored %+v (%v), want %+v", got, err, units)
	}
	if got, err := w.units(rep); err != nil || !reflect.DeepEqual(got, units) {
		t.Errorf("units() %+v (%v), want %+v", got, err, units)
	}
	if got, err := w.units(reply{sig: unitsSignature, body: rep.body[:len(rep.body)-3], order: rep.order}); err == nil {
		t.Errorf("units() of a cut reply: %+v, want an error", got)
	}
}

// encodeReply encodes, with godbus, a method return to serial holding v in a
// variant, in the given byte order.
func encodeReply(t testing.TB, order binary.ByteOrder, serial uint32, v dbus.Variant) []byte {
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
	[]execStart{{Path: "/usr/bin/podman", Args: []string{"podman", "run", "--name", "echo", "img"}, PID: 12, Code: 1, Status: -3, Start: 1}},
	[]execStart{},
	int32(-5), int64(-7), int16(-2), uint16(9), byte(3), 2.5,
	[]byte("bytes"),
	[]uint32{1, 2}, []uint64{3},
	dbus.ObjectPath("/org/freedesktop/systemd1/job/1"), // not handled: goes to godbus
	map[string]string{"k": "v"},                        // not handled
	[][]string{{"a"}},                                  // not handled
	[]int32{-1},                                        // not handled
	dbus.MakeVariant("nested"),                         // not handled
}

// TestReadMatchesGodbus: every reply reads as the value godbus decodes,
// in both byte orders, whether the fast decoder or godbus's handles it.
func TestReadMatchesGodbus(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for i, v := range replyValues {
			msg := encodeReply(t, order, uint32(i+1), dbus.MakeVariant(v))
			want, err := dbus.DecodeMessage(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			w := &Conn{r: bufio.NewReader(bytes.NewReader(msg)), sigs: map[string]dbus.Signature{}}
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

// TestReadSkipsSignalsAndReadsErrors: signals in between are skipped;
// an error reply is reported as such.
func TestReadSkipsSignalsAndReadsErrors(t *testing.T) {
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
	b.Write(encodeReply(t, binary.LittleEndian, 10, dbus.MakeVariant("ok")))
	w := &Conn{r: bufio.NewReader(&b), sigs: map[string]dbus.Signature{}}
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

// TestBatchAgainstPeer runs a batch against a fake manager that answers
// each call out of order, with a signal in between, and checks every value
// and unit list lands where it belongs and error replies are reported as
// the contract says; then that cancelling the context ends a batch the
// peer never answers.
func TestBatchAgainstPeer(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	encode := func(m *dbus.Message) []byte {
		var b bytes.Buffer
		if err := m.EncodeTo(&b, binary.LittleEndian); err != nil {
			t.Error(err)
		}
		return b.Bytes()
	}
	errorReply := func(to uint32, name, text string) []byte {
		return encode(&dbus.Message{Type: dbus.TypeError, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldReplySerial: dbus.MakeVariant(to),
			dbus.FieldErrorName:   dbus.MakeVariant(name),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(text)),
		}, Body: []any{text}})
	}
	signal := encode(&dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:      dbus.MakeVariant(managerPath),
		dbus.FieldInterface: dbus.MakeVariant(managerIface),
		dbus.FieldMember:    dbus.MakeVariant("Reloading"),
		dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(true)),
	}, Body: []any{true}})
	go func() {
		defer server.Close()
		r := bufio.NewReader(server)
		var calls []*dbus.Message
		for range 5 {
			m, err := dbus.DecodeMessage(r)
			if err != nil {
				return
			}
			calls = append(calls, m)
		}
		for i := len(calls) - 1; i >= 0; i-- { // answers in reverse
			m := calls[i]
			var b []byte
			switch m.Headers[dbus.FieldMember].Value() {
			case "ListUnitsByNames":
				names := m.Body[0].([]string)
				if names[0] == "bad" {
					b = errorReply(m.Serial(), "org.freedesktop.systemd1.NoSuchUnit", "no unit bad")
					break
				}
				units := []UnitStatus{{Name: names[0], LoadState: "loaded", Path: "/u", JobPath: "/"}}
				b = encode(&dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
					dbus.FieldReplySerial: dbus.MakeVariant(m.Serial()),
					dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(units)),
				}, Body: []any{units}})
			default:
				prop := m.Body[1].(string)
				if prop == "Missing" {
					b = errorReply(m.Serial(), "org.freedesktop.DBus.Error.UnknownProperty", "no "+prop)
					break
				}
				b = encodeReply(t, binary.LittleEndian, m.Serial(), dbus.MakeVariant(prop+"@"+string(m.Headers[dbus.FieldPath].Value().(dbus.ObjectPath))))
			}
			if _, err := server.Write(append(signal, b...)); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, server) // the second batch: never answered
	}()

	w := &Conn{conn: client, r: bufio.NewReader(client), sigs: map[string]dbus.Signature{}}
	b := w.NewBatch(context.Background())
	got := map[string]string{}
	for _, q := range []struct {
		path dbus.ObjectPath
		prop string
	}{{"/a", "Listen"}, {"/b", "Missing"}, {"/c", "Triggers"}} {
		b.Get(q.path, socketIface, q.prop, func(v dbus.Variant) { got[string(q.path)] = v.Value().(string) })
	}
	var units []UnitStatus
	var unitsErr, badErr error
	b.Units("ListUnitsByNames", func(u []UnitStatus, err error) { units, unitsErr = u, err }, []string{"x.service"})
	b.Units("ListUnitsByNames", func(u []UnitStatus, err error) { badErr = err }, []string{"bad"})
	if err := b.Wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	want := map[string]string{"/a": "Listen@/a", "/c": "Triggers@/c"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values %v, want %v (the error reply leaves /b unset)", got, want)
	}
	if wantUnits := []UnitStatus{{Name: "x.service", LoadState: "loaded", Path: "/u", JobPath: "/"}}; unitsErr != nil || !reflect.DeepEqual(units, wantUnits) {
		t.Errorf("units %+v, %v; want %+v", units, unitsErr, wantUnits)
	}
	if want := (dbus.Error{Name: "org.freedesktop.systemd1.NoSuchUnit", Body: []any{"no unit bad"}}); !reflect.DeepEqual(badErr, want) {
		t.Errorf("units error %#v, want %#v", badErr, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b = w.NewBatch(ctx)
	b.Get("/d", socketIface, "Listen", func(dbus.Variant) { t.Error("a value from nowhere") })
	// It gives up on the context's deadline (and a hang would be the
	// test's timeout), not on some other error.
	if err := b.Wait(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unanswered batch: %v, want the context's deadline", err)
	}
}

// FuzzRead: no input crashes or hangs the reader, and whatever it
// decodes itself is exactly what godbus decodes from the same bytes.
func FuzzRead(f *testing.F) {
	for i, v := range replyValues {
		f.Add(encodeReply(f, binary.LittleEndian, uint32(i+1), dbus.MakeVariant(v)))
	}
	f.Add(encodeReply(f, binary.BigEndian, 1, dbus.MakeVariant([]unit.Listen{{Type: "Stream", Address: "x"}})))
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var b bytes.Buffer
		units := []UnitStatus{{"a.socket", "A", "loaded", "active", "listening", "", "/a", 3, "start", "/j"}}
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
		w := &Conn{r: bufio.NewReader(bytes.NewReader(msg)), sigs: map[string]dbus.Signature{}}
		rep, err := w.read()
		if err != nil || rep.typ != msgMethodReturn {
			return
		}
		// Only what the fast decoder reads by itself is under test: godbus
		// decodes the rest, as it does every message on its own
		// connections.
		v, verr := w.fastVariant(rep)
		vals, valsErr := fastValues(rep)
		var units []UnitStatus
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
			var want []UnitStatus
			if dbus.Store(m.Body, &want) == nil && !reflect.DeepEqual(units, want) {
				t.Fatalf("units() read %+v, godbus %+v", units, want)
			}
		}
	})
}
