package unit

import (
	"slices"
	"strings"
	"testing"
	"time"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// parseUnitFile reads a unit file back with go-systemd's deserializer into
// "Section.Name" -> values.
func parseUnitFile(t *testing.T, file string) map[string][]string {
	t.Helper()
	opts, err := sdunit.Deserialize(strings.NewReader(file))
	if err != nil {
		t.Fatalf("parsing the unit file: %v\n%s", err, file)
	}
	m := map[string][]string{}
	for _, o := range opts {
		m[o.Section+"."+o.Name] = append(m[o.Section+"."+o.Name], o.Value)
	}
	return m
}

func TestUnitFiles(t *testing.T) {
	tests := []struct {
		name        string
		spec        SocketSpec
		wantSocket  map[string][]string
		wantService map[string][]string
	}{
		{
			name: "every field",
			spec: SocketSpec{
				Name: "echo.socket", Description: "the echo",
				Listen: []Listen{{TypeStream, "127.0.0.1:3100"}, {TypeDatagram, "[::1]:3100"},
					{TypeSeqPacket, "/run/e.seq"}, {TypeFIFO, "/run/e.fifo"}},
				RemoveOnStop: true,
				Service: ServiceSpec{
					Name: "echo-main.service", Description: "the echo's service",
					ExecStartPre: [][]string{{"/bin/rm", "-f", "/run/x"}, {"/bin/true"}},
					ExecStart:    []string{"/usr/bin/echo-server", "--idle-exit", "30s"},
					ExecStop:     [][]string{{"/bin/kill", "1"}},
					ExecStopPost: [][]string{{"/bin/rm", "-f", "/run/y"}},
					Type:         "notify", NotifyAccess: "all", KillMode: "mixed",
					Environment:    []string{"A=b c", "P=50%"},
					TimeoutStopSec: 1500 * time.Millisecond,
				},
			},
			wantSocket: map[string][]string{
				"Unit.Description":              {"the echo"},
				"Socket.ListenStream":           {"127.0.0.1:3100"},
				"Socket.ListenDatagram":         {"[::1]:3100"},
				"Socket.ListenSequentialPacket": {"/run/e.seq"},
				"Socket.ListenFIFO":             {"/run/e.fifo"},
				"Socket.RemoveOnStop":           {"yes"},
				"Socket.Service":                {"echo-main.service"},
				"Install.WantedBy":              {"sockets.target"},
			},
			wantService: map[string][]string{
				"Unit.Description":       {"the echo's service"},
				"Unit.Requires":          {"echo.socket"},
				"Unit.After":             {"echo.socket"},
				"Service.Environment":    {`"A=b c"`, "P=50%%"},
				"Service.Type":           {"notify"},
				"Service.NotifyAccess":   {"all"},
				"Service.KillMode":       {"mixed"},
				"Service.TimeoutStopSec": {"1.5"},
				"Service.ExecStartPre":   {"/bin/rm -f /run/x", "/bin/true"},
				"Service.ExecStart":      {"/usr/bin/echo-server --idle-exit 30s"},
				"Service.ExecStop":       {"/bin/kill 1"},
				"Service.ExecStopPost":   {"/bin/rm -f /run/y"},
			},
		},
		{
			name: "defaults",
			spec: SocketSpec{Name: "a.socket", Listen: []Listen{{TypeStream, "3000"}},
				Service: ServiceSpec{ExecStart: []string{"/bin/cat"}}},
			wantSocket: map[string][]string{
				"Socket.ListenStream": {"3000"},
				"Install.WantedBy":    {"sockets.target"},
			},
			wantService: map[string][]string{
				"Unit.Requires":     {"a.socket"},
				"Unit.After":        {"a.socket"},
				"Service.ExecStart": {"/bin/cat"},
			},
		},
		{
			name: "accept names no service",
			spec: SocketSpec{Name: "b.socket", Listen: []Listen{{TypeStream, "3001"}}, Accept: true,
				Service: ServiceSpec{Name: "b@.service", ExecStart: []string{"/bin/cat"}}},
			wantSocket: map[string][]string{
				"Socket.ListenStream": {"3001"},
				"Socket.Accept":       {"yes"},
				"Install.WantedBy":    {"sockets.target"},
			},
			wantService: map[string][]string{
				"Unit.Requires":     {"b.socket"},
				"Unit.After":        {"b.socket"},
				"Service.ExecStart": {"/bin/cat"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(file string, want map[string][]string) {
				t.Helper()
				got := parseUnitFile(t, file)
				for k, w := range want {
					if !slices.Equal(got[k], w) {
						t.Errorf("%s = %q, want %q\n%s", k, got[k], w, file)
					}
				}
				for k, g := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("%s = %q, want none\n%s", k, g, file)
					}
				}
			}
			check(tt.spec.SocketFile(), tt.wantSocket)
			check(tt.spec.ServiceFile(), tt.wantService)
		})
	}
}

// Commands reach systemd as written: no specifier or variable expansion,
// and words with blanks, quotes, backslashes or semicolons stay one word.
func TestCommandLineEscapes(t *testing.T) {
	spec := SocketSpec{Name: "e.socket", Service: ServiceSpec{
		ExecStart: []string{"/x/50%$HOME;", "a b", `q"uo\te`, ""},
	}}
	got := parseUnitFile(t, spec.ServiceFile())["Service.ExecStart"]
	if want := `"/x/50%%$$HOME;" "a b" "q\"uo\\te" ""`; len(got) != 1 || got[0] != want {
		t.Errorf("ExecStart = %q, want %q", got, want)
	}
}
