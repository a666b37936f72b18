package podman

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScanProgress: podman pull's progress is passed on line by line, a
// carriage return ending a line as a newline does, blank lines dropped,
// each line cut to the bound (the rest of it dropped, never passed on as a
// line of its own, and no character cut in two), the last line returned.
func TestScanProgress(t *testing.T) {
	long := strings.Repeat("x", 20) + "é" + strings.Repeat("y", 100)
	for _, tc := range []struct {
		what, in string
		max      int
		want     []string
	}{
		{"podman's lines", "Trying to pull localhost/x:1...\nGetting image source signatures\nCopying blob sha256:ab done\nWriting manifest to image destination\n", 64,
			[]string{"Trying to pull localhost/x:1...", "Getting image source signatures", "Copying blob sha256:ab done", "Writing manifest to image destination"}},
		{"no final newline", "one\ntwo", 64, []string{"one", "two"}},
		{"blank lines and blanks", "\n\n  one  \n\t\n", 64, []string{"one"}},
		{"a redrawn bar", "Copying blob 10%\rCopying blob 50%\rCopying blob done\r\n", 64, []string{"Copying blob 10%", "Copying blob 50%", "Copying blob done"}},
		{"a long line, a character cut in two", long + "\nafter\n", 21, []string{strings.Repeat("x", 20), "after"}},
		{"a long line", long + "\n", 64, []string{strings.Repeat("x", 20) + "é" + strings.Repeat("y", 42)}},
		{"nothing", "", 64, nil},
	} {
		var got []string
		last := scanProgress(strings.NewReader(tc.in), tc.max, func(l string) { got = append(got, l) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: lines %q, want %q", tc.what, got, tc.want)
		}
		wantLast := ""
		if len(tc.want) > 0 {
			wantLast = tc.want[len(tc.want)-1]
		}
		if last != wantLast {
			t.Errorf("%s: last %q, want %q", tc.what, last, wantLast)
		}
	}
	if last := scanProgress(strings.NewReader("a\nb\n"), 10, nil); last != "b" {
		t.Errorf("without a callback: last %q, want b", last)
	}
}

// TestPullPassesProgressAndFailure runs Pull on a stand-in podman: its
// arguments are pull -- IMAGE, each progress line of its stderr reaches
// the callback (a megabyte-long line cut to maxProgressLine), and a failed
// pull's error carries the exit status and the last line.
func TestPullPassesProgressAndFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "podman")
	script := `#!/bin/sh
echo "$@" > "$ARGS"
echo "Trying to pull $3..." >&2
head -c 1048576 /dev/zero | tr '\0' 'z' >&2
printf '\nError: initializing source docker://%s: connection refused\n' "$3" >&2
echo sha256:0123
exit "$CODE"
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(dir, "args")
	for _, code := range []string{"0", "125"} {
		p := Podman{Path: path, Env: []string{"PATH=/usr/bin:/bin", "ARGS=" + args, "CODE=" + code}}
		var lines []string
		err := p.Pull(context.Background(), "127.0.0.1:1/x:1", func(l string) { lines = append(lines, l) })
		want := []string{"Trying to pull 127.0.0.1:1/x:1...", strings.Repeat("z", maxProgressLine),
			"Error: initializing source docker://127.0.0.1:1/x:1: connection refused"}
		if !slices.Equal(lines, want) {
			t.Errorf("exit %s: %d lines %.200q, want %d lines %.200q", code, len(lines), lines, len(want), want)
		}
		if b, _ := os.ReadFile(args); string(b) != "pull -- 127.0.0.1:1/x:1\n" {
			t.Errorf("podman ran with %q, want pull -- 127.0.0.1:1/x:1", b)
		}
		switch {
		case code == "0" && err != nil:
			t.Errorf("exit 0: %v", err)
		case code != "0" && (err == nil || !strings.Contains(err.Error(), "exit status 125") || !strings.HasSuffix(err.Error(), ": connection refused")):
			t.Errorf("exit %s: error %v, want the status and podman's last line", code, err)
		}
	}
}
