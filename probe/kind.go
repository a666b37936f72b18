package probe

import (
	"fmt"
	"path"
	"strings"

	"github.com/socktui/socktui/internal/podmancmd"
	"github.com/socktui/socktui/unit"
)

// ParseKind returns the kind named s (auto, echo, connect or http).
func ParseKind(s string) (unit.Kind, error) {
	for _, k := range []unit.Kind{unit.KindAuto, unit.KindEcho, unit.KindConnect, unit.KindHTTP} {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown probe kind %q: want auto, echo, connect or http", s)
}

// isWebServer reports whether a program or image name is a server that
// answers HTTP on its sockets.
func isWebServer(name string) bool {
	switch name {
	case "apache2", "caddy", "cockpit-ws", "gunicorn", "httpd", "hypercorn", "lighttpd",
		"nginx", "traefik", "uvicorn", "uwsgi", "http.server":
		return true
	}
	return false
}

// ChooseKind picks the probe kind for a unit when the caller asks for
// KindAuto: KindEcho for socktui's echo workload (the service runs the
// socktui-echo binary, or a container of a socktui-echo image), KindHTTP for
// podman.socket, the Podman API service and web servers (nginx, httpd,
// caddy, ...), KindConnect otherwise.
//
// name is the socket (or service) unit name; serviceExec is the command line
// of the service it triggers, nil when unknown: then the unit name alone
// decides, and a unit named socktui-echo* counts as the echo workload; a
// line running `socktui echo-server` is the echo workload too. Of a
// `podman run` line that package podmancmd reads to its image, the image
// and the container's command are looked at; of any other line, every word.
func ChooseKind(name string, serviceExec []string) unit.Kind {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".socket"), ".service")
	if base == "podman" {
		return unit.KindHTTP
	}
	if len(serviceExec) == 0 {
		if strings.HasPrefix(base, unit.EchoWorkload) {
			return unit.KindEcho
		}
		return unit.KindConnect
	}
	if run := podmancmd.Parse(serviceExec); run.Image != "" {
		// A container: its image and its command decide, not the values
		// of podman's options (-v /etc/nginx:/etc/nginx runs no nginx).
		serviceExec = append([]string{run.Image}, run.Args...)
	}
	podman := false
	for i, arg := range serviceExec {
		name := programName(arg)
		switch {
		case strings.HasPrefix(name, unit.EchoWorkload):
			return unit.KindEcho
		case arg == unit.EchoSubcommand && i > 0 && strings.HasPrefix(programName(serviceExec[i-1]), "socktui"):
			// socktui echo-server: the echo workload run by socktui itself.
			return unit.KindEcho
		case isWebServer(name):
			return unit.KindHTTP
		case name == "podman":
			podman = true
		case podman && arg == "service" && i > 0 && serviceExec[i-1] == "system":
			// "podman system service": the Podman API.
			return unit.KindHTTP
		}
	}
	return unit.KindConnect
}

// programName reduces a command-line word to the name it runs:
// "/usr/sbin/nginx" and "docker.io/library/nginx:1.25" both give "nginx".
func programName(arg string) string {
	if strings.HasPrefix(arg, "-") {
		// --image=x or -m: options are not programs; "-m http.server"
		// leaves "http.server" as the next word.
		_, v, ok := strings.Cut(arg, "=")
		if !ok {
			return ""
		}
		arg = v
	}
	name := path.Base(arg)
	if i := strings.IndexAny(name, ":@"); i > 0 {
		name = name[:i]
	}
	return name
}
