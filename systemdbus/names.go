package systemdbus

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

const unitPathPrefix = "/org/freedesktop/systemd1/unit/"

// unitPath is the object path systemd gives unit name: every byte that is
// not an ASCII letter or digit becomes _xx (bus_label_escape).
func unitPath(name string) dbus.ObjectPath {
	if name == "" {
		return unitPathPrefix + "_"
	}
	var b strings.Builder
	b.WriteString(unitPathPrefix)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return dbus.ObjectPath(b.String())
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

// CheckPattern reports whether p is a valid unit name or glob pattern
// (letters, digits, ":-_.\@" and the glob characters "*?[]"), with an error
// wrapping ErrBadPattern that says what is wrong.
func CheckPattern(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty", ErrBadPattern)
	}
	if len(p) > 255 {
		return fmt.Errorf("%w: %q is longer than 255 bytes", ErrBadPattern, p)
	}
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(":-_.\\@*?[]", r):
		default:
			return fmt.Errorf("%w: %q contains %q", ErrBadPattern, p, r)
		}
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadPattern, p, err)
	}
	return nil
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
