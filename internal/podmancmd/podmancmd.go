// Package podmancmd reads a podman command line, the argv of a unit's
// ExecStart, into what it says: whether it runs a container, the
// container's name, its image and pull policy, its networks, its published
// ports and the command it runs in the container. It is pure: it runs
// nothing and reads no files.
//
// It reads the line as podman does (cobra with pflag): options before the
// command word are podman's own; `podman container run` is `podman run`;
// the options of run and create end at the first word that is not an
// option, which is the image, or after a "--", and every word after the
// image belongs to the container's command. Options are read as pflag
// reads them: `--opt value`, `--opt=value`, a boolean as `--opt` or
// `--opt=false`, one-letter options combined (`-dit`), and a one-letter
// option's value attached (`-p8080:80`, `-p=8080:80`) or next.
//
// To tell an option's value from the image it must know which options take
// a value. Its tables are podman v5.8.2's: the pflag sets that cmd/podman
// defines for podman itself (root.go: its own and its persistent flags),
// for run and create (common/create.go, common/netflags.go,
// containers/run.go, containers/create.go), start and restart, listed by
// registering those commands and walking their flag sets, and the aliases
// of cmd/podman/utils/alias.go (--net for --network, ...). They are
// copied because podman's cannot be imported: package main of cmd/podman
// registers them, and it needs libpod and cgo. An option that
// version does not know is not guessed at. Written `--opt=value` it cannot
// take the next word, so it is skipped and listed in Command.Unknown.
// Written `--opt` or `-x` it may or may not take the next word as its
// value, so reading stops there and Command.Uncertain says why: an
// uncertain image is reported as unknown, never misread. So does a word
// that systemd expands when it runs the command ("$OPTIONS"), where an
// option, the command or the image is due: it stands for words unknown
// here.
package podmancmd

import (
	"encoding/csv"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Command is what a podman command line says. The zero Command is a line
// that does not run podman.
type Command struct {
	// Podman reports whether the line runs podman (IsPodman of argv[0]).
	Podman bool
	// Subcommand is podman's command word: "run", "create", "start",
	// "restart", "kube", "system", ... The group word of `podman container
	// run` is dropped ("run"); other groups stay as they are (`podman pod
	// start` is "pod"). It is "" when podman's own options could not be
	// read or no command follows them.
	Subcommand string
	// Name is the container's name: --name for run and create, the first
	// container start or restart names. It is "" when the line names none.
	Name string
	// Image is the image run or create runs (with --rootfs, the root file
	// system's path). It is "" for any other command, and for run and
	// create when the line names none or Uncertain is set. It never starts
	// with '-'.
	Image string
	// Rootfs reports whether run or create was given --rootfs, which makes
	// Image a path to a root file system instead of an image.
	Rootfs bool
	// Pull is the --pull policy, normalised as podman does; "" when the
	// line has no --pull (podman then follows containers.conf, whose
	// default is missing).
	Pull PullPolicy
	// Networks are the --network (or --net) values in order, as written:
	// "none", "host", "pasta", "slirp4netns:port_handler=slirp4netns",
	// "bridge", "container:NAME", a network's name with ":ip=..." options.
	Networks []string
	// Publish are the -p/--publish values in order (a value holding
	// commas is several, as pflag splits it).
	Publish []Port
	// SDNotify is the --sdnotify value as written ("container", "conmon",
	// "healthy", "ignore"); "" when the line has none (podman's default
	// is container).
	SDNotify string
	// Systemd is the --systemd value as written ("true", "false",
	// "always"); "" when the line has none (podman's default is true:
	// systemd mode when the command is an init).
	Systemd string
	// SecurityOpts are the --security-opt values in order, as written
	// ("label=disable").
	SecurityOpts []string
	// Entrypoint is the --entrypoint value as written, "" when the line
	// has none (the image's entrypoint runs).
	Entrypoint string
	// Args is the command and its arguments after the image: the
	// container's command line, not podman's; nil when the image's own
	// command runs.
	Args []string
	// Unknown are the options podman v5.8.2 lacks that were written
	// --opt=value and so could be skipped, as written.
	Unknown []string
	// Uncertain, when not "", says why the line could not be read to its
	// end: an option these tables lack written without "=", an option
	// missing its value, a bad boolean, a word systemd expands at run time
	// ("$OPTIONS") where an option, the command or the image is due, or no
	// image. The fields read before that point hold; Image and Args are
	// then empty.
	Uncertain string
}

// PullPolicy is a --pull policy.
type PullPolicy string

// The pull policies podman knows.
const (
	PullAlways  PullPolicy = "always"
	PullMissing PullPolicy = "missing"
	PullNever   PullPolicy = "never"
	PullNewer   PullPolicy = "newer"
)

// parsePull normalises a --pull value as podman's config.ParsePullPolicy
// does; a value it refuses is returned as written.
func parsePull(s string) PullPolicy {
	switch strings.ToLower(s) {
	case "always":
		return PullAlways
	case "missing", "ifmissing", "ifnotpresent", "":
		return PullMissing
	case "newer", "ifnewer":
		return PullNewer
	case "never":
		return PullNever
	}
	return PullPolicy(s)
}

// Port is one published port, `[[hostIP:][hostPort]:]containerPort[/protocol]`
// with ports or equal-length ranges (`8000-8009:80-89`). The fields other
// than Raw hold only when Parsed is true.
type Port struct {
	// Raw is the value as written, e.g. "127.0.0.1:8080:80/tcp".
	Raw string
	// Parsed reports whether Raw reads as podman reads it. It is false for
	// a value podman would refuse and for one that systemd expands later
	// ("${PORT}:80").
	Parsed bool
	// HostIP is the host address, IPv6 without brackets; "" for all
	// addresses (also when written 0.0.0.0).
	HostIP string
	// HostPort is the first host port; 0 when podman picks one.
	HostPort uint16
	// ContainerPort is the first container port.
	ContainerPort uint16
	// Range is the number of ports, 1 for a single port.
	Range uint16
	// Protocol is the protocol as written ("udp", "sctp", "tcp,udp"),
	// "tcp" when none is.
	Protocol string
}

// IsPodman reports whether a command's program (argv[0], a path or a bare
// name) is podman.
func IsPodman(program string) bool {
	return filepath.Base(program) == "podman"
}

// RunsContainer reports whether the command makes a container run: run,
// create, start and restart name one (create is counted: a service that
// creates its container is a container's service); kube and pod run the
// containers of a Kubernetes YAML or a pod.
func (c Command) RunsContainer() bool {
	switch c.Subcommand {
	case "run", "create", "start", "restart", "kube", "pod":
		return true
	}
	return false
}

// Parse reads argv, a command line with its program first. A line whose
// program is not podman gives the zero Command.
func Parse(argv []string) Command {
	var c Command
	if len(argv) == 0 || !IsPodman(argv[0]) {
		return c
	}
	c.Podman = true
	var rest []string
	c.Subcommand, rest = c.readCommand(argv[1:], &globalOptions)
	if c.Subcommand == "container" && len(rest) > 0 {
		// The group takes podman's persistent options before its command.
		c.Subcommand, rest = c.readCommand(rest, &persistentOptions)
	}
	switch c.Subcommand {
	case "run", "create":
		c.readRun(rest)
	case "start":
		c.readStart(rest, &startOptions)
	case "restart":
		c.readStart(rest, &restartOptions)
	}
	return c
}

// readCommand reads the options under set up to podman's command word and
// returns the word and the arguments after it; word is "" when none
// follows or the options cannot be read (then Uncertain says why).
func (c *Command) readCommand(args []string, set *optionSet) (word string, rest []string) {
	opts, rest, dashdash, err := readOptions(args, set)
	c.note(opts)
	switch {
	case err != nil:
		c.Uncertain = err.Error()
	case dashdash:
		c.Uncertain = `"--" before podman's command`
	case len(rest) == 0:
	case expands(rest[0]):
		c.Uncertain = expandsWhy(rest[0])
	default:
		return rest[0], rest[1:]
	}
	return "", nil
}

// readRun reads the arguments of run or create: options, then the image
// and the container's command.
func (c *Command) readRun(args []string) {
	opts, rest, _, err := readOptions(args, &runOptions, &persistentOptions)
	for _, o := range opts {
		if err := c.apply(o); err != nil {
			c.Uncertain = err.Error()
			return
		}
	}
	c.note(opts)
	switch {
	case err != nil:
		c.Uncertain = err.Error()
	case len(rest) == 0 || rest[0] == "":
		c.Uncertain = "no image after the options"
	case strings.HasPrefix(rest[0], "-"):
		c.Uncertain = fmt.Sprintf("image %q starts with '-'", rest[0])
	case expands(rest[0]):
		c.Uncertain = expandsWhy(rest[0])
	default:
		c.Image = rest[0]
		if len(rest) > 1 {
			c.Args = slices.Clone(rest[1:])
		}
	}
}

// apply records one option of run or create.
func (c *Command) apply(o option) error {
	switch o.name {
	case "name":
		c.Name = o.value
	case "pull":
		c.Pull = parsePull(o.value)
	case "network":
		c.Networks = append(c.Networks, o.value)
	case "sdnotify":
		c.SDNotify = o.value
	case "systemd":
		c.Systemd = o.value
	case "security-opt":
		c.SecurityOpts = append(c.SecurityOpts, o.value)
	case "entrypoint":
		c.Entrypoint = o.value
	case "rootfs":
		c.Rootfs, _ = strconv.ParseBool(o.value) // readLong checked it
	case "publish":
		if o.value == "" {
			return nil
		}
		// A string slice: pflag reads the value as one CSV record.
		values, err := csv.NewReader(strings.NewReader(o.value)).Read()
		if err != nil {
			return fmt.Errorf("option --publish %q: %w", o.value, err)
		}
		for _, v := range values {
			c.Publish = append(c.Publish, parsePort(v))
		}
	}
	return nil
}

// readStart reads the arguments of start or restart, whose options may
// come after the containers they name.
func (c *Command) readStart(args []string, set *optionSet) {
	for len(args) > 0 {
		opts, rest, dashdash, err := readOptions(args, set, &persistentOptions)
		c.note(opts)
		if err != nil {
			c.Uncertain = err.Error()
			return
		}
		if len(rest) == 0 {
			return
		}
		if expands(rest[0]) {
			c.Uncertain = expandsWhy(rest[0])
			return
		}
		if c.Name == "" {
			c.Name = rest[0]
		}
		if dashdash {
			return
		}
		args = rest[1:]
	}
}

// note lists the unknown options among opts.
func (c *Command) note(opts []option) {
	for _, o := range opts {
		if !o.known {
			c.Unknown = append(c.Unknown, o.raw)
		}
	}
}

// option is one option read off a command line.
type option struct {
	name  string // the long name, aliases resolved
	value string // "true" for a boolean given without a value
	known bool   // false for an option the tables lack, given as --name=value
	raw   string // the option as written, for an unknown one
}

// expands reports whether systemd replaces word when it runs the command:
// "$VAR" becomes any number of words, "${VAR}" one word, neither known
// from the unit. Where an option, the command or the image is due, such a
// word leaves the rest of the line unknown.
func expands(word string) bool {
	return strings.HasPrefix(word, "$")
}

// expandsWhy says why a word that expands stops the reading.
func expandsWhy(word string) string {
	return fmt.Sprintf("systemd expands %s when it runs the command", word)
}

// readOptions reads the options at the front of args under the first of
// sets that knows each, as pflag does with interspersed arguments off: up
// to the first word that is not an option ("" and "-" are not), or past a
// "--" (then dashdash is true). rest holds the words after the options. An
// error means reading stopped at an option it cannot read; opts holds
// those before it.
func readOptions(args []string, sets ...*optionSet) (opts []option, rest []string, dashdash bool, err error) {
	for len(args) > 0 {
		a := args[0]
		if len(a) < 2 || a[0] != '-' {
			return opts, args, false, nil
		}
		args = args[1:]
		if a == "--" {
			return opts, args, true, nil
		}
		var read []option
		var used int
		if a[1] == '-' {
			var o option
			o, used, err = readLong(a[2:], args, sets)
			read = []option{o}
		} else {
			read, used, err = readShorts(a[1:], args, sets)
		}
		if err != nil {
			return opts, nil, false, err
		}
		opts = append(opts, read...)
		args = args[used:]
	}
	return opts, nil, false, nil
}

// readLong reads the long option "--"+body; next are the words after it,
// of which it uses the first when that is the option's value.
func readLong(body string, next []string, sets []*optionSet) (o option, used int, err error) {
	name, value, hasValue := strings.Cut(body, "=")
	if name == "" || name[0] == '-' {
		return o, 0, fmt.Errorf("bad option syntax %q", "--"+body)
	}
	if a, ok := sets[0].alias[name]; ok {
		name = a
	}
	takesValue, known := lookupLong(sets, name)
	switch {
	case !known && hasValue:
		return option{name: name, value: value, raw: "--" + body}, 0, nil
	case !known:
		return o, 0, fmt.Errorf("unknown option --%s: it may take the next word as its value", name)
	case hasValue:
	case !takesValue:
		value = "true"
	case len(next) > 0:
		value, used = next[0], 1
	default:
		return o, 0, fmt.Errorf("option --%s needs a value", name)
	}
	if !takesValue {
		if _, err := strconv.ParseBool(value); err != nil {
			return o, 0, fmt.Errorf("option --%s=%s: not a boolean", name, value)
		}
	}
	return option{name: name, value: value, known: true}, used, nil
}

// readShorts reads the one-letter options "-"+shorts; next are the words
// after them, of which it uses the first when that is the last option's
// value.
func readShorts(shorts string, next []string, sets []*optionSet) (opts []option, used int, err error) {
	for len(shorts) > 0 {
		c := shorts[0]
		name, takesValue, ok := lookupShort(sets, c)
		if !ok {
			return nil, 0, fmt.Errorf("unknown option -%c: it may take the next word as its value", c)
		}
		var value string
		switch {
		case len(shorts) > 2 && shorts[1] == '=':
			value, shorts = shorts[2:], ""
		case !takesValue:
			value, shorts = "true", shorts[1:]
		case len(shorts) > 1:
			value, shorts = shorts[1:], ""
		case len(next) > 0:
			value, shorts, used = next[0], "", 1
		default:
			return nil, 0, fmt.Errorf("option -%c needs a value", c)
		}
		if !takesValue {
			if _, err := strconv.ParseBool(value); err != nil {
				return nil, 0, fmt.Errorf("option -%c=%s: not a boolean", c, value)
			}
		}
		opts = append(opts, option{name: name, value: value, known: true})
	}
	return opts, used, nil
}

// lookupLong finds a long option in sets.
func lookupLong(sets []*optionSet, name string) (takesValue, known bool) {
	for _, s := range sets {
		if v, ok := s.long[name]; ok {
			return v, true
		}
	}
	return false, false
}

// lookupShort finds a one-letter option in sets.
func lookupShort(sets []*optionSet, c byte) (name string, takesValue, known bool) {
	for _, s := range sets {
		if name, ok := s.short[c]; ok {
			return name, s.long[name], true
		}
	}
	return "", false, false
}

// parsePort reads a --publish value as podman's
// specgenutil.CreatePortBindings does.
func parsePort(raw string) Port {
	bad := Port{Raw: raw}
	p := Port{Raw: raw, Protocol: "tcp"}
	rest := raw
	if before, proto, ok := strings.Cut(raw, "/"); ok {
		if proto == "" || strings.Contains(proto, "/") {
			return bad
		}
		rest, p.Protocol = before, proto
	}
	var hostIP, hostPort, ctrPort string
	hasIP, hasHostPort := false, false
	if open, after, ok := strings.Cut(rest, "]"); ok {
		// [IPv6]:hostPort:containerPort
		ip, ok := strings.CutPrefix(open, "[")
		after, ok2 := strings.CutPrefix(after, ":")
		if !ok || !ok2 || strings.Contains(after, "]") {
			return bad
		}
		parts := strings.Split(after, ":")
		if len(parts) != 2 {
			return bad
		}
		hostIP, hostPort, ctrPort = ip, parts[0], parts[1]
		hasIP, hasHostPort = true, true
	} else {
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			ctrPort = parts[0]
		case 2:
			hostPort, ctrPort = parts[0], parts[1]
			hasHostPort = true
		case 3:
			hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
			hasIP, hasHostPort = true, true
		default:
			return bad
		}
	}
	var ok bool
	if p.ContainerPort, p.Range, ok = portRange(ctrPort); !ok {
		return bad
	}
	if hasIP {
		if hostIP == "" {
			return bad
		}
		if hostIP != "0.0.0.0" {
			ip := net.ParseIP(hostIP)
			if ip == nil {
				return bad
			}
			p.HostIP = ip.String()
		}
	}
	if hasHostPort && hostPort != "" {
		start, n, ok := portRange(hostPort)
		if !ok || n != p.Range {
			return bad
		}
		p.HostPort = start
	}
	p.Parsed = true
	return p
}

// portRange reads "port" or "start-end" (end above start), ports 1 to
// 65535; n is the number of ports.
func portRange(s string) (start, n uint16, ok bool) {
	first, last, isRange := strings.Cut(s, "-")
	start, ok = portNumber(first)
	if !ok {
		return 0, 0, false
	}
	if !isRange {
		return start, 1, true
	}
	end, ok := portNumber(last)
	if !ok || end <= start {
		return 0, 0, false
	}
	return start, end - start + 1, true
}

// portNumber reads a port from 1 to 65535.
func portNumber(s string) (uint16, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}
