package authoring

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckPodman: --notify healthy is refused on a Podman without it
// (podman run --sdnotify=healthy came in 4.7, Quadlet's Notify=healthy in
// 5.0), naming the version needed; everything else passes on any version.
func TestCheckPodman(t *testing.T) {
	for _, tc := range []struct {
		notify    Notify
		format    Format
		transient bool
		version   string
		want      string // "" passes
	}{
		{NotifyHealthy, FormatService, false, "4.3.1", "needs Podman 4.7 or later (podman run --sdnotify=healthy); this host's Podman is 4.3.1"},
		{NotifyHealthy, FormatService, false, "4.6.2", "needs Podman 4.7"},
		{NotifyHealthy, FormatService, false, "4.7.0", ""},
		{NotifyHealthy, FormatService, false, "5.4.2", ""},
		{NotifyHealthy, FormatQuadlet, true, "4.3.1", "needs Podman 4.7"},
		{NotifyHealthy, FormatQuadlet, true, "4.9.3", ""},
		{NotifyHealthy, FormatQuadlet, false, "4.9.3", "needs Podman 5.0 or later (Quadlet's Notify=healthy)"},
		{NotifyHealthy, FormatQuadlet, false, "5.0.0", ""},
		{NotifyHealthy, FormatService, false, "", ""}, // unknown: the files are for a current Podman
		{NotifyConmon, FormatService, false, "4.3.1", ""},
		{NotifyContainer, FormatQuadlet, false, "4.4.0", ""},
		{"", FormatService, false, "3.4.4", ""},
	} {
		s := Spec{Name: "web", Image: "localhost/web:1", Notify: tc.notify, Format: tc.format, Transient: tc.transient}
		err := CheckPodman(s, tc.version)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s transient=%v on %q: %v, want no error", tc.notify, tc.format, tc.transient, tc.version, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)):
			t.Errorf("%s %s transient=%v on %q: %v, want an ErrInvalid saying %q", tc.notify, tc.format, tc.transient, tc.version, err, tc.want)
		}
	}
}
