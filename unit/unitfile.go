package unit

import (
	"io"
	"strconv"
	"strings"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// SocketFile is the spec's .socket unit file, to be installed as s.Name.
// The service it triggers is named only when Service.Name is set (an
// Accept=yes socket triggers its template by default and names none).
func (s SocketSpec) SocketFile() string {
	var opts []*sdunit.UnitOption
	opt := func(section, name, value string) {
		opts = append(opts, sdunit.NewUnitOption(section, name, value))
	}
	if s.Description != "" {
		opt("Unit", "Description", s.Description)
	}
	for _, l := range s.Listen {
		opt("Socket", l.Directive(), l.Address)
	}
	if s.Accept {
		opt("Socket", "Accept", "yes")
	}
	if s.RemoveOnStop {
		opt("Socket", "RemoveOnStop", "yes")
	}
	if s.Service.Name != "" && !s.Accept {
		opt("Socket", "Service", s.Service.Name)
	}
	opt("Install", "WantedBy", "sockets.target")
	return serialize(opts)
}

// ServiceFile is the .service unit file of the service the spec's socket
// triggers, to be installed as s.ServiceName(). It requires the socket
// and starts after it. Commands are written so that systemd expands
// neither %-specifiers nor $-variables in them: every path is concrete.
func (s SocketSpec) ServiceFile() string {
	svc := s.Service
	var opts []*sdunit.UnitOption
	opt := func(section, name, value string) {
		opts = append(opts, sdunit.NewUnitOption(section, name, value))
	}
	if svc.Description != "" {
		opt("Unit", "Description", svc.Description)
	}
	opt("Unit", "Requires", s.Name)
	opt("Unit", "After", s.Name)
	for _, kv := range svc.Environment {
		opt("Service", "Environment", quoteWord(strings.ReplaceAll(kv, "%", "%%")))
	}
	for _, kv := range [][2]string{{"Type", svc.Type}, {"NotifyAccess", svc.NotifyAccess}, {"KillMode", svc.KillMode}} {
		if kv[1] != "" {
			opt("Service", kv[0], kv[1])
		}
	}
	if svc.TimeoutStopSec > 0 {
		opt("Service", "TimeoutStopSec", strconv.FormatFloat(svc.TimeoutStopSec.Seconds(), 'f', -1, 64))
	}
	for _, c := range svc.ExecStartPre {
		opt("Service", "ExecStartPre", commandLine(c))
	}
	opt("Service", "ExecStart", commandLine(svc.ExecStart))
	for _, c := range svc.ExecStop {
		opt("Service", "ExecStop", commandLine(c))
	}
	for _, c := range svc.ExecStopPost {
		opt("Service", "ExecStopPost", commandLine(c))
	}
	return serialize(opts)
}

func serialize(opts []*sdunit.UnitOption) string {
	b, _ := io.ReadAll(sdunit.Serialize(opts)) // reading a bytes.Buffer cannot fail
	return string(b)
}

// commandLine writes argv as a unit file command line: each word quoted when
// it needs it, and '%' and '$' escaped so systemd expands neither specifiers
// nor variables.
func commandLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		a = strings.ReplaceAll(a, "%", "%%")
		a = strings.ReplaceAll(a, "$", "$$")
		words[i] = quoteWord(a)
	}
	return strings.Join(words, " ")
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
