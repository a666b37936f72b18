package podman

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// SELinux is the host's SELinux state, as it concerns containers.
type SELinux struct {
	// Enabled: the kernel runs SELinux (selinuxfs is mounted).
	Enabled bool
	// Enforcing: it enforces its policy.
	Enforcing bool
	// ContainerSELinux is the version of the installed container-selinux
	// package, "" when none is installed. It is read only when enforcing.
	ContainerSELinux string
}

// SELinuxFS is where the kernel's SELinux file system is mounted.
const SELinuxFS = "/sys/fs/selinux"

// PackageVersion returns the installed version of a package, "" when it
// is not installed; an error when no package manager could tell.
type PackageVersion func(ctx context.Context, name string) (string, error)

// HostSELinux reads SELinux's state under fs (SELinuxFS) and, when it
// enforces, container-selinux's version with version (InstalledVersion
// when nil).
func HostSELinux(ctx context.Context, fs string, version PackageVersion) (SELinux, error) {
	var s SELinux
	b, err := os.ReadFile(filepath.Join(fs, "enforce"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return s, fmt.Errorf("reading SELinux's state: %w", err)
	}
	s.Enabled = true
	s.Enforcing = strings.TrimSpace(string(b)) == "1"
	if !s.Enforcing {
		return s, nil
	}
	if version == nil {
		version = InstalledVersion
	}
	if s.ContainerSELinux, err = version(ctx, "container-selinux"); err != nil {
		return s, err
	}
	return s, nil
}

// InstalledVersion asks rpm, else dpkg, for the installed version of
// package name: "" when it is not installed.
func InstalledVersion(ctx context.Context, name string) (string, error) {
	tries := [][]string{
		{"rpm", "-q", "--qf", "%{VERSION}", "--", name},
		{"dpkg-query", "-W", "-f", "${Version}", "--", name},
	}
	var tried []string
	for _, t := range tries {
		path, err := exec.LookPath(t[0])
		if err != nil {
			continue
		}
		cmd := exec.CommandContext(ctx, path, t[1:]...)
		out := &limitedBuffer{max: 4 << 10}
		cmd.Stdout = out
		err = cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return strings.TrimSpace(out.String()), nil
		case errors.As(err, &ee) && ctx.Err() == nil:
			// Not installed: rpm and dpkg-query both exit 1.
			return "", nil
		}
		tried = append(tried, fmt.Sprintf("%s: %v", t[0], err))
	}
	if len(tried) == 0 {
		return "", errors.New("neither rpm nor dpkg-query is installed to tell container-selinux's version")
	}
	return "", fmt.Errorf("container-selinux's version: %s", strings.Join(tried, "; "))
}

// TimePlainRun starts a container of image the plain way, `podman run -d
// --rm --network=none --pull=never --name NAME IMAGE ARGS...`, and returns
// how long podman took to have it running; it then removes the container
// (podman rm -f). It is the floor of a socket-activated start of the same
// image. name must be a container name of the caller's own.
func (p Podman) TimePlainRun(ctx context.Context, name, image string, args []string) (time.Duration, error) {
	run := append([]string{"run", "-d", "--rm", "--network=none", "--log-driver=none", "--pull=never", "--name", name, "--", image}, args...)
	begin := time.Now()
	_, err := p.Run(ctx, run...)
	took := time.Since(begin)
	// Removed whatever happened: a run that failed late may leave it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, rmErr := p.Run(rctx, "rm", "-f", "--ignore", "-t", "0", "--", name)
	if err != nil {
		return 0, err
	}
	if rmErr != nil {
		return 0, fmt.Errorf("removing the timed container: %w", rmErr)
	}
	return took, nil
}
