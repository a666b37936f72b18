package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

// newOptions are the flags of `socktui new`.
type newOptions struct {
	spec      authoring.Spec
	listen    []string
	notify    string
	format    string
	user      bool
	enable    bool
	noStart   bool
	dryRun    bool
	pull      bool
	force     bool
	separated bool // the command line had "--"
}

const newLong = `Create a socket-activated container: a socket unit NAME.socket that
systemd holds, and the service it starts on the first connection, which runs
IMAGE with podman and hands it the socket. The socket is started (listening)
unless --no-start.

Each --listen SPEC is a listener as a unit file spells it, prefixed by its
kind:
  tcp:127.0.0.1:3000  tcp:[::1]:3000  udp:127.0.0.1:3000
  unix:%h/NAME.sock  unixgram:/run/x.dgram  seqpacket:/run/x.seq
  vsock::3000  vsock:CID:3000
Only loopback addresses unless --expose: a socket on every address (0.0.0.0,
a port alone) is reachable from other hosts.

The units follow what is fast to activate: --pull=never (the image must be in
local storage; --pull pulls it first), --network none, sd_notify by conmon,
and no wait for the network when the container has none. --format quadlet
writes a Quadlet NAME.container (Podman 4.4 and later, the default there),
--format service a NAME.service as podman generate systemd --new writes it
(the default with an older Podman). --transient creates transient units
instead, which vanish when stopped; with --transient, words after -- are a
program to run bare (no --image), else they are the container's command.

Nothing is written when something is refused: a name the manager or Podman
has, an image not in local storage, a port already bound, a file socktui did
not write (--force replaces it). A failure half-way removes what was written.
socktui rm NAME removes it all again.`

// newNewCommand is `socktui new NAME --image IMAGE --listen SPEC...`.
func newNewCommand(g *globals) *cobra.Command {
	o := &newOptions{}
	cmd := &cobra.Command{
		Use:   "new NAME --image IMAGE --listen SPEC... [-- COMMAND ARGS...]",
		Short: "Create a socket-activated container (or program)",
		Long:  newLong,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case len(args) == 0 || dash == 0:
				return usagef("new needs a NAME")
			case dash < 0 && len(args) > 1:
				return usagef("unexpected argument %q (a command goes after --)", args[1])
			case dash > 1:
				return usagef("unexpected argument %q (a command goes after --)", args[1])
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.spec.Name = args[0]
			if cmd.ArgsLenAtDash() > 0 {
				o.separated = true
				o.spec.Command = args[1:]
			}
			o.spec.System = g.system
			if o.user && g.system {
				return usagef("--user and --system exclude each other")
			}
			return runNew(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spec.Image, "image", "", "the container `IMAGE` (in local storage, or with --pull)")
	f.StringArrayVar(&o.listen, "listen", nil, "a listener `SPEC` (kind:address, see above); repeat for more")
	f.StringArrayVarP(&o.spec.Env, "env", "e", nil, "set `KEY=VALUE` in the container's environment; repeat for more")
	f.StringArrayVarP(&o.spec.Volumes, "volume", "v", nil, "mount a `VOLUME` as podman run --volume does; repeat for more")
	f.BoolVar(&o.spec.Accept, "accept", false, "start a service and container per connection (Accept=yes; costly)")
	f.StringVar(&o.spec.Network, "network", authoring.NetworkNone, "the container's `NETWORK`; the socket needs none")
	f.StringVar(&o.notify, "notify", string(authoring.NotifyConmon), "who says the container is ready: conmon, container or healthy")
	f.StringVar(&o.format, "format", "", "quadlet or service (default: quadlet when Podman has it, 4.4 and later)")
	f.BoolVar(&o.user, "user", false, "write user units for the user manager (the default)")
	f.BoolVar(&o.spec.Transient, "transient", false, "create transient units that vanish when stopped")
	f.BoolVar(&o.spec.Expose, "expose", false, "allow listening on addresses other than loopback")
	f.StringVar(&o.spec.Description, "description", "", "the units' `DESCRIPTION`")
	f.BoolVar(&o.enable, "enable", false, "enable the socket (start it at login or boot)")
	f.BoolVar(&o.noStart, "no-start", false, "write the units but leave the socket stopped")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the files (or transient units) and write nothing")
	f.BoolVar(&o.pull, "pull", false, "pull the image first when it is not in local storage")
	f.BoolVar(&o.force, "force", false, "replace files socktui did not write, and units or a container of the name")
	return cmd
}

// runNew is `socktui new`.
func runNew(ctx context.Context, g *globals, o *newOptions) error {
	env := g.env
	s := &o.spec
	for _, spec := range o.listen {
		l, err := unit.ParseListenSpec(spec)
		if err != nil {
			return usagef("--listen: %s", strings.TrimPrefix(err.Error(), unit.ErrBadListen.Error()+" "))
		}
		s.Listen = append(s.Listen, l)
	}
	s.Notify = authoring.Notify(o.notify)
	if o.separated && s.Image == "" && !s.Transient && o.format != string(authoring.FormatService) {
		return usagef("a bare command (no --image) needs --transient or --format service")
	}
	if s.Transient && (o.enable || o.noStart || o.format != "") {
		return usagef("--transient units are started at once and cannot be enabled or given a --format")
	}
	if s.Image == "" && o.pull {
		return usagef("--pull needs an --image")
	}
	if s.Image == "" && len(s.Command) > 0 && !strings.HasPrefix(s.Command[0], "/") {
		if p, err := exec.LookPath(s.Command[0]); err == nil && strings.HasPrefix(p, "/") {
			s.Command = append([]string{p}, s.Command[1:]...)
		}
	}
	pm, perr := podman.Find(nil)
	layout := authoring.UserLayout(env.Getenv, s.System)
	if perr == nil {
		layout.Podman = pm.Path
	}
	version := ""
	if perr == nil && (o.format == "" || s.Image != "") {
		v, err := pm.Version(ctx)
		if err == nil {
			version = v
		}
	}
	if authoring.HasQuadlet(version) {
		// Quadlet keys follow the host's generator; files written for a
		// host without one are for a current Podman.
		layout.PodmanVersion = version
	}
	switch o.format {
	case "":
		s.Format = defaultFormat(version)
	default:
		s.Format = authoring.Format(o.format)
	}
	if s.Image == "" && !s.Transient && o.format == "" {
		s.Format = authoring.FormatService
	}
	if err := s.Validate(); err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), authoring.ErrInvalid.Error()+": "))
	}
	// The host's Podman runs a classic or transient service; a .container
	// is for the host's generator when it has one, else for a current one.
	runsOn := version
	if s.Format == authoring.FormatQuadlet && !s.Transient {
		runsOn = layout.PodmanVersion
	}
	if err := authoring.CheckPodman(*s, runsOn); err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), authoring.ErrInvalid.Error()+": "))
	}
	var files []authoring.File
	var transient unit.SocketSpec
	var err error
	if s.Transient {
		transient, err = authoring.TransientUnits(*s, layout)
	} else {
		files, err = authoring.Render(*s, layout)
	}
	if errors.Is(err, authoring.ErrInvalid) {
		return usagef("%s", strings.TrimPrefix(err.Error(), authoring.ErrInvalid.Error()+": "))
	}
	if err != nil {
		return err
	}
	for _, w := range authoring.Warnings(*s) {
		fmt.Fprintf(env.Stderr, "socktui new: warning: %s\n", w)
	}
	if o.dryRun {
		return printDryRun(env.Stdout, files, transient)
	}
	if s.Image != "" && perr != nil {
		return perr
	}
	if s.Format == authoring.FormatQuadlet && !s.Transient && !o.noStart && !authoring.HasQuadlet(version) {
		return usagef("this host's Podman %s has no Quadlet (4.4 and later): use --format service, or --no-start to only write the files", orUnknownVersion(version))
	}
	c, err := connect(ctx, env, s.System)
	if err != nil {
		return err
	}
	defer c.Close()
	h := newHost{c: c, pm: pm}
	if err := authoring.Check(ctx, h, *s, files, authoring.CheckOptions{Force: o.force, Pull: o.pull}); err != nil {
		return err
	}
	if o.pull {
		if err := pullIfMissing(ctx, env.Stderr, pm, s.Image); err != nil {
			return err
		}
	}
	made, err := authoring.Create(ctx, manager{c}, *s, layout, files, authoring.CreateOptions{Enable: o.enable, NoStart: o.noStart, Force: o.force})
	if err != nil {
		return err
	}
	for _, p := range made.Files {
		fmt.Fprintf(env.Stdout, "wrote %s\n", termtext.Clean(p))
	}
	state := "listening"
	switch {
	case o.noStart:
		state = "not started (socktui start " + s.Name + ")"
	case s.Transient:
		state = "listening (transient)"
	}
	fmt.Fprintf(env.Stdout, "%s %s, triggers %s\n", made.Socket, state, made.Service)
	for _, l := range s.Listen {
		fmt.Fprintf(env.Stdout, "  %s\n", termtext.Clean(l.Spec()))
	}
	return nil
}

// defaultFormat is Quadlet when the host's Podman has it (4.4 and later,
// and its generator is installed), else the classic service.
func defaultFormat(version string) authoring.Format {
	if !authoring.HasQuadlet(version) {
		return authoring.FormatService
	}
	for _, p := range quadletGenerators {
		if _, err := os.Stat(p); err == nil {
			return authoring.FormatQuadlet
		}
	}
	return authoring.FormatService
}

// quadletGenerators are where Podman installs its Quadlet generator.
var quadletGenerators = []string{
	"/usr/libexec/podman/quadlet",
	"/usr/lib/systemd/user-generators/podman-user-generator",
	"/usr/lib/systemd/system-generators/podman-system-generator",
}

func orUnknownVersion(v string) string {
	if v == "" {
		return "(version unknown)"
	}
	return v
}

// printDryRun prints the files, each after a line naming its path, or the
// transient units as unit files would hold them.
func printDryRun(w io.Writer, files []authoring.File, t unit.SocketSpec) error {
	if len(files) == 0 {
		files = []authoring.File{
			{Path: "transient " + t.Name, Content: t.SocketFile()},
			{Path: "transient " + t.ServiceName(), Content: t.ServiceFile()},
		}
	}
	for i, f := range files {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "## %s\n", termtext.Clean(f.Path))
		for _, line := range strings.SplitAfter(strings.TrimSuffix(f.Content, "\n"), "\n") {
			fmt.Fprintln(w, termtext.Clean(strings.TrimSuffix(line, "\n")))
		}
	}
	return nil
}

// pullIfMissing pulls image when it is not in local storage, with a
// progress line on w.
func pullIfMissing(ctx context.Context, w io.Writer, pm podman.Podman, image string) error {
	ok, err := pm.ImageExists(ctx, image)
	if err != nil || ok {
		return err
	}
	fmt.Fprintf(w, "pulling %s\n", termtext.Clean(image))
	return pm.Pull(ctx, image, func(line string) {
		fmt.Fprintf(w, "  %s\n", termtext.Clean(line))
	})
}

// newHost answers authoring.Check's questions through the manager and
// Podman.
type newHost struct {
	c  *systemdbus.Client
	pm podman.Podman
}

func (h newHost) SocketExists(ctx context.Context, name string) (bool, error) {
	socks, err := h.c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{name}, All: true})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(socks, func(sk unit.Socket) bool { return sk.Unit == name && sk.LoadState != "not-found" }), nil
}

func (h newHost) ContainerExists(ctx context.Context, name string) (bool, error) {
	return h.pm.ContainerExists(ctx, name)
}

func (h newHost) ImageExists(ctx context.Context, image string) (bool, error) {
	return h.pm.ImageExists(ctx, image)
}

// manager is a systemdbus.Client as authoring's Manager: stopping a unit
// that is not loaded is no error, nor resetting one that is not loaded or
// not failed.
type manager struct{ *systemdbus.Client }

func (m manager) StopUnit(ctx context.Context, name string) error {
	if err := m.Client.StopUnit(ctx, name); err != nil && !errors.Is(err, systemdbus.ErrNoSuchUnit) {
		return err
	}
	return nil
}

func (m manager) ResetFailed(ctx context.Context, name string) error {
	if err := m.Client.ResetFailed(ctx, name); err != nil && !errors.Is(err, systemdbus.ErrNoSuchUnit) &&
		!strings.Contains(err.Error(), "not failed") {
		return err
	}
	return nil
}
