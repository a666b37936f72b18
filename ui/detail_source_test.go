package ui

import (
	"strings"
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestDetailShowsQuadletSource: a container service generated from a
// Quadlet file names that file below its container, cleaned for the
// terminal; a service written as a unit file names none.
func TestDetailShowsQuadletSource(t *testing.T) {
	for _, tc := range []struct {
		source, want string
	}{
		{"/home/u/.config/containers/systemd/echo.container", "  source: /home/u/.config/containers/systemd/echo.container"},
		{"/q/e\x1b[31m.container", "  source: /q/e\\x1b[31m.container"},
		{"", ""},
	} {
		sk := echoSocket(unit.StateIdle)
		sk.Services[0].Source = tc.source
		lines := detailLines(&unitRow{sock: sk}, NewStyles(asciiRenderer()), 100)
		var got string
		for i, l := range lines {
			if strings.HasPrefix(l, "  source: ") {
				got = l
				if i == 0 || !strings.HasPrefix(lines[i-1], "  container: ") {
					t.Errorf("the source line does not follow the container's:\n%s", strings.Join(lines, "\n"))
				}
			}
		}
		if got != tc.want {
			t.Errorf("source %q: detail line %q, want %q", tc.source, got, tc.want)
		}
	}
}
