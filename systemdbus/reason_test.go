package systemdbus

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/socktui/socktui/unit"
)

// TestExplainFailureChecksTheImage checks that a failed podman line leads
// to a check of its image, read by podmancmd (whose tests hold the many
// ways to write one), and that --pull=never is told.
func TestExplainFailureChecksTheImage(t *testing.T) {
	tests := []struct {
		args      string
		image     string // "": no image to check
		pullNever bool
	}{
		{"run --cidfile=/run/x.ctr-id --cgroups=no-conmon --rm --sdnotify=container -d --replace --name echo --network=none --pull=never localhost/socktui-echo:latest --idle-exit 30s",
			"localhost/socktui-echo:latest", true},
		{"--log-level debug container run -v /a:/b -p 8080:80 docker.io/library/nginx", "docker.io/library/nginx", false},
		{"run --pull never -it alpine sh", "alpine", true},
		{"create --rm -- img:1 cmd", "img:1", false},
		{"run --some-new-flag value img", "", false}, // unknown flag: uncertain
		{"run --rootfs /srv/root /bin/sh", "", false},
		{"start echo", "", false},
		{"system service", "", false},
		{"run", "", false},
	}
	for _, tt := range tests {
		checked := ""
		exists := func(_ context.Context, image string) (bool, error) {
			checked = image
			return false, nil
		}
		cmds := []execCommand{{Path: "/usr/bin/podman", Args: append([]string{"/usr/bin/podman"}, strings.Fields(tt.args)...),
			Code: cldExited, Status: podmanRunFailed}}
		got := explainFailure(context.Background(), exists, cmds)
		never := strings.Contains(got, "--pull=never")
		if checked != tt.image || never != tt.pullNever {
			t.Errorf("%q: checked image %q, told --pull=never %v; want %q, %v (reason %q)", tt.args, checked, never, tt.image, tt.pullNever, got)
		}
	}
}

func TestExplainFailure(t *testing.T) {
	run := func(status int32) []execCommand {
		return []execCommand{{Path: "/usr/bin/podman", Args: strings.Fields("/usr/bin/podman run --rm --pull=never localhost/missing:1"),
			Code: cldExited, Status: status}}
	}
	exists := func(ok bool, err error) imageExistsFunc {
		return func(_ context.Context, image string) (bool, error) {
			if image != "localhost/missing:1" {
				t.Errorf("checked %s", image)
			}
			return ok, err
		}
	}
	tests := []struct {
		name   string
		cmds   []execCommand
		exists imageExistsFunc
		want   string
	}{
		{"image missing", run(125), exists(false, nil), "image localhost/missing:1 is not in local storage and the service runs it with --pull=never"},
		{"image present", run(125), exists(true, nil), "podman exited 125: it could not start the container"},
		{"check failed", run(125), exists(false, errors.New("boom")), "podman exited 125: it could not start the container"},
		{"the container's command failed", run(1), exists(false, nil), ""},
		{"not podman", []execCommand{{Path: "/bin/false", Code: cldExited, Status: 1}}, exists(false, nil), ""},
		{"killed", []execCommand{{Path: "/usr/bin/podman", Args: []string{"/usr/bin/podman", "run", "x"}, Code: 2, Status: 125}}, exists(false, nil), ""},
	}
	for _, tt := range tests {
		got := explainFailure(context.Background(), tt.exists, tt.cmds)
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDeriveStateKeepsServiceReason(t *testing.T) {
	svc := unit.Service{Unit: "echo.service", ActiveState: "failed", Result: "exit-code", Reason: "image x is not in local storage"}
	sock := unit.Socket{ActiveState: "active", Services: []unit.Service{svc}}
	if _, why := unit.DeriveState(sock); why != "service echo.service: exit-code: image x is not in local storage" {
		t.Errorf("service failed: %q", why)
	}
	sock.ActiveState, sock.Result = "failed", "service-start-limit-hit"
	if _, why := unit.DeriveState(sock); why != "socket: service-start-limit-hit; service echo.service: image x is not in local storage" {
		t.Errorf("socket failed: %q", why)
	}
}

func TestPodmanExited(t *testing.T) {
	podman := func(exit uint64, code int32) []execCommand {
		return []execCommand{{Path: "/usr/bin/podman", Args: []string{"/usr/bin/podman", "run", "x"}, Exit: exit, Code: code}}
	}
	if !podmanExited(podman(1795933225519091, cldExited)) {
		t.Error("an exited podman run counts as running")
	}
	if podmanExited(podman(0, 0)) {
		t.Error("a podman run still starting counts as exited")
	}
	if !podmanExited([]execCommand{{Path: "/bin/true"}}) {
		t.Error("no podman command: nothing to wait for")
	}
}
