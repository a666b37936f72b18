package echo_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socktui/socktui/workloads/echo"
)

// ImageTag names the image by what it runs: the same binary and arguments
// give the same tag, a change to either another one.
func TestImageTag(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "socktui"), filepath.Join(dir, "b", "socktui")
	for p, text := range map[string]string{a: "one build", b: "another build"} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tag := func(bin string, args ...string) string {
		t.Helper()
		tag, err := echo.ImageTag(bin, args)
		if err != nil {
			t.Fatal(err)
		}
		return tag
	}
	sub := tag(a, echo.Subcommand)
	if !strings.HasPrefix(sub, "localhost/socktui-echo:") || sub == echo.DefaultImage {
		t.Errorf("ImageTag = %q, want localhost/socktui-echo:DIGEST", sub)
	}
	if again := tag(a, echo.Subcommand); again != sub {
		t.Errorf("ImageTag twice = %q, %q", sub, again)
	}
	for _, other := range []string{tag(a), tag(b, echo.Subcommand)} {
		if other == sub {
			t.Errorf("ImageTag of another binary or other arguments = %q, the same", other)
		}
	}
	if _, err := echo.ImageTag(filepath.Join(dir, "absent"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ImageTag of a missing binary: %v", err)
	}
}
