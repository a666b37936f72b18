// Package authoringtest gives tests a real third-party socket-activated
// server to create with socktui new: Debian's lighttpd in a container image
// built offline from the files of this machine (no registry is reachable).
// It is test support, not product: nothing outside tests imports it.
package authoringtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/internal/elfdeps"
	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// Lighttpd is Debian's lighttpd, which the image runs.
const Lighttpd = "/usr/sbin/lighttpd"

// ModuleDir is where Debian installs lighttpd's loadable modules.
const ModuleDir = "/usr/lib/lighttpd"

// Index is the document the image serves at /.
const Index = "<!doctype html><title>socktui</title><p>lighttpd, socket-activated by socktui new\n"

// Conf is the image's /etc/lighttpd/lighttpd.conf: lighttpd serves
// /srv/www from the sockets systemd passes (and binds none of its own),
// with no loadable module (server.modules empty: 1.4.69 builds
// mod_indexfile and mod_staticfile in, and they are all a static site
// needs), logging errors to standard error (the journal).
const Conf = `server.document-root = "/srv/www"
server.systemd-socket-activation = "enable"
server.modules = ()
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
`

// containerfile is the image's recipe: FROM scratch, the files of rootfs/,
// nobody's user, lighttpd in the foreground as the entrypoint.
const containerfile = `# lighttpd for socktui's tests, built by authoringtest.LighttpdImage.
FROM scratch
COPY rootfs/ /
USER 65534:65534
ENTRYPOINT ["/usr/sbin/lighttpd", "-D", "-f", "/etc/lighttpd/lighttpd.conf"]
`

// LighttpdImage builds the lighttpd image with Podman under s's
// environment and removes it in t's cleanup; it returns its tag,
// localhost/lighttpd:socktui-NAME-PID (a repository named lighttpd, so
// that socktui's automatic probe kind takes it for a web server; the tag
// is the test process's own). It fails t (skips it outside CI) without
// Podman or lighttpd.
func LighttpdImage(t testing.TB, s *sandbox.Sandbox, name string) string {
	t.Helper()
	sandboxtest.Need(t, "podman", "podman")
	if _, err := os.Stat(Lighttpd); err != nil {
		sandboxtest.Unavailable(t, "lighttpd is not installed (Debian: apt-get install lighttpd): "+err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("localhost/lighttpd:socktui-%s-%d", name, os.Getpid())
	if err := BuildLighttpdImage(ctx, tag, nil, s.Env()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd := exec.Command("podman", "rmi", "--ignore", tag)
		cmd.Env = s.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("removing image %s: %v\n%s", tag, err, out)
		}
	})
	return tag
}

// BuildLighttpdImage builds the image tag with `podman build
// --pull=never` from this host's files: lighttpd, its program interpreter
// and the shared libraries it needs (package elfdeps), the modules named
// (mod_NAME.so from ModuleDir, and what they need), Conf, and Index as
// /srv/www/index.html. env is podman's environment (nil: this process's).
func BuildLighttpdImage(ctx context.Context, tag string, modules []string, env []string) error {
	fail := func(err error) error { return fmt.Errorf("building the lighttpd image %s: %w", tag, err) }
	dir, err := os.MkdirTemp("", "socktui-lighttpd-image-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	files, err := RootFS(modules)
	if err != nil {
		return fail(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	for dst, src := range files {
		if err := elfdeps.CopyFile(src, filepath.Join(rootfs, dst)); err != nil {
			return fail(err)
		}
	}
	for p, text := range map[string]string{"etc/lighttpd/lighttpd.conf": Conf, "srv/www/index.html": Index} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(rootfs, p)), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(rootfs, p), []byte(text), 0o644); err != nil {
			return fail(err)
		}
	}
	cf := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(cf, []byte(containerfile), 0o644); err != nil {
		return fail(err)
	}
	// --layers=false as echo.BuildImage: see there.
	cmd := exec.CommandContext(ctx, "podman", "build", "--pull=never", "--layers=false", "--quiet", "-t", tag, "-f", cf, dir)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fail(fmt.Errorf("podman build: %w: %s", err, strings.TrimSpace(stderr.String())))
	}
	return nil
}

// RootFS lists the host files the image needs, as path in the image ->
// file to copy: lighttpd, its interpreter and libraries, and each module
// mod_NAME.so with the libraries it needs beyond those.
func RootFS(modules []string) (map[string]string, error) {
	out := map[string]string{Lighttpd: Lighttpd}
	objs := []string{Lighttpd}
	for _, m := range modules {
		if strings.ContainsAny(m, "/.") || m == "" {
			return nil, fmt.Errorf("module %q: want a name such as mod_accesslog", m)
		}
		p := filepath.Join(ModuleDir, m+".so")
		out[p] = p
		objs = append(objs, p)
	}
	for _, o := range objs {
		needs, err := elfdeps.Needs(o)
		if err != nil {
			return nil, err
		}
		for _, f := range needs {
			out[f.Path] = f.Source
		}
	}
	return out, nil
}
