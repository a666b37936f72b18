package unit

import "testing"

func TestUnescapeC(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{`\a\b\f\n\r\t\v\\\"\'\s`, "\a\b\f\n\r\t\v\\\"' "},
		{`caf\303\251`, "café"},
		{`\001\177\377`, "\x01\x7f\xff"},
		{`\x41\x7e\xFF\xfF`, "A~\xff\xff"},
		{`\u00e9\u20AC`, "é€"},
		{`\U0001F600`, "\U0001F600"},
		// systemd writes a \u surrogate as its three bytes, not as U+FFFD.
		{`\ud800`, "\xed\xa0\x80"},
		{`a\\\\b`, `a\\b`},
		{`\303\251x\303\251`, "éxé"},
	}
	for _, tt := range tests {
		got, err := UnescapeC(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("UnescapeC(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{
		`\`, `a\`, `\q`, `\é`, `\0`, `\00`, `\000`, `\400`, `\777`, `\08`, `\x`, `\x4`, `\x00`, `\xg0`,
		`\x+1`, `\u`, `\u123`, `\u0000`, `\u12G4`, `\U`, `\U0000000`, `\U00000000`, `\U00110000`,
		`\U0000D800`, `\U0000FDD0`, `\U0000FFFE`, `\U0001FFFF`, `\U-0000001`,
	} {
		if got, err := UnescapeC(bad); err == nil {
			t.Errorf("UnescapeC(%q) = %q, want an error", bad, got)
		}
	}
}
