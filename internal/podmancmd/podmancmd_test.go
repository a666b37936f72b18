package podmancmd

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// words splits a command line at spaces; lines whose words hold spaces
// are written as slices.
func words(line string) []string { return strings.Fields(line) }

// ports parses each raw --publish value, for the wanted Commands.
func ports(raw ...string) []Port {
	out := make([]Port, len(raw))
	for i, r := range raw {
		out[i] = parsePort(r)
	}
	return out
}

// parseTests are command lines as units carry them, with what they say.
var parseTests = []struct {
	name string
	argv []string
	want Command
}{
	{"not podman", []string{"/usr/sbin/nginx", "-g", "daemon off;"}, Command{}},
	{"no argv", nil, Command{}},
	{"podman-remote is another program", words("/usr/bin/podman-remote run img"), Command{}},
	{"podman alone", words("podman"), Command{Podman: true}},

	// The bundled echo workload, as workloads/echo writes it for its
	// container (the container case of workloads/echo/units_test.go).
	{"echo workload", words("/usr/bin/podman run --cidfile=/run/user/1000/web-echo.service.ctr-id " +
		"--cgroups=no-conmon --rm --sdnotify=container -d --replace --name web-echo " +
		"--network=none --pull=never localhost/e:1 --idle-exit 30s --max-conns 10"),
		Command{Podman: true, Subcommand: "run", Name: "web-echo", Image: "localhost/e:1", Pull: PullNever,
			Networks: []string{"none"}, SDNotify: "container", Args: words("--idle-exit 30s --max-conns 10")}},

	// podman generate systemd --new, podman 4 and 5 (specifiers as
	// systemd's D-Bus API reports them, expanded or not).
	{"generate systemd --new", words("/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm " +
		"--sdnotify=conmon -d --replace --name web -p 8080:80 docker.io/library/nginx:1.25"),
		Command{Podman: true, Subcommand: "run", Name: "web", Image: "docker.io/library/nginx:1.25",
			Publish: ports("8080:80"), SDNotify: "conmon"}},
	{"generate systemd --new in a pod", words("/usr/bin/podman run --cidfile=/run/user/1000/container-db.service.ctr-id " +
		"--cgroups=no-conmon --rm --pod-id-file /run/user/1000/pod-app.pod-id --sdnotify=conmon -d --replace " +
		"--name db -e POSTGRES_PASSWORD=secret -v pgdata:/var/lib/postgresql/data docker.io/library/postgres:16"),
		Command{Podman: true, Subcommand: "run", Name: "db", Image: "docker.io/library/postgres:16", SDNotify: "conmon"}},
	// podman 2 and 3 wrote --conmon-pidfile and values after a space.
	{"generate systemd --new, podman 3", words("/usr/bin/podman run --conmon-pidfile %t/container-web.pid " +
		"--cidfile %t/container-web.ctr-id --cgroups=no-conmon --replace -d --name web " +
		"--net slirp4netns:port_handler=slirp4netns -p 127.0.0.1:8080:80 nginx"),
		Command{Podman: true, Subcommand: "run", Name: "web", Image: "nginx",
			Networks: []string{"slirp4netns:port_handler=slirp4netns"}, Publish: ports("127.0.0.1:8080:80")}},
	{"generate systemd without --new", words("/usr/bin/podman start web"),
		Command{Podman: true, Subcommand: "start", Name: "web"}},

	// Quadlet (podman 5): --name systemd-%N, --cgroups=split, -d.
	{"quadlet basic", words("/usr/bin/podman run --name systemd-basic --replace --rm --cgroups=split " +
		"--sdnotify=conmon -d localhost/imagename"),
		Command{Podman: true, Subcommand: "run", Name: "systemd-basic", Image: "localhost/imagename", SDNotify: "conmon"}},
	{"quadlet with network, ports, pull and exec", []string{"/usr/bin/podman", "run", "--name", "systemd-web",
		"--replace", "--rm", "--cgroups=split", "--pull", "never", "--network", "systemd-basic",
		"--sdnotify=conmon", "-d", "--security-opt=no-new-privileges", "-v", "/srv/www:/usr/share/nginx/html:ro,Z",
		"--publish", "127.0.0.1:80:90", "--publish", "[::1]:1234:1234/udp", "--publish", "${PORT}:${PORT}",
		"--label", "io.containers.autoupdate=registry", "localhost/imagename", "/some/binary file", "--arg1", "arg 2"},
		Command{Podman: true, Subcommand: "run", Name: "systemd-web", Image: "localhost/imagename", Pull: PullNever,
			Networks: []string{"systemd-basic"}, Publish: ports("127.0.0.1:80:90", "[::1]:1234:1234/udp", "${PORT}:${PORT}"),
			Args: []string{"/some/binary file", "--arg1", "arg 2"}, SDNotify: "conmon",
			SecurityOpts: []string{"no-new-privileges"}}},
	{"quadlet GlobalArgs and ContainersConfModule", words("/usr/bin/podman --module=/etc/containers/x.conf " +
		"--conmon=/usr/bin/somewhere --imagestore=/var/lib/somestore --log-level=debug run --name systemd-g " +
		"--replace --rm --cgroups=split --sdnotify=conmon -d image"),
		Command{Podman: true, Subcommand: "run", Name: "systemd-g", Image: "image", SDNotify: "conmon"}},
	{"quadlet Notify=healthy, host network, entrypoint cleared", words("/usr/bin/podman run --name systemd-h " +
		"--replace --rm --log-driver passthrough --cgroups=split --entrypoint= --network host " +
		"--sdnotify=healthy -d --health-cmd /bin/check --healthcheck-interval 30s quay.io/x/y@sha256:abc"),
		Command{Podman: true, Subcommand: "run", Name: "systemd-h", Image: "quay.io/x/y@sha256:abc",
			Networks: []string{"host"}, SDNotify: "healthy"}},

	// Global options and the container group.
	{"global options with values after a space", words("/usr/bin/podman --log-level debug --root /var/lib/c " +
		"container run -v /a:/b -p 8080:80 docker.io/library/nginx"),
		Command{Podman: true, Subcommand: "run", Image: "docker.io/library/nginx", Publish: ports("8080:80")}},
	{"persistent option after the group", words("podman container --log-level=info run --name c img"),
		Command{Podman: true, Subcommand: "run", Name: "c", Image: "img"}},
	{"persistent option among run's", words("podman run --log-level=debug --storage-driver overlay img"),
		Command{Podman: true, Subcommand: "run", Image: "img"}},
	{"remote connection", words("podman -r -c prod --url unix:///run/podman/podman.sock run img"),
		Command{Podman: true, Subcommand: "run", Image: "img"}},
	{"old option name of the root", words("podman --cni-config-dir /etc/cni/net.d run img"),
		Command{Podman: true, Subcommand: "run", Image: "img"}},
	{"version", words("podman --version"), Command{Podman: true}},
	{"container group alone", words("podman container"), Command{Podman: true, Subcommand: "container"}},

	// pflag's ways of writing options.
	{"one-letter options combined", []string{"podman", "run", "-dit", "--rm", "-p8080:80", "-e=A=1", "alpine",
		"sh", "-c", "echo hi"},
		Command{Podman: true, Subcommand: "run", Image: "alpine", Publish: ports("8080:80"),
			Args: []string{"sh", "-c", "echo hi"}}},
	{"value of the last letter is the next word", words("podman run -dp 80:80 nginx"),
		Command{Podman: true, Subcommand: "run", Image: "nginx", Publish: ports("80:80")}},
	{"value of a letter is the rest of the word", words("podman run -itv/a:/b alpine"),
		Command{Podman: true, Subcommand: "run", Image: "alpine"}},
	{"-p=", words("podman run -p=127.0.0.1::93 img"),
		Command{Podman: true, Subcommand: "run", Image: "img", Publish: ports("127.0.0.1::93")}},
	{"a value may start with a dash", words("podman run --name -odd --entrypoint -x img"),
		Command{Podman: true, Subcommand: "run", Name: "-odd", Image: "img", Entrypoint: "-x"}},
	{"booleans take no value", words("podman run --rm --replace --privileged --tls-verify img"),
		Command{Podman: true, Subcommand: "run", Image: "img"}},
	{"boolean written with a value", words("podman run --rm=false -d=true img"),
		Command{Podman: true, Subcommand: "run", Image: "img"}},
	{"the last --name wins", words("podman run --name a --name=b img"),
		Command{Podman: true, Subcommand: "run", Name: "b", Image: "img"}},
	{"--net is --network", words("podman run --net=host --network pasta:-t,auto --network mynet:ip=10.88.0.5 img"),
		Command{Podman: true, Subcommand: "run", Image: "img", Networks: []string{"host", "pasta:-t,auto", "mynet:ip=10.88.0.5"}}},
	{"a publish value with commas is several", words("podman run -p 8080:80,8443:443/tcp img"),
		Command{Podman: true, Subcommand: "run", Image: "img", Publish: ports("8080:80", "8443:443/tcp")}},
	{"-- ends the options", words("podman create --rm -- img:1 cmd"),
		Command{Podman: true, Subcommand: "create", Image: "img:1", Args: []string{"cmd"}}},
	{"options after the image are the container's", words("podman run img --name x -p 1:1"),
		Command{Podman: true, Subcommand: "run", Image: "img", Args: words("--name x -p 1:1")}},
	{"--systemd and the container's init", words("podman run --systemd=always --sdnotify ignore --security-opt label=disable img /sbin/init"),
		Command{Podman: true, Subcommand: "run", Image: "img", Systemd: "always", SDNotify: "ignore",
			SecurityOpts: []string{"label=disable"}, Args: []string{"/sbin/init"}}},
	{"--rootfs", words("podman run --rootfs /srv/root /bin/sh"),
		Command{Podman: true, Subcommand: "run", Image: "/srv/root", Rootfs: true, Args: []string{"/bin/sh"}}},

	// Pull policies, normalised as podman does.
	{"--pull always", words("podman run --pull always img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullAlways}},
	{"--pull=missing", words("podman run --pull=missing img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullMissing}},
	{"--pull=ifnotpresent", words("podman run --pull=ifnotpresent img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullMissing}},
	{"--pull=Never", words("podman run --pull=Never img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullNever}},
	{"--pull newer", words("podman run --pull newer img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullNewer}},
	{"--pull=ifnewer", words("podman run --pull=ifnewer img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullNewer}},
	{"--pull= is missing", words("podman run --pull= img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: PullMissing}},
	{"--pull=bogus as written", words("podman run --pull=bogus img"), Command{Podman: true, Subcommand: "run", Image: "img", Pull: "bogus"}},

	// Unknown options: skipped when they cannot take the next word,
	// otherwise the image is left unknown.
	{"unknown option with its value attached", words("podman run --future-opt=1 --net=none img"),
		Command{Podman: true, Subcommand: "run", Image: "img", Networks: []string{"none"}, Unknown: []string{"--future-opt=1"}}},
	{"unknown option is listed as written", words("podman run --namespace=x img"),
		Command{Podman: true, Subcommand: "run", Image: "img", Unknown: []string{"--namespace=x"}}},
	{"unknown option without a value", words("podman run --name n --some-new-flag value img"),
		Command{Podman: true, Subcommand: "run", Name: "n",
			Uncertain: "unknown option --some-new-flag: it may take the next word as its value"}},
	{"unknown letter", words("podman run -Z img"),
		Command{Podman: true, Subcommand: "run", Uncertain: "unknown option -Z: it may take the next word as its value"}},
	{"unknown global option", words("podman --frobnicate run img"),
		Command{Podman: true, Uncertain: "unknown option --frobnicate: it may take the next word as its value"}},
	{"missing value", words("podman run --name"),
		Command{Podman: true, Subcommand: "run", Uncertain: "option --name needs a value"}},
	{"missing value of a letter", words("podman run -dp"),
		Command{Podman: true, Subcommand: "run", Uncertain: "option -p needs a value"}},
	{"bad boolean", words("podman run --rm=maybe img"),
		Command{Podman: true, Subcommand: "run", Uncertain: "option --rm=maybe: not a boolean"}},
	{"bad syntax", words("podman run ---rm img"),
		Command{Podman: true, Subcommand: "run", Uncertain: `bad option syntax "---rm"`}},
	{"no image", words("podman run --rm"),
		Command{Podman: true, Subcommand: "run", Uncertain: "no image after the options"}},
	{"empty image", []string{"podman", "run", "", "x"},
		Command{Podman: true, Subcommand: "run", Uncertain: "no image after the options"}},
	{"image after -- starting with a dash", words("podman run -- -x"),
		Command{Podman: true, Subcommand: "run", Uncertain: `image "-x" starts with '-'`}},
	{"- as the image", words("podman run -"),
		Command{Podman: true, Subcommand: "run", Uncertain: `image "-" starts with '-'`}},
	{"-- before the command", words("podman -- run img"),
		Command{Podman: true, Uncertain: `"--" before podman's command`}},

	// Words systemd expands at run time.
	{"podman.service", words("/usr/bin/podman $LOGGING system service"),
		Command{Podman: true, Uncertain: "systemd expands $LOGGING when it runs the command"}},
	{"options from the environment", words("podman run --rm $PODMAN_ARGS --name x img"),
		Command{Podman: true, Subcommand: "run", Uncertain: "systemd expands $PODMAN_ARGS when it runs the command"}},
	{"image from the environment", words("podman run --name x ${IMAGE}"),
		Command{Podman: true, Subcommand: "run", Name: "x", Uncertain: "systemd expands ${IMAGE} when it runs the command"}},
	{"values from the environment are kept", words("podman run --name ${NAME} img $ARGS"),
		Command{Podman: true, Subcommand: "run", Name: "${NAME}", Image: "img", Args: []string{"$ARGS"}}},

	// Other commands.
	{"start with options", words("podman start --attach -f label=x web other"),
		Command{Podman: true, Subcommand: "start", Name: "web"}},
	{"start with options after the name", words("podman start web -a"),
		Command{Podman: true, Subcommand: "start", Name: "web"}},
	{"container restart with a time", words("podman container restart -t 5 web"),
		Command{Podman: true, Subcommand: "restart", Name: "web"}},
	{"restart by cidfile", words("podman restart --cidfile=%t/%n.ctr-id"),
		Command{Podman: true, Subcommand: "restart"}},
	{"start by a name from the environment", words("podman start $NAME"),
		Command{Podman: true, Subcommand: "start", Uncertain: "systemd expands $NAME when it runs the command"}},
	{"kube play", words("/usr/bin/podman kube play --replace --service-container=true /etc/containers/web.yaml"),
		Command{Podman: true, Subcommand: "kube"}},
	{"pod start", words("/usr/bin/podman pod start --pod-id-file %t/pod-app.pod-id"),
		Command{Podman: true, Subcommand: "pod"}},
	{"system service", words("/usr/bin/podman --log-level=info system service --time=0"),
		Command{Podman: true, Subcommand: "system"}},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.argv); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.argv, got, tt.want)
			}
		})
	}
}

func TestRunsContainer(t *testing.T) {
	runs := map[string]bool{
		"podman run img": true, "podman container create img": true, "podman start web": true,
		"podman restart web": true, "podman kube play x.yaml": true, "podman pod start p": true,
		"podman system service": false, "podman stop web": false, "podman": false, "/bin/true": false,
	}
	for line, want := range runs {
		if got := Parse(words(line)).RunsContainer(); got != want {
			t.Errorf("%q: RunsContainer = %v, want %v", line, got, want)
		}
	}
}

func TestParseDoesNotShareArgv(t *testing.T) {
	argv := words("podman run img a b")
	c := Parse(argv)
	c.Args[0] = "changed"
	if argv[3] != "a" {
		t.Error("Args shares its words with argv")
	}
}

// TestOptionsSocktuiReads names the options socktui relies on, so that a
// regenerated table that loses one fails here.
func TestOptionsSocktuiReads(t *testing.T) {
	value := []string{"name", "pull", "network", "publish", "cidfile", "cgroups", "sdnotify", "pod-id-file",
		"conmon-pidfile", "volume", "env", "label", "log-driver", "entrypoint", "security-opt"}
	boolean := []string{"rm", "replace", "detach", "rootfs", "interactive", "tty", "privileged"}
	for _, n := range value {
		if v, ok := runOptions.long[n]; !ok || !v {
			t.Errorf("--%s: known %v, takes a value %v; want a known option with a value", n, ok, v)
		}
	}
	for _, n := range boolean {
		if v, ok := runOptions.long[n]; !ok || v {
			t.Errorf("--%s: known %v, takes a value %v; want a known boolean", n, ok, v)
		}
	}
	for _, s := range []*optionSet{&globalOptions, &persistentOptions, &runOptions, &startOptions, &restartOptions} {
		for c, n := range s.short {
			if _, ok := s.long[n]; !ok {
				t.Errorf("-%c stands for --%s, which the set lacks", c, n)
			}
		}
		for old := range s.alias {
			if _, ok := s.long[old]; ok {
				t.Errorf("alias --%s is also an option", old)
			}
		}
	}
}

func TestParsePort(t *testing.T) {
	// The values of podman's test/e2e/quadlet/ports.container and
	// ports_ipv6.container, and some podman refuses.
	tests := []struct {
		raw  string
		want Port // Raw is filled in
	}{
		{"127.0.0.1:80:90", Port{Parsed: true, HostIP: "127.0.0.1", HostPort: 80, ContainerPort: 90, Range: 1, Protocol: "tcp"}},
		{"0.0.0.0:80:91", Port{Parsed: true, HostPort: 80, ContainerPort: 91, Range: 1, Protocol: "tcp"}},
		{":80:92", Port{}}, // an empty host IP: podman refuses it
		{"127.0.0.1::93", Port{Parsed: true, HostIP: "127.0.0.1", ContainerPort: 93, Range: 1, Protocol: "tcp"}},
		{"::95", Port{}},
		{"80:96", Port{Parsed: true, HostPort: 80, ContainerPort: 96, Range: 1, Protocol: "tcp"}},
		{"97", Port{Parsed: true, ContainerPort: 97, Range: 1, Protocol: "tcp"}},
		{"1234/udp", Port{Parsed: true, ContainerPort: 1234, Range: 1, Protocol: "udp"}},
		{"127.0.0.1:1234:1234/udp", Port{Parsed: true, HostIP: "127.0.0.1", HostPort: 1234, ContainerPort: 1234, Range: 1, Protocol: "udp"}},
		{"1234:1234/tcp", Port{Parsed: true, HostPort: 1234, ContainerPort: 1234, Range: 1, Protocol: "tcp"}},
		{"${PORT}:${PORT}", Port{}},
		{"[::1]:80:90", Port{Parsed: true, HostIP: "::1", HostPort: 80, ContainerPort: 90, Range: 1, Protocol: "tcp"}},
		{"[::]:80:91", Port{Parsed: true, HostIP: "::", HostPort: 80, ContainerPort: 91, Range: 1, Protocol: "tcp"}},
		{"[2001:DB8::23]:80:91", Port{Parsed: true, HostIP: "2001:db8::23", HostPort: 80, ContainerPort: 91, Range: 1, Protocol: "tcp"}},
		{"[::1]::93", Port{Parsed: true, HostIP: "::1", ContainerPort: 93, Range: 1, Protocol: "tcp"}},
		{"[2001:db8:c0:ff:ee::1]:1234:1234/udp", Port{Parsed: true, HostIP: "2001:db8:c0:ff:ee::1", HostPort: 1234, ContainerPort: 1234, Range: 1, Protocol: "udp"}},
		{"8000-8009:80-89", Port{Parsed: true, HostPort: 8000, ContainerPort: 80, Range: 10, Protocol: "tcp"}},
		{"5353/tcp,udp", Port{Parsed: true, ContainerPort: 5353, Range: 1, Protocol: "tcp,udp"}},
		{"8000-8009:80", Port{}}, // ranges of different lengths
		{"90-80", Port{}},
		{"0", Port{}},
		{"65536", Port{}},
		{"80/", Port{}},
		{"80/tcp/udp", Port{}},
		{"[::1]:80", Port{}},
		{"::1:80:90", Port{}},
		{"1.2.3.4:5:6:7", Port{}},
		{"[::1:80:90", Port{}},
		{"nothost:80:90", Port{}},
		{"", Port{}},
	}
	for _, tt := range tests {
		tt.want.Raw = tt.raw
		if got := parsePort(tt.raw); got != tt.want {
			t.Errorf("parsePort(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(strings.Join(tt.argv, "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		argv := strings.Split(line, "\x00")
		before := slices.Clone(argv)
		c := Parse(argv)
		if !slices.Equal(argv, before) {
			t.Fatalf("Parse changed its argv: %q", before)
		}
		if strings.HasPrefix(c.Image, "-") {
			t.Fatalf("image %q starts with '-' in %q", c.Image, argv)
		}
		if c.Image != "" && (c.Uncertain != "" || (c.Subcommand != "run" && c.Subcommand != "create")) {
			t.Fatalf("image %q with subcommand %q, uncertain %q in %q", c.Image, c.Subcommand, c.Uncertain, argv)
		}
		if len(c.Args) > 0 && !slices.Equal(c.Args, argv[len(argv)-len(c.Args):]) {
			t.Fatalf("args %q are not the end of %q", c.Args, argv)
		}
		if !c.Podman && !reflect.DeepEqual(c, Command{}) {
			t.Fatalf("not podman, yet %+v", c)
		}
		for _, p := range c.Publish {
			if p.Parsed && (p.ContainerPort == 0 || p.Range == 0 || int(p.ContainerPort)+int(p.Range)-1 > 65535 ||
				int(p.HostPort)+int(p.Range)-1 > 65535) {
				t.Fatalf("port %+v out of range", p)
			}
		}
	})
}
