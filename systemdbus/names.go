package systemdbus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

const unitPathPrefix = "/org/freedesktop/systemd1/unit/"

// unitPath is the object path systemd gives unit name (bus_label_escape):
// every byte that is not an ASCII letter or digit, and a leading digit,
// becomes _xx. sd.PathBusEscape writes a byte below 0x10 with one hex digit;
// no unit name holds one.
func unitPath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(unitPathPrefix + sd.PathBusEscape(name))
}

// unitName reverses unitPath; ok is false for paths that are not unit paths.
func unitName(p dbus.ObjectPath) (string, bool) {
	label, ok := strings.CutPrefix(string(p), unitPathPrefix)
	if !ok || label == "" || strings.Contains(label, "/") {
		return "", false
	}
	if label == "_" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c != '_' {
			b.WriteByte(c)
			continue
		}
		if i+3 > len(label) {
			return "", false
		}
		v, err := strconv.ParseUint(label[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// unitNameMax is the longest unit name systemd accepts, in bytes
// (UNIT_NAME_MAX, 256, counts the terminating NUL).
const unitNameMax = 255

// CheckPattern reports whether p is a valid unit name or glob pattern, with
// an error wrapping ErrBadPattern that says what is wrong. A name is made of
// the bytes systemd allows in unit names (letters, digits and ":-_.\@", so
// systemd-escape's "my\x2dapp" is one) and is at most 255 bytes long once
// SocketName completed it. A pattern adds the glob operators of MatchPattern:
// "*", "?" and "[...]" sets of those bytes, with a leading "!" or "^",
// ranges and classes such as "[:digit:]".
func CheckPattern(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty", ErrBadPattern)
	}
	if name := SocketName(p); len(p) > unitNameMax || !isGlob(p) && len(name) > unitNameMax {
		with := ""
		if name != p {
			with = " with " + name[len(p):] + " added"
		}
		return fmt.Errorf("%w: %s is %d bytes%s; systemd's unit names have at most %d",
			ErrBadPattern, quoteShort(p), len(name), with, unitNameMax)
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '*', c == '?', unitNameByte(c):
		case c == '[':
			n, err := checkSet(p[i:])
			if err != nil {
				return fmt.Errorf("%w: %q: %v", ErrBadPattern, p, err)
			}
			i += n - 1
		case c == ']':
			return fmt.Errorf("%w: %q has a ] without its [", ErrBadPattern, p)
		default:
			r, _ := utf8.DecodeRuneInString(p[i:])
			return fmt.Errorf("%w: %q contains %q", ErrBadPattern, p, r)
		}
	}
	return nil
}

// quoteShort quotes s, cut to its first 40 bytes when longer.
func quoteShort(s string) string {
	if len(s) <= 40 {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:40]) + "..."
}

// unitNameByte reports whether c may appear in a unit name (systemd's
// VALID_CHARS and the "@" of template instances).
func unitNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\@", c) >= 0
}

// checkSet checks the set "[...]" at the start of p as CheckPattern accepts
// it and returns its length: an optional "!" or "^", then one or more
// members, each a unit name byte, a range of two ("a-z") or a class
// ("[:alpha:]"), then "]". A "]" or "-" right after the "[" (or the "!") is a
// member.
func checkSet(p string) (int, error) {
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		i++
	}
	for first := true; ; first = false {
		if i >= len(p) {
			return 0, errors.New("[ without its ]")
		}
		c := p[i]
		switch {
		case c == ']' && !first:
			return i + 1, nil
		case c == '[':
			name, n, ok := setClass(p[i:])
			if !ok {
				return 0, errors.New("a [ in a set other than a [:class:]")
			}
			if _, known := class(name); !known {
				return 0, fmt.Errorf("unknown class [:%s:]", name)
			}
			i += n
		case unitNameByte(c) || c == ']':
			i++
			if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
				if !unitNameByte(p[i+1]) {
					return 0, fmt.Errorf("range %c-%c", c, p[i+1])
				}
				i += 2
			}
		default:
			r, _ := utf8.DecodeRuneInString(p[i:])
			return 0, fmt.Errorf("%q in a set", r)
		}
	}
}

// setClass reads the class "[:name:]" at the start of p, as glibc does: a
// name of the letters a to y. ok is false when p does not start with one.
func setClass(p string) (name string, n int, ok bool) {
	if !strings.HasPrefix(p, "[:") {
		return "", 0, false
	}
	j := 2
	for j < len(p) && p[j] >= 'a' && p[j] < 'z' {
		j++
	}
	if !strings.HasPrefix(p[j:], ":]") {
		return "", 0, false
	}
	return p[2:j], j + 2, true
}

// class is the test of the character class name of the C locale, for
// ASCII bytes; ok is false for a name that is not a class.
func class(name string) (is func(c byte) bool, ok bool) {
	switch name {
	case "alnum":
		return func(c byte) bool { return isAlpha(c) || isDigit(c) }, true
	case "alpha":
		return isAlpha, true
	case "blank":
		return func(c byte) bool { return c == ' ' || c == '\t' }, true
	case "cntrl":
		return func(c byte) bool { return c < ' ' || c == 0x7f }, true
	case "digit":
		return isDigit, true
	case "graph":
		return func(c byte) bool { return c > ' ' && c < 0x7f }, true
	case "lower":
		return func(c byte) bool { return c >= 'a' && c <= 'z' }, true
	case "print":
		return func(c byte) bool { return c >= ' ' && c < 0x7f }, true
	case "punct":
		return func(c byte) bool { return c > ' ' && c < 0x7f && !isAlpha(c) && !isDigit(c) }, true
	case "space":
		return func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }, true
	case "upper":
		return func(c byte) bool { return c >= 'A' && c <= 'Z' }, true
	case "xdigit":
		return func(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }, true
	}
	return nil, false
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// MatchPattern reports whether a unit name matches pattern as systemd
// matches unit patterns (ListUnitsByPatterns, systemctl list-units and
// friends): fnmatch(3) with FNM_NOESCAPE on the name as systemd spells it,
// escapes and all, so "my\x2dapp.socket" matches "my\x2d*" and itself but
// not "my-app.socket". A backslash is an ordinary byte; "*" matches any
// bytes, "/" included; "?" one byte; "[...]" one byte of a set (see
// CheckPattern), "[!...]" or "[^...]" one byte outside it. As in glibc, a
// "[" without its "]" stands for itself and a set with an unknown class
// matches nothing. Unit names are ASCII, so bytes are characters; ranges
// and classes are those of the C locale. On every pattern CheckPattern
// accepts the answer is glibc's; glibc's quirks in patterns it rejects (a
// set left open after a "-", a "[" in a set other than a class) are not
// copied.
func MatchPattern(pattern, name string) bool {
	// Every operator but "*" takes one byte, so backtracking to the last
	// "*" suffices.
	p, n := 0, 0
	starP, starN := -1, 0
	for p < len(pattern) || n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; {
			case c == '*':
				starP, starN = p, n
				p++
				continue
			case n == len(name):
			case c == '?':
				p, n = p+1, n+1
				continue
			case c == '[':
				if width, in, ok := matchSet(pattern[p:], name[n]); ok {
					if in {
						p, n = p+width, n+1
						continue
					}
				} else if name[n] == '[' {
					p, n = p+1, n+1
					continue
				}
			case c == name[n]:
				p, n = p+1, n+1
				continue
			}
		}
		if starP < 0 || starN == len(name) {
			return false
		}
		starN++
		p, n = starP+1, starN
	}
	return true
}

// matchSet matches c against the set "[...]" at the start of pattern, as
// glibc's fnmatch does with FNM_NOESCAPE in the C locale, and returns the
// set's length. ok is false when the set has no "]": the "[" is then an
// ordinary byte.
func matchSet(pattern string, c byte) (width int, in, ok bool) {
	i := 1
	negate := i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^')
	if negate {
		i++
	}
	// glibc decides at the first member that matches, or fails at the
	// first unknown class before one did.
	decided, result := false, false
	for first := true; ; first = false {
		if i >= len(pattern) {
			return 0, false, false
		}
		m := pattern[i]
		if m == ']' && !first {
			if !decided {
				result = negate
			}
			return i + 1, result, true
		}
		if name, n, isClass := setClass(pattern[i:]); isClass {
			i += n
			if decided {
				continue
			}
			switch is, known := class(name); {
			case !known:
				decided, result = true, false
			case c < 0x80 && is(c):
				decided, result = true, !negate
			}
			continue
		}
		lo, hi := m, m
		i++
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			hi = pattern[i+1]
			i += 2
		}
		if !decided && lo <= c && c <= hi {
			decided, result = true, !negate
		}
	}
}

// isGlob reports whether p has glob characters.
func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// SocketName completes a unit name given without a type suffix to a
// .socket unit ("echo" -> "echo.socket"); names with a suffix and patterns
// are returned as they are.
func SocketName(name string) string {
	if isGlob(name) || strings.Contains(name, ".") && unitType(name) != "" {
		return name
	}
	return name + ".socket"
}

// unitType is the suffix of a unit name ("socket"), or "" when it has no
// known one.
func unitType(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return ""
	}
	switch t := name[i+1:]; t {
	case "service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope":
		return t
	}
	return ""
}
