package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/ui"
	"github.com/socktui/socktui/unit"
)

// uiAuthoring is the UI's n form and D key (ui.Authoring): each call runs
// the command itself — `socktui new ... [--dry-run]`, `socktui rm NAME` —
// in this process, through the same command tree, flags and code as on
// the command line, and returns what it printed. So the UI creates exactly
// what socktui new creates, with the same refusals and the same undo.
type uiAuthoring struct {
	// getenv is the manager's environment as the commands read it (HOME,
	// XDG_CONFIG_HOME, XDG_RUNTIME_DIR): where the files go and which
	// manager they connect to.
	getenv func(string) string
	system bool
}

var _ ui.Authoring = uiAuthoring{}

// maxCommandOutput bounds what one command's output may hold in memory;
// socktui's own messages are far below it.
const maxCommandOutput = 1 << 20

// boundedBuffer keeps the first maxCommandOutput bytes written to it.
type boundedBuffer struct{ buf bytes.Buffer }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := maxCommandOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// run runs socktui with args (the command first) and returns its standard
// output and error; err is the command's error, as Run would report it.
func (a uiAuthoring) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	if a.system {
		args = append(args, "--system")
	}
	var o, e boundedBuffer
	root, _ := newRootCommand(&Env{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e, Getenv: a.getenv}, args)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return o.buf.String(), e.buf.String(), err
}

// Host lists the images in local storage and the format socktui new picks
// here (defaultFormat, from the same Podman).
func (a uiAuthoring) Host(ctx context.Context) (ui.AuthoringHost, error) {
	pm, err := podman.Find(nil)
	if err != nil {
		return ui.AuthoringHost{Format: string(defaultFormat(""))}, err
	}
	images, err := pm.Images(ctx)
	version, _ := pm.Version(ctx)
	return ui.AuthoringHost{Images: images, Format: string(defaultFormat(version))}, err
}

// newArgs is `socktui new` for u. Every value is given as --flag=VALUE, so
// that one beginning with "-" stays a value; the name, the one positional
// argument, is checked first.
func newArgs(u ui.NewUnit) ([]string, error) {
	if err := (authoring.Spec{Name: u.Name}).ValidateName(); err != nil {
		return nil, usagef("%s", strings.TrimPrefix(err.Error(), authoring.ErrInvalid.Error()+": "))
	}
	args := []string{"new", u.Name, "--image=" + u.Image}
	for _, l := range u.Listen {
		args = append(args, "--listen="+l)
	}
	if u.Format != "" {
		args = append(args, "--format="+u.Format)
	}
	return args, nil
}

// Preview is `socktui new ... --dry-run`: the files, and its warnings.
func (a uiAuthoring) Preview(ctx context.Context, u ui.NewUnit) (ui.Preview, error) {
	args, err := newArgs(u)
	if err != nil {
		return ui.Preview{}, err
	}
	out, errOut, err := a.run(ctx, append(args, "--dry-run")...)
	if err != nil {
		return ui.Preview{}, err
	}
	p := ui.Preview{Text: out}
	for _, line := range lines(errOut) {
		p.Warnings = append(p.Warnings, strings.TrimPrefix(line, "socktui new: warning: "))
	}
	return p, nil
}

// Create is `socktui new ...`: it checks, writes, reloads and starts, and
// undoes it all on a failure or when ctx ends.
func (a uiAuthoring) Create(ctx context.Context, u ui.NewUnit) ([]string, error) {
	args, err := newArgs(u)
	if err != nil {
		return nil, err
	}
	out, _, err := a.run(ctx, args...)
	return lines(out), err
}

// Wrote reports whether socktui wrote s: one of the files socktui rm
// would remove carries its marker, or s is a transient unit socktui new
// created (rmOne's rule).
func (a uiAuthoring) Wrote(_ context.Context, s unit.Socket) (bool, error) {
	name := strings.TrimSuffix(s.Unit, ".socket")
	if (authoring.Spec{Name: name}).ValidateName() != nil {
		return false, nil
	}
	layout := authoring.UserLayout(a.getenv, a.system)
	for _, p := range authoring.Paths(name, layout, a.system) {
		ours, err := authoring.Owned(p)
		if err != nil {
			return false, err
		}
		if ours {
			return true, nil
		}
	}
	return authoring.OurTransient(s), nil
}

// Remove is `socktui rm NAME`; its report is what it printed, and its
// error what it said on standard error.
func (a uiAuthoring) Remove(ctx context.Context, socket string) ([]string, error) {
	name := strings.TrimSuffix(socket, ".socket")
	if err := (authoring.Spec{Name: name}).ValidateName(); err != nil {
		return nil, usagef("%s", strings.TrimPrefix(err.Error(), authoring.ErrInvalid.Error()+": "))
	}
	out, errOut, err := a.run(ctx, "rm", name)
	var said []string
	for _, l := range lines(errOut) {
		said = append(said, strings.TrimPrefix(l, "socktui rm: "))
	}
	if errors.Is(err, errSilent) {
		return lines(out), errors.New(strings.Join(said, "; "))
	}
	// What rm said beside success: the files of the name it left.
	return append(lines(out), said...), err
}

// lines are the non-empty lines of text.
func lines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// managerGetenv is the environment of the demo's manager for its
// commands: the sandbox's (sandboxEnv, from Sandbox.Env) when the demo
// started one, so that socktui new writes into the sandbox's HOME and
// connects to its manager; else getenv.
func managerGetenv(getenv func(string) string, sandboxEnv []string) func(string) string {
	if sandboxEnv == nil {
		return getenv
	}
	m := map[string]string{}
	for _, kv := range sandboxEnv {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}
