package remote

import (
	"os/exec"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		err  bool
	}{
		{in: "host", want: Target{Host: "host"}},
		{in: "alice@host", want: Target{User: "alice", Host: "host"}},
		{in: "alice@host:2222", want: Target{User: "alice", Host: "host", Port: 2222}},
		{in: "10.231.3.2:2203", want: Target{Host: "10.231.3.2", Port: 2203}},
		{in: "[::1]:22", want: Target{Host: "::1", Port: 22}},
		{in: "root@[fe80::1]", want: Target{User: "root", Host: "fe80::1"}},
		{in: "fe80::1", want: Target{Host: "fe80::1"}},
		{in: "a@b@host", want: Target{User: "a@b", Host: "host"}},
		{in: "", err: true},
		{in: "@host", err: true},
		{in: "host:", err: true},
		{in: "host:0", err: true},
		{in: "host:70000", err: true},
		{in: "host:ssh", err: true},
		{in: "-oProxyCommand=x", err: true},
		{in: "-x@host", err: true},
		{in: "ho st", err: true},
		{in: "host\x1b[2J", err: true},
		{in: "[::1", err: true},
		{in: "[::1]x", err: true},
		{in: "a:b:c", err: true},
		{in: "host:22:22", err: true},
		{in: "root@::1", want: Target{User: "root", Host: "::1"}},
	} {
		got, err := ParseTarget(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			if back, err := ParseTarget(got.String()); err != nil || back != got {
				t.Errorf("ParseTarget(%q.String() = %q) = %+v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

// TestShellQuote: every word comes back from a real shell as it went in.
func TestShellQuote(t *testing.T) {
	for _, w := range []string{"plain", "", "two words", "it's", `"$HOME"`, "$(id)", "`id`", "a;b", "*", "new\nline", "back\\slash", "-n", "ünïcode"} {
		out, err := exec.Command("sh", "-c", "printf '%s' "+ShellQuote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("sh printed %q for ShellQuote(%q) = %s (%v)", out, w, ShellQuote(w), err)
		}
	}
}
