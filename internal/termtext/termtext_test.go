package termtext

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"echo.socket", "echo.socket"},
		{"café ✓ échø 日本", "café ✓ échø 日本"},
		{`my\x2dapp.socket`, `my\x2dapp.socket`},
		{`say "hi"`, `say "hi"`},
		{"\x1b]0;pwned\x07\x1b[2J", `\x1b]0;pwned\a\x1b[2J`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"tab\tnl\ncr\r", `tab\tnl\ncr\r`},
		{"nul\x00 bs\b ff\f vt\v del\x7f", `nul\x00 bs\b ff\f vt\v del\x7f`},
		{"c1 \u009b2J nel\u0085", `c1 \u009b2J nel\u0085`},
		{"bidi \u202eevil\u202c \u2066x\u2069", `bidi \u202eevil\u202c \u2066x\u2069`},
		{"zero\u200bwidth \ufeffbom", `zero\u200bwidth \ufeffbom`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"private \ue000 tag \U000e0041", `private \ue000 tag \U000e0041`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"cut \xe2\x82 rune", `cut \xe2\x82 rune`},
		{"real \ufffd kept", "real \ufffd kept"},
		{"nbsp\u00a0ideo\u3000", "nbsp\u00a0ideo\u3000"},
		{"e\u0301 combining", "e\u0301 combining"},
	}
	for _, tt := range tests {
		got := Clean(tt.in)
		if got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
		assertSafe(t, tt.in, got)
	}
}

func TestCleanKeepsSafeTextWithoutCopying(t *testing.T) {
	in := "socktui-echo.socket café"
	if n := testing.AllocsPerRun(100, func() { Clean(in) }); n != 0 {
		t.Errorf("Clean of safe text allocates %v times, want 0", n)
	}
}

// assertSafe fails t when out, Clean's result for in, holds anything a
// terminal could act on.
func assertSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("Clean(%q) = %q is not valid UTF-8", in, out)
	}
	for _, r := range out {
		if !unicode.IsGraphic(r) {
			t.Errorf("Clean(%q) = %q keeps %U", in, out, r)
		}
	}
}

// FuzzClean checks Clean against strconv.QuoteToGraphic, which escapes the
// same runes the same way but also escapes quotes and backslashes.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"café", "\x1b]0;pwned\x07", "\xff", "\u202e", "a\tb\nc", "\U000e0001", "\\x1b \"q\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		assertSafe(t, s, got)
		if !strings.ContainsAny(s, `\"`) {
			q := strconv.QuoteToGraphic(s)
			if want := q[1 : len(q)-1]; got != want {
				t.Errorf("Clean(%q) = %q, strconv.QuoteToGraphic gives %q", s, got, want)
			}
		}
		if Clean(got) != got {
			t.Errorf("Clean(Clean(%q)) = %q, want %q unchanged", s, Clean(got), got)
		}
	})
}

func TestCut(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 5, ""},
		{"short", 5, "short"},
		{"longer", 5, "long…"},
		{"café au lait", 5, "café…"},
		{"日本語のテキスト", 3, "日本…"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"", 0, ""},
	}
	for _, tt := range tests {
		got := Cut(tt.in, tt.n)
		if got != tt.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if tt.n > 0 && utf8.RuneCountInString(got) > tt.n {
			t.Errorf("Cut(%q, %d) = %q has more than %d runes", tt.in, tt.n, got, tt.n)
		}
	}
}
