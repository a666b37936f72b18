package authoring

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/socktui/socktui/unit"
)

// Marker begins the first line of every file socktui writes; Ours looks for
// it, and nothing else marks a file as socktui's.
const Marker = "# Written by socktui"

// header is the first line of a file for the unit base name.
func header(name string) string {
	return Marker + " new; `socktui rm " + name + "` removes it.\n"
}

// Ours reports whether content is a file socktui wrote: its first line
// begins with Marker.
func Ours(content []byte) bool {
	return strings.HasPrefix(string(content), Marker)
}

// Layout says where unit files go and how the paths in them expand, for one
// user (or the system).
type Layout struct {
	// ConfigHome is the user's $XDG_CONFIG_HOME (~/.config): user units go
	// to ConfigHome/systemd/user, Quadlet files to
	// ConfigHome/containers/systemd. Unused for system units.
	ConfigHome string
	// Home and RuntimeDir are what %h and %t expand to (the user's home
	// and $XDG_RUNTIME_DIR; / root and /run for the system manager): they
	// spell out the paths of transient units, which get no specifiers.
	Home, RuntimeDir string
	// Podman is the absolute path of podman written in the units;
	// "/usr/bin/podman" when empty.
	Podman string
	// PodmanVersion is the host's Podman version ("5.4.2"): Quadlet keys
	// that older generators reject are left out for it. Empty means a
	// current Podman.
	PodmanVersion string
}

// UserLayout is the layout of the user whose environment getenv reads
// (HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR), or of the system manager.
func UserLayout(getenv func(string) string, system bool) Layout {
	if system {
		return Layout{Home: "/root", RuntimeDir: "/run"}
	}
	home := getenv("HOME")
	cfg := getenv("XDG_CONFIG_HOME")
	if cfg == "" && home != "" {
		cfg = filepath.Join(home, ".config")
	}
	return Layout{ConfigHome: cfg, Home: home, RuntimeDir: getenv("XDG_RUNTIME_DIR")}
}

func (l Layout) podman() string {
	if l.Podman == "" {
		return "/usr/bin/podman"
	}
	return l.Podman
}

// UnitDir is where the socket (and a classic service) goes:
// ~/.config/systemd/user, or /etc/systemd/system.
func (l Layout) UnitDir(system bool) string {
	if system {
		return "/etc/systemd/system"
	}
	return filepath.Join(l.ConfigHome, "systemd", "user")
}

// QuadletDir is where a .container goes: ~/.config/containers/systemd, or
// /etc/containers/systemd.
func (l Layout) QuadletDir(system bool) string {
	if system {
		return "/etc/containers/systemd"
	}
	return filepath.Join(l.ConfigHome, "containers", "systemd")
}

// File is one unit file to write.
type File struct {
	// Path is where it goes (absolute); Unit its unit name (NAME.socket,
	// NAME.container, ...).
	Path, Unit string
	Content    string
}

// Paths are the files a spec with this name may have written, in every
// format, in the scope of system: what `socktui rm` looks at.
func Paths(name string, l Layout, system bool) []string {
	u, q := l.UnitDir(system), l.QuadletDir(system)
	return []string{
		filepath.Join(u, name+".socket"),
		filepath.Join(u, name+".service"),
		filepath.Join(u, name+"@.service"),
		filepath.Join(q, name+".container"),
		filepath.Join(q, name+"@.container"),
	}
}

// Render validates s and returns its unit files: NAME.socket and, by
// Format, NAME.container (Quadlet) or NAME.service (classic), NAME@...
// with Accept. Each begins with Marker. A Transient spec has no files: see
// TransientUnits.
func Render(s Spec, l Layout) ([]File, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Transient {
		return nil, invalid("a transient spec has no unit files")
	}
	if !s.System && l.ConfigHome == "" {
		return nil, fmt.Errorf("no folder for user units: HOME and XDG_CONFIG_HOME are unset")
	}
	sock := File{Path: filepath.Join(l.UnitDir(s.System), s.SocketName()), Unit: s.SocketName(),
		Content: header(s.Name) + socketSpec(s, "").SocketFile()}
	var svc File
	if s.Format == FormatQuadlet {
		base := strings.TrimSuffix(s.ServiceName(), ".service") + ".container"
		svc = File{Path: filepath.Join(l.QuadletDir(s.System), base), Unit: base, Content: header(s.Name) + quadletFile(s, l)}
	} else {
		svc = File{Path: filepath.Join(l.UnitDir(s.System), s.ServiceName()), Unit: s.ServiceName(), Content: header(s.Name) + serviceFile(s, l)}
	}
	return []File{sock, svc}, nil
}

// description is the units' description.
func (s Spec) description() string {
	if s.Description != "" {
		return s.Description
	}
	if s.Image == "" {
		return "socktui " + s.Name + " (" + filepath.Base(s.Command[0]) + ")"
	}
	return "socktui " + s.Name + " (container " + s.Image + ")"
}

// socketSpec is the socket half of s as a unit.SocketSpec; service names
// the service unit when s is transient.
func socketSpec(s Spec, service string) unit.SocketSpec {
	u := unit.SocketSpec{
		Name:        s.SocketName(),
		Description: s.description(),
		Listen:      s.Listen,
		Accept:      s.Accept,
	}
	u.Service.Name = service
	for _, l := range s.Listen {
		// A unix socket's file (not an abstract name) is removed on stop.
		if strings.HasPrefix(l.Address, "/") || strings.HasPrefix(l.Address, "%") {
			u.RemoveOnStop = true
		}
	}
	return u
}

// stopTimeout is how long podman stop waits before it kills the container;
// the service's own stop timeout gives it room.
const stopTimeout = 10

// containerName is the container's name: the unit name, with the instance
// for Accept (one container per connection); spec is for a unit file
// (%i), otherwise instance is spelled out.
func (s Spec) containerName(instance string) string {
	if s.Accept {
		return s.Name + "-" + instance
	}
	return s.Name
}

// runArgs are podman run's options and the image and command, for a unit
// file (escape true: the user's words escaped for systemd) or a transient
// unit (as data). cid is the cidfile and name the container's name, both as
// they are to be written.
func runArgs(s Spec, cid, name string) (opts []string, user []string) {
	opts = []string{"run", "--cidfile=" + cid, "--cgroups=no-conmon", "--rm", "--sdnotify=" + string(s.Notify),
		"-d", "--replace", "--name", name}
	user = []string{"--network=" + s.Network, "--pull=never"}
	for _, e := range s.Env {
		user = append(user, "--env", e)
	}
	for _, v := range s.Volumes {
		user = append(user, "--volume", v)
	}
	user = append(user, s.Image)
	user = append(user, s.Command...)
	return opts, user
}

// serviceFile is the classic service: what `podman generate systemd --new`
// writes for `podman create --name NAME --network none --pull=never
// IMAGE`, with what a socket-activated container needs instead of what a
// long-running one does: Requires= and After= the socket, no Restart= (the
// socket starts it again), no [Install] (the socket is what is enabled),
// and no wait for network-online.target when it has no network.
func serviceFile(s Spec, l Layout) string {
	var opts []*sdunit.UnitOption
	opt := func(section, name, value string) {
		opts = append(opts, sdunit.NewUnitOption(section, name, value))
	}
	opt("Unit", "Description", escapeSpecifiers(s.description()))
	opt("Unit", "Requires", s.SocketName())
	opt("Unit", "After", s.SocketName())
	if s.Image == "" {
		opt("Service", "ExecStart", words(s.Command))
		opt("Service", "Type", "simple")
		return serialize(opts)
	}
	if s.NeedsNetwork() {
		opt("Unit", "Wants", "network-online.target")
		opt("Unit", "After", "network-online.target")
	}
	opt("Unit", "RequiresMountsFor", "%t/containers")
	const cid = "%t/%n.ctr-id"
	opt("Service", "Environment", "PODMAN_SYSTEMD_UNIT=%n")
	opt("Service", "TimeoutStopSec", strconv.Itoa(stopTimeout+60))
	opt("Service", "ExecStartPre", "/bin/rm -f "+cid)
	run, user := runArgs(s, cid, s.containerName("%i"))
	opt("Service", "ExecStart", l.podman()+" "+strings.Join(run, " ")+" "+words(user))
	opt("Service", "ExecStop", fmt.Sprintf("%s stop --ignore -t %d --cidfile=%s", l.podman(), stopTimeout, cid))
	opt("Service", "ExecStopPost", fmt.Sprintf("%s rm -f --ignore -t %d --cidfile=%s", l.podman(), stopTimeout, cid))
	opt("Service", "Type", "notify")
	opt("Service", "NotifyAccess", "all")
	return serialize(opts)
}

// quadletFile is the Quadlet .container: Podman's generator writes the
// service from it at daemon-reload (ContainerName the unit's name, not
// systemd-NAME; Pull=never; Notify= for conmon's default or the others).
// With no network it leaves out the wait for the network
// ([Quadlet] DefaultDependencies=false, Podman 5.3 and later), which
// otherwise holds a user's first activation on
// podman-user-wait-network-online.service.
func quadletFile(s Spec, l Layout) string {
	var opts []*sdunit.UnitOption
	opt := func(section, name, value string) {
		opts = append(opts, sdunit.NewUnitOption(section, name, value))
	}
	opt("Unit", "Description", escapeSpecifiers(s.description()))
	opt("Unit", "Requires", s.SocketName())
	opt("Unit", "After", s.SocketName())
	opt("Container", "Image", escapeSpecifiers(s.Image))
	opt("Container", "ContainerName", s.containerName("%i"))
	opt("Container", "Network", escapeSpecifiers(s.Network))
	if l.atLeast(5, 0) {
		opt("Container", "Pull", "never")
	} else {
		opt("Container", "PodmanArgs", "--pull=never")
	}
	switch s.Notify {
	case NotifyContainer:
		opt("Container", "Notify", "true")
	case NotifyHealthy:
		opt("Container", "Notify", "healthy")
	}
	for _, e := range s.Env {
		opt("Container", "Environment", quoteWord(escapeSpecifiers(e)))
	}
	for _, v := range s.Volumes {
		opt("Container", "Volume", escapeSpecifiers(v))
	}
	if len(s.Command) > 0 {
		opt("Container", "Exec", words(s.Command))
	}
	opt("Service", "TimeoutStopSec", strconv.Itoa(stopTimeout+60))
	if !s.NeedsNetwork() && l.atLeast(5, 3) {
		opt("Quadlet", "DefaultDependencies", "false")
	}
	return serialize(opts)
}

// atLeast reports whether the layout's Podman is major.minor or later (an
// unknown version counts as current).
func (l Layout) atLeast(major, minor int) bool {
	if l.PodmanVersion == "" {
		return true
	}
	f := strings.SplitN(l.PodmanVersion, ".", 3)
	ma, err1 := strconv.Atoi(f[0])
	mi := 0
	var err2 error
	if len(f) > 1 {
		mi, err2 = strconv.Atoi(strings.TrimFunc(f[1], func(r rune) bool { return r < '0' || r > '9' }))
	}
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}

// HasQuadlet reports whether a Podman of version v has Quadlet (4.4 and
// later).
func HasQuadlet(v string) bool {
	if v == "" {
		return false
	}
	return Layout{PodmanVersion: v}.atLeast(4, 4)
}

// CheckPodman refuses a spec that the Podman of version v cannot run:
// --notify healthy needs podman run --sdnotify=healthy (Podman 4.7) for a
// classic or transient service, and Quadlet's Notify=healthy (Podman 5.0)
// for a .container. An empty v (unknown) passes. Its error wraps
// ErrInvalid and names the version needed.
func CheckPodman(s Spec, v string) error {
	s = s.WithDefaults()
	if v == "" || s.Notify != NotifyHealthy {
		return nil
	}
	major, minor, what := 4, 7, "podman run --sdnotify=healthy"
	if s.Format == FormatQuadlet && !s.Transient {
		major, minor, what = 5, 0, "Quadlet's Notify=healthy"
	}
	if (Layout{PodmanVersion: v}).atLeast(major, minor) {
		return nil
	}
	return invalid("--notify healthy needs Podman %d.%d or later (%s); this host's Podman is %s: use --notify conmon or container", major, minor, what, v)
}

// TransientUnits is s as transient units (systemdbus.Client.CreateTransientSocket):
// the same podman run line as the classic service, with %t, %n and %h
// spelled out from l (transient units get no specifier expansion), or the
// bare program.
func TransientUnits(s Spec, l Layout) (unit.SocketSpec, error) {
	s = s.WithDefaults()
	s.Transient = true
	if err := s.Validate(); err != nil {
		return unit.SocketSpec{}, err
	}
	if s.Accept {
		return unit.SocketSpec{}, invalid("--accept is not supported with --transient: a transient socket cannot name a template")
	}
	if l.RuntimeDir == "" || l.Home == "" {
		return unit.SocketSpec{}, fmt.Errorf("no runtime folder or home to spell out the units' paths")
	}
	if s.Description != "" {
		// rm knows a transient socket as socktui's by its description.
		s.Description = "socktui " + s.Name + " (" + s.Description + ")"
	}
	u := socketSpec(s, s.ServiceName())
	u.Listen = make([]unit.Listen, len(s.Listen))
	for i, ln := range s.Listen {
		addr, err := ExpandPath(ln.Address, l)
		if err != nil {
			return unit.SocketSpec{}, err
		}
		u.Listen[i] = unit.Listen{Type: ln.Type, Address: addr}
	}
	svc := unit.ServiceSpec{Name: s.ServiceName(), Description: s.description()}
	if s.Image == "" {
		svc.ExecStart = s.Command
		svc.Environment = s.Env
		svc.Type = "simple"
	} else {
		cid := filepath.Join(l.RuntimeDir, s.ServiceName()+".ctr-id")
		run, user := runArgs(s, cid, s.containerName(""))
		svc.Environment = []string{"PODMAN_SYSTEMD_UNIT=" + s.ServiceName()}
		svc.ExecStartPre = [][]string{{"/bin/rm", "-f", cid}}
		svc.ExecStart = append(append([]string{l.podman()}, run...), user...)
		svc.ExecStop = [][]string{{l.podman(), "stop", "--ignore", "-t", strconv.Itoa(stopTimeout), "--cidfile=" + cid}}
		svc.ExecStopPost = [][]string{{l.podman(), "rm", "-f", "--ignore", "-t", strconv.Itoa(stopTimeout), "--cidfile=" + cid}}
		svc.Type = "notify"
		svc.NotifyAccess = "all"
		svc.TimeoutStopSec = (stopTimeout + 60) * time.Second
	}
	u.Service = svc
	return u, nil
}

// ExpandPath spells out the folder specifiers a listen path may begin with
// (%h, %t, ...) and "%%" from l; other addresses are returned as they are.
// A specifier other than %h, %t and %% is refused: only those are known
// without asking the manager.
func ExpandPath(addr string, l Layout) (string, error) {
	if !strings.Contains(addr, "%") {
		return addr, nil
	}
	var b strings.Builder
	for i := 0; i < len(addr); i++ {
		if addr[i] != '%' || i+1 == len(addr) {
			b.WriteByte(addr[i])
			continue
		}
		i++
		switch addr[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(l.Home)
		case 't':
			b.WriteString(l.RuntimeDir)
		default:
			return "", invalid("listen path %q: only %%h, %%t and %%%% can be spelled out here", addr)
		}
	}
	return b.String(), nil
}

func serialize(opts []*sdunit.UnitOption) string {
	b, _ := io.ReadAll(sdunit.Serialize(opts)) // reading a bytes.Buffer cannot fail
	return string(b)
}

// escapeSpecifiers doubles every '%' so that systemd expands no specifier
// in a value the user gave.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// words writes argv the user gave as a unit file command line: '%' and '$'
// escaped so that systemd expands neither specifiers nor variables, each
// word quoted when it needs it.
func words(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		a = escapeSpecifiers(a)
		a = strings.ReplaceAll(a, "$", "$$")
		out[i] = quoteWord(a)
	}
	return strings.Join(out, " ")
}

// quoteWord double-quotes a word that holds blanks, quotes, backslashes or
// a semicolon (which alone would separate commands), or that is empty.
func quoteWord(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\"'\\;") {
		return a
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(a) + `"`
}
