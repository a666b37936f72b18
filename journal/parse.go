package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/socktui/socktui/unit"
)

// target is what a socket's log covers: its units and its containers.
type target struct {
	units      []string          // the socket, then its services
	containers map[string]string // container name -> its service
}

// targetOf is the log target of socket s: s itself, the services it
// triggers (s.Services, and any other of s.Triggers) and their containers.
func targetOf(s unit.Socket) target {
	t := target{containers: map[string]string{}}
	seen := map[string]bool{}
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			t.units = append(t.units, u)
		}
	}
	add(s.Unit)
	for _, svc := range s.Services {
		add(svc.Unit)
		if svc.Container != "" {
			t.containers[svc.Container] = svc.Unit
		}
	}
	for _, u := range s.Triggers {
		add(u)
	}
	return t
}

// containerNames lists t's containers in a stable order.
func (t target) containerNames() []string {
	var out []string
	for _, u := range t.units {
		for c, svc := range t.containers {
			if svc == u {
				out = append(out, c)
			}
		}
	}
	return out
}

// unitFields are the journal fields that name an entry's unit for one kind
// of manager, in the order they are trusted: the sender's own unit (set by
// journald from its cgroup), the manager's messages about a unit, messages
// about an object unit (from systemd's tools), coredumps.
type unitFields struct {
	own, about, object, coredump string
}

var (
	userFields   = unitFields{"_SYSTEMD_USER_UNIT", "USER_UNIT", "OBJECT_SYSTEMD_USER_UNIT", "COREDUMP_USER_UNIT"}
	systemFields = unitFields{"_SYSTEMD_UNIT", "UNIT", "OBJECT_SYSTEMD_UNIT", "COREDUMP_UNIT"}
)

func (f unitFields) list() []string { return []string{f.own, f.about, f.object, f.coredump} }

// matches are journalctl's match arguments for t: one group per field
// (a field repeated in a group is OR, "+" between groups is OR), as
// `journalctl --user-unit U` matches, plus CONTAINER_NAME. The manager's
// messages about a unit (UNIT=) are trusted only from PID 1 on the system
// journal, as journalctl --unit does; a user manager's come from the user's
// own processes.
func matches(t target, f unitFields, system bool) []string {
	var args []string
	group := func(field string, values []string, extra ...string) {
		if len(values) == 0 {
			return
		}
		if len(args) > 0 {
			args = append(args, "+")
		}
		for _, v := range values {
			args = append(args, field+"="+v)
		}
		args = append(args, extra...)
	}
	for _, field := range f.list() {
		var extra []string
		if system && field == f.about {
			extra = []string{"_PID=1"}
		}
		group(field, t.units, extra...)
	}
	group("CONTAINER_NAME", t.containerNames())
	return args
}

// outputFields are the fields journalctl is asked for (--output-fields),
// besides the __CURSOR and __REALTIME_TIMESTAMP it always writes: fewer bytes
// to read and parse a line.
func outputFields() string {
	fs := []string{"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "CONTAINER_NAME"}
	fs = append(fs, userFields.list()...)
	fs = append(fs, systemFields.list()...)
	return strings.Join(fs, ",")
}

// errNoValue is fieldValue's error for a field that is absent or null.
var errNoValue = errors.New("no value")

// fieldValue decodes one field of journalctl's JSON as journalctl writes
// it: a string; an array of byte values, for a value that is not UTF-8 or
// holds control characters; null, for a value journalctl would not show;
// or, for a field with several values, an array of those (joined here by
// newlines).
func fieldValue(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", errNoValue
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return "", err
		}
		if len(items) == 0 || (items[0][0] != '"' && items[0][0] != '[' && items[0][0] != 'n') {
			b := make([]byte, 0, len(items))
			for _, it := range items {
				n, err := strconv.ParseUint(string(it), 10, 8)
				if err != nil {
					return "", errors.New("byte array holds " + string(it))
				}
				b = append(b, byte(n))
			}
			return string(b), nil
		}
		var vals []string
		for _, it := range items {
			if v, err := fieldValue(it); err == nil {
				vals = append(vals, v)
			} else if !errors.Is(err, errNoValue) {
				return "", err
			}
		}
		if vals == nil {
			return "", errNoValue
		}
		return strings.Join(vals, "\n"), nil
	}
	return "", errors.New("unexpected value " + string(raw[:min(len(raw), 20)]))
}

// cutMark ends the message of an entry whose JSON line was longer than
// MaxLine.
const cutMark = " [… entry cut: over 64 KiB]"

// parseEntry turns one line of `journalctl -o json` into an entry of t, for a
// manager whose units are named by f. cut says the line was cut at MaxLine:
// what could be read before the cut is kept and the message marked. ok is
// false for a line that holds no entry (empty, or not JSON at all).
func parseEntry(line []byte, cut bool, t target, f unitFields) (e unit.LogEntry, ok bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return unit.LogEntry{}, false
	}
	var raw map[string]json.RawMessage
	if cut {
		raw = salvage(line)
	} else if err := json.Unmarshal(line, &raw); err != nil {
		return unit.LogEntry{}, false
	}
	get := func(k string) string {
		v, _ := fieldValue(raw[k])
		return v
	}
	e = unit.LogEntry{Priority: unit.PriorityUnknown}
	if us, err := strconv.ParseInt(get("__REALTIME_TIMESTAMP"), 10, 64); err == nil {
		e.Time = time.UnixMicro(us)
	}
	if p, err := strconv.Atoi(get("PRIORITY")); err == nil && p >= unit.PriorityEmerg && p <= unit.PriorityDebug {
		e.Priority = p
	}
	e.PID, _ = strconv.Atoi(get("_PID"))
	e.Cursor = get("__CURSOR")
	e.Message = get("MESSAGE")
	if cut {
		e.Message += cutMark
	}
	container := get("CONTAINER_NAME")
	e.Identifier = get("SYSLOG_IDENTIFIER")
	if e.Identifier == "" {
		e.Identifier = container
	}
	if e.Identifier == "" {
		e.Identifier = get("_COMM")
	}
	e.Unit = unitOf(get, container, t, f)
	if len(raw) == 0 && !cut {
		return unit.LogEntry{}, false
	}
	return e, true
}

// unitOf tags an entry: a container's output with the container's service,
// else the first of its unit fields (in f's order) that names one of t's
// units, else the first unit field it has.
func unitOf(get func(string) string, container string, t target, f unitFields) string {
	if svc, ok := t.containers[container]; ok {
		return svc
	}
	first := ""
	for _, field := range f.list() {
		v := get(field)
		for _, u := range t.units {
			if v == u {
				return u
			}
		}
		if first == "" {
			first = v
		}
	}
	return first
}

// salvage reads the fields of a JSON object cut short, in order, up to the
// cut: the fields before it keep their values and a string cut in the middle
// keeps what it has, so an entry over MaxLine still shows its time, unit and
// the start of its message.
func salvage(line []byte) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return out
	}
	for {
		kt, err := dec.Token()
		if err != nil {
			return out
		}
		k, ok := kt.(string)
		if !ok {
			return out
		}
		start := dec.InputOffset()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			// Cut inside this value: a string keeps its start.
			rest := bytes.TrimLeft(line[start:], " :")
			if len(rest) > 0 && rest[0] == '"' {
				if s, ok := unquotePrefix(rest[1:]); ok {
					b, _ := json.Marshal(s)
					out[k] = b
				}
			}
			return out
		}
		out[k] = v
	}
}

// unquotePrefix decodes the start of a JSON string body that was cut before
// its closing quote, dropping an escape cut in the middle.
func unquotePrefix(b []byte) (string, bool) {
	for n := len(b); n >= 0 && n > len(b)-12; n-- {
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, b[:n]...), '"'), &s) == nil {
			return s, true
		}
	}
	return "", false
}
