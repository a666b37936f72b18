package systemdbus

import (
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestUnitPathRoundTrip(t *testing.T) {
	tests := []struct{ name, path string }{
		{"echo.socket", "/org/freedesktop/systemd1/unit/echo_2esocket"},
		{"web-echo@0-127.0.0.1:3000.service", "/org/freedesktop/systemd1/unit/web_2decho_400_2d127_2e0_2e0_2e1_3a3000_2eservice"},
		{"a_b.socket", "/org/freedesktop/systemd1/unit/a_5fb_2esocket"},
		{"1echo.socket", "/org/freedesktop/systemd1/unit/_31echo_2esocket"}, // a leading digit is escaped
		{"a1.socket", "/org/freedesktop/systemd1/unit/a1_2esocket"},
		{"", "/org/freedesktop/systemd1/unit/_"},
	}
	for _, tt := range tests {
		if got := unitPath(tt.name); string(got) != tt.path {
			t.Errorf("unitPath(%q) = %s, want %s", tt.name, got, tt.path)
		}
		if got, ok := unitName(unitPath(tt.name)); !ok || got != tt.name {
			t.Errorf("unitName(unitPath(%q)) = %q, %v", tt.name, got, ok)
		}
	}
	for _, bad := range []string{"/org/freedesktop/systemd1", "/org/freedesktop/systemd1/unit/a_2", "/org/freedesktop/systemd1/unit/a_zz", "/org/freedesktop/systemd1/job/1"} {
		if name, ok := unitName(dbus.ObjectPath(bad)); ok {
			t.Errorf("unitName(%s) = %q, ok; want not a unit path", bad, name)
		}
	}
}

func TestCheckPatternAndSocketName(t *testing.T) {
	for _, ok := range []string{"echo", "echo.socket", "echo*", "web-echo@1.service", "a?[bc].socket", `x\x2d.socket`} {
		if err := CheckPattern(ok); err != nil {
			t.Errorf("CheckPattern(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b.socket", "x;rm", "[abc", strings.Repeat("a", 256)} {
		if err := CheckPattern(bad); err == nil {
			t.Errorf("CheckPattern(%q) = nil, want an error", bad)
		}
	}
	names := map[string]string{"echo": "echo.socket", "echo.socket": "echo.socket", "echo.service": "echo.service",
		"echo*": "echo*", "my.app": "my.app.socket"}
	for in, want := range names {
		if got := SocketName(in); got != want {
			t.Errorf("SocketName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainer(t *testing.T) {
	cmd := func(args ...string) [][]string { return [][]string{args} }
	tests := []struct {
		name string
		unit string
		exec [][]string
		env  []string
		want string
	}{
		{"plain service", "echo.service", cmd("/usr/bin/socktui-echo"), nil, ""},
		{"generate systemd --new", "container-web.service", cmd("/usr/bin/podman", "run", "--cidfile=%t/%n.ctr-id",
			"--cgroups=no-conmon", "--rm", "--sdnotify=conmon", "-d", "--replace", "--name", "web", "localhost/echo"),
			[]string{"PODMAN_SYSTEMD_UNIT=container-web.service"}, "web"},
		{"--name=", "x.service", cmd("/usr/bin/podman", "run", "--name=quadlet-web", "img"), nil, "quadlet-web"},
		{"global flags", "x.service", cmd("/usr/bin/podman", "--log-level", "debug", "container", "run", "--rm", "--name", "db", "img"), nil, "db"},
		{"podman start", "container-old.service", cmd("/usr/bin/podman", "start", "old"), nil, "old"},
		{"unnamed run", "web.service", cmd("/usr/bin/podman", "run", "--rm", "img"), nil, "web"},
		{"wrapper with env", "wrapped.service", cmd("/usr/local/bin/run-it"), []string{"A=1", "PODMAN_SYSTEMD_UNIT=wrapped.service"}, "wrapped"},
		{"no exec", "empty.service", nil, nil, ""},
		{"podman API service", "podman.service", cmd("/usr/bin/podman", "$LOGGING", "system", "service"), nil, ""},
		{"kube play", "kube-web.service", cmd("/usr/bin/podman", "kube", "play", "--replace", "web.yaml"), nil, "kube-web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Container(tt.unit, tt.exec, tt.env); got != tt.want {
				t.Errorf("Container = %q, want %q", got, tt.want)
			}
		})
	}
}
