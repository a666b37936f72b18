package podman

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakePodman writes a shell script standing in for podman that prints out
// and exits with code, and returns a Podman running it.
func fakePodman(t *testing.T, out string, code int) Podman {
	t.Helper()
	path := filepath.Join(t.TempDir(), "podman")
	script := "#!/bin/sh\nprintf '%s' \"$FAKE_OUT\"\necho oops >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return Podman{Path: path, Env: []string{"FAKE_OUT=" + out, "PATH=/usr/bin:/bin"}}
}

func TestImageExistsReadsTheExitStatus(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		code    int
		want    bool
		wantErr bool
	}{{0, true, false}, {1, false, false}, {2, false, true}} {
		got, err := fakePodman(t, "", tc.code).ImageExists(ctx, "x")
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("exit %d: got %v, %v; want %v, error %v", tc.code, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "oops") {
			t.Errorf("exit %d: error %q does not carry podman's stderr", tc.code, err)
		}
	}
}

func TestImagesDropsUntagged(t *testing.T) {
	got, err := fakePodman(t, "localhost/a:1\n<none>:<none>\nquay.io/b:latest\n", 0).Images(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "localhost/a:1,quay.io/b:latest" {
		t.Errorf("Images = %q", got)
	}
}

func TestRunBoundsItsOutput(t *testing.T) {
	// A podman that prints more than MaxOutput: the call fails, and holds
	// no more than MaxOutput bytes meanwhile.
	path := filepath.Join(t.TempDir(), "podman")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec head -c 5000000 /dev/zero\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := Podman{Path: path}
	if _, err := p.Run(context.Background(), "images"); err == nil || !strings.Contains(err.Error(), "output over") {
		t.Fatalf("Run of an oversized output: %v, want an error", err)
	}
}

func TestZeroPodmanIsNotInstalled(t *testing.T) {
	if _, err := (Podman{}).Version(context.Background()); err != ErrNotInstalled {
		t.Fatalf("zero Podman: %v, want ErrNotInstalled", err)
	}
}
