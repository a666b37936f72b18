package elfdeps

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ldd lists what the host's loader maps for exe: the paths it resolved
// (without the vDSO), or nil for a static executable.
func ldd(t *testing.T, exe string) []string {
	t.Helper()
	out, err := exec.Command("ldd", exe).CombinedOutput()
	if strings.Contains(string(out), "not a dynamic executable") || strings.Contains(string(out), "statically linked") {
		return nil
	}
	if err != nil {
		t.Fatalf("ldd %s: %v\n%s", exe, err, out)
	}
	var paths []string
	// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
	// "/lib64/ld-linux-x86-64.so.2 (0x...)"
	re := regexp.MustCompile(`^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$`)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			paths = append(paths, m[1])
		} else if !strings.Contains(line, "linux-vdso") && !strings.Contains(line, "linux-gate") {
			t.Fatalf("ldd %s: unexpected line %q", exe, line)
		}
	}
	return paths
}

func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

// checkAgainstLdd compares Needs with what ld.so itself resolves (ldd),
// as sets of paths, and checks that each Source is a regular file.
func checkAgainstLdd(t *testing.T, exe string) {
	t.Helper()
	files, err := Needs(exe)
	if err != nil {
		t.Fatalf("Needs(%s): %v", exe, err)
	}
	got, want := paths(files), ldd(t, exe)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Needs(%s) = %q, ldd resolves %q", exe, got, want)
	}
	for _, f := range files {
		if fi, err := os.Stat(f.Source); err != nil || !fi.Mode().IsRegular() || f.Source != mustEval(t, f.Path) {
			t.Errorf("%s: Source %s is not its regular file (%v)", f.Path, f.Source, err)
		}
	}
	if want != nil {
		interp := files[0].Path
		if !strings.Contains(interp, "ld-") {
			t.Errorf("Needs(%s) starts with %s, want the interpreter first", exe, interp)
		}
	}
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; CI must have it", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// The host's own executables: Needs agrees with the host's loader.
func TestNeedsAgreesWithLdd(t *testing.T) {
	needTool(t, "ldd")
	exes := []string{"/bin/sh", "/bin/ls"}
	if self, err := os.Executable(); err == nil {
		exes = append(exes, self) // dynamic under -race, static without cgo
	}
	for _, name := range []string{"podman", "systemctl", "tmux", "gcc", "lighttpd"} {
		if p, err := exec.LookPath(name); err == nil {
			exes = append(exes, p)
		}
	}
	for _, exe := range exes {
		t.Run(filepath.Base(exe), func(t *testing.T) { checkAgainstLdd(t, exe) })
	}
}

// A Go binary built with and without cgo: what `go install` makes with gcc
// present, and what `make build` makes.
func TestNeedsGoBinaries(t *testing.T) {
	needTool(t, "ldd")
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	// net with cgo links libc for the resolver, as socktui does.
	if err := os.WriteFile(src, []byte("package main\n\nimport \"net\"\n\nfunc main() { _, _ = net.LookupHost(\"localhost\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cgo := range []string{"0", "1"} {
		t.Run("CGO_ENABLED="+cgo, func(t *testing.T) {
			if cgo == "1" {
				needTool(t, "gcc")
			}
			exe := filepath.Join(dir, "prog-cgo"+cgo)
			cmd := exec.Command("go", "build", "-o", exe, src)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo, "GO111MODULE=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			files, err := Needs(exe)
			if err != nil {
				t.Fatal(err)
			}
			if (cgo == "0") != (files == nil) {
				t.Fatalf("CGO_ENABLED=%s: Needs = %q", cgo, paths(files))
			}
			checkAgainstLdd(t, exe)
		})
	}
}

// A library found through $ORIGIN in DT_RUNPATH or DT_RPATH, and a
// library the executable needs that is nowhere.
func TestNeedsOriginPaths(t *testing.T) {
	needTool(t, "ldd")
	gcc := needTool(t, "gcc")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %q: %v\n%s", args, err, out)
		}
	}
	lib := write("foo.c", "int foo(void) { return 42; }\n")
	prog := write("main.c", "int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n")
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	run("-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o", filepath.Join(dir, "lib", "libfoo.so.1"), lib)
	if err := os.Symlink("libfoo.so.1", filepath.Join(dir, "lib", "libfoo.so")); err != nil {
		t.Fatal(err)
	}
	for _, tags := range []string{"--enable-new-dtags", "--disable-new-dtags"} { // RUNPATH, RPATH
		t.Run(tags, func(t *testing.T) {
			exe := filepath.Join(dir, "prog"+tags)
			run("-o", exe, prog, "-L"+filepath.Join(dir, "lib"), "-lfoo", "-Wl,"+tags+",-rpath,$ORIGIN/lib")
			if out, err := exec.Command(exe).CombinedOutput(); err != nil {
				t.Fatalf("%s does not run: %v\n%s", exe, err, out)
			}
			checkAgainstLdd(t, exe)
			files, _ := Needs(exe)
			if want := filepath.Join(dir, "lib", "libfoo.so.1"); !slices.Contains(paths(files), want) {
				t.Errorf("Needs = %q, want it to hold %s", paths(files), want)
			}
		})
	}
	exe := filepath.Join(dir, "lost")
	run("-o", exe, prog, "-L"+filepath.Join(dir, "lib"), "-lfoo")
	if _, err := Needs(exe); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "libfoo.so.1") {
		t.Errorf("Needs of an executable whose library is nowhere = %v, want ErrNotFound naming libfoo.so.1", err)
	}
}

func TestConfDirs(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "ld.so.conf.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(dir, "ld.so.conf"): "# the main file\n/opt/first\ninclude ld.so.conf.d/*.conf\ninclude /nowhere/*.conf\n/opt/last:/opt/last2 # two\n",
		filepath.Join(d, "b.conf"):       "/opt/b\n\n/opt/first\nhwcap 0 nosegneg\n",
		filepath.Join(d, "a.conf"):       "# Multiarch support\n/opt/a/x86_64-linux-gnu\nrelative/ignored\n",
		filepath.Join(d, "a.txt"):        "/opt/not-a-conf\n",
	}
	for p, text := range files {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := confDirs(filepath.Join(dir, "ld.so.conf"))
	want := []string{"/opt/first", "/opt/a/x86_64-linux-gnu", "/opt/b", "/opt/last", "/opt/last2"}
	if !slices.Equal(got, want) {
		t.Errorf("confDirs = %q, want %q", got, want)
	}
	if got := confDirs(filepath.Join(dir, "missing.conf")); got != nil {
		t.Errorf("confDirs of a missing file = %q", got)
	}
}
