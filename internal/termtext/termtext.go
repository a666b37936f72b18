// Package termtext makes text from outside socktui safe to show on a
// terminal. It is socktui's one sanitiser for terminal output.
//
// The contract: every string that came from systemd, a unit file, Podman,
// the journal or a peer (a unit name, a Description, a listen address, a
// container name, an error message, a server's reply) goes through Clean
// before it reaches a terminal or a table, in the CLI and in the UI alike.
// Clean never lets such text drive the terminal: C0 controls, DEL, C1
// controls, bidirectional overrides and every other rune that does not
// print become visible escapes in Go's notation (\x1b, \u009b, \u202e).
// Tabs and newlines are escaped too (\t, \n), since output is tabular and a
// row must stay one row. Printable UTF-8 ("café", "✓") is kept as it is;
// bytes that are not valid UTF-8 become \xNN. Backslashes are kept, so
// systemd's own escaping (my\x2dapp.socket) reads as systemctl shows it.
//
// JSON output does not use Clean: it keeps the exact value, which the JSON
// encoder escapes (ESC is written \u001b).
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Clean returns s with every rune that is not printable written as a
// visible escape, as the package comment describes. Text that needs no
// escaping is returned unchanged, without allocating.
func Clean(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			writeEscape(&b, rune(s[i]), 'x', 2)
		case safe(r):
			b.WriteString(s[i : i+size])
		default:
			writeRuneEscape(&b, r)
		}
		i += size
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first rune of s that Clean
// escapes, or -1.
func firstUnsafe(s string) int {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || !safe(r) {
			return i
		}
		i += size
	}
	return -1
}

// safe reports whether the valid rune r may be written to a terminal as it
// is: a graphic rune (letters, marks, numbers, punctuation, symbols, spaces).
// Controls, format characters such as the bidi overrides, line and
// paragraph separators, private-use and unassigned runes are not.
func safe(r rune) bool { return unicode.IsGraphic(r) }

func writeRuneEscape(b *strings.Builder, r rune) {
	switch r {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		switch {
		case r < utf8.RuneSelf:
			writeEscape(b, r, 'x', 2)
		case r <= 0xffff:
			writeEscape(b, r, 'u', 4)
		default:
			writeEscape(b, r, 'U', 8)
		}
	}
}

// writeEscape writes r as a backslash, kind and digits hex digits: \xNN,
// \uNNNN or \UNNNNNNNN.
func writeEscape(b *strings.Builder, r rune, kind byte, digits int) {
	const hex = "0123456789abcdef"
	b.WriteByte('\\')
	b.WriteByte(kind)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[r>>uint(shift)&0xf])
	}
}

// Cut shortens s to at most n runes, ending it with "…" when it was
// longer (the "…" counts as one of the n). Apply it to Clean's result to
// bound what a table cell shows; n < 1 gives "".
func Cut(s string, n int) string {
	if n < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}

// JSON returns js, a document written by encoding/json, with every rune
// outside ASCII that Clean would escape written as a JSON \u escape
// instead (a surrogate pair above U+FFFF). The values stay exact; only
// their spelling changes, so JSON printed to a terminal cannot drive it
// either: encoding/json escapes C0 controls but leaves C1 controls (U+009B,
// a CSI) and the bidi overrides raw. Outside strings encoding/json writes
// only ASCII, so only string contents change. js is returned unchanged,
// without copying, when nothing needs it.
func JSON(js []byte) []byte {
	first := -1
	for i := 0; i < len(js); {
		if js[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		if !safe(r) {
			first = i
			break
		}
		i += size
	}
	if first < 0 {
		return js
	}
	out := make([]byte, 0, len(js)+32)
	out = append(out, js[:first]...)
	for i := first; i < len(js); {
		if js[i] < utf8.RuneSelf {
			out = append(out, js[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(js[i:])
		i += size
		if safe(r) {
			out = utf8.AppendRune(out, r)
			continue
		}
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out
}
