package probe

import (
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestChooseKindReadsPodmanLines checks that of a podman run line only the
// image and the container's command choose the kind.
func TestChooseKindReadsPodmanLines(t *testing.T) {
	tests := []struct {
		exec []string
		want unit.Kind
	}{
		// Option values are not programs.
		{[]string{"/usr/bin/podman", "run", "--rm", "-v", "/etc/nginx:/etc/nginx", "localhost/app"}, unit.KindConnect},
		{[]string{"/usr/bin/podman", "run", "--name", "caddy", "localhost/app"}, unit.KindConnect},
		// The image, after options with values as pflag reads them.
		{[]string{"/usr/bin/podman", "--log-level", "info", "run", "-p", "8080:80", "-dit", "docker.io/library/nginx:1.25"}, unit.KindHTTP},
		{[]string{"/usr/bin/podman", "run", "--cgroups=split", "--sdnotify=conmon", "-d", "localhost/socktui-echo:latest"}, unit.KindEcho},
		// The container's command.
		{[]string{"/usr/bin/podman", "run", "docker.io/library/python:3", "python3", "-m", "http.server"}, unit.KindHTTP},
		// A line podmancmd cannot read to its image: every word decides.
		{[]string{"/usr/bin/podman", "run", "--some-new-flag", "x", "docker.io/library/nginx"}, unit.KindHTTP},
	}
	for _, tt := range tests {
		if got := ChooseKind("web.socket", tt.exec); got != tt.want {
			t.Errorf("ChooseKind(%q) = %q, want %q", tt.exec, got, tt.want)
		}
	}
}
