package echo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/socktui/socktui/workloads/echo"
)

func TestSpecUnitsErrors(t *testing.T) {
	ok := echo.Spec{Name: "echo", Mode: echo.ModeBare, Binary: "/usr/bin/socktui-echo"}
	tests := []struct {
		name   string
		change func(*echo.Spec)
		want   string
	}{
		{"no name", func(s *echo.Spec) { s.Name = "" }, "plain unit name"},
		{"name with suffix", func(s *echo.Spec) { s.Name = "echo.service" }, "plain unit name"},
		{"name with slash", func(s *echo.Spec) { s.Name = "a/b" }, "plain unit name"},
		{"port too big", func(s *echo.Spec) { s.Port = 70000 }, "port 70000 out of range"},
		{"relative unix dir", func(s *echo.Spec) { s.UnixDir = "run/echo" }, "must be absolute"},
		{"bare without binary", func(s *echo.Spec) { s.Binary = "" }, "absolute path of the echo server's program"},
		{"unknown mode", func(s *echo.Spec) { s.Mode = "vm" }, `mode "vm"`},
		{"container without runtime dir", func(s *echo.Spec) { s.Mode = echo.ModeContainer }, "runtime folder"},
		{"bad environment", func(s *echo.Spec) { s.Environment = []string{"NOEQUALS"} }, "KEY=VALUE"},
		{"negative idle exit", func(s *echo.Spec) { s.IdleExit = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.change(&s)
			_, err := s.Units()
			if !errors.Is(err, echo.ErrBadSpec) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Units() error = %v, want ErrBadSpec saying %q", err, tt.want)
			}
		})
	}
	if _, err := ok.Units(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
}

// options parses a unit file back (go-systemd's deserializer) into
// "Section.Name" -> values.
func options(t *testing.T, file string) map[string][]string {
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
		spec        echo.Spec
		wantSocket  map[string][]string
		wantService map[string][]string
	}{
		{
			name: "bare",
			spec: echo.Spec{Name: "echo", Mode: echo.ModeBare, Port: 3100, UnixDir: "/home/u/echo",
				VsockPort: 3100, Binary: "/opt/socktui echo/socktui-echo", IdleExit: 30 * time.Second,
				Environment: []string{"A=b c"}},
			wantSocket: map[string][]string{
				"Socket.ListenStream":           {"127.0.0.1:3100", "[::1]:3100", "/home/u/echo/echo.sock", "vsock:4294967295:3100"},
				"Socket.ListenDatagram":         {"127.0.0.1:3100", "[::1]:3100", "/home/u/echo/echo.dgram"},
				"Socket.ListenSequentialPacket": {"/home/u/echo/echo.seqpacket"},
				"Socket.Service":                {"echo.service"},
				"Socket.RemoveOnStop":           {"yes"},
				"Install.WantedBy":              {"sockets.target"},
			},
			wantService: map[string][]string{
				"Service.Type":         {"notify"},
				"Service.NotifyAccess": {"main"},
				"Service.ExecStart":    {`"/opt/socktui echo/socktui-echo" --idle-exit 30s`},
				"Service.Environment":  {`"A=b c"`},
				"Unit.Requires":        {"echo.socket"},
			},
		},
		{
			name: "bare, as socktui's subcommand",
			spec: echo.Spec{Name: "socktui-echo", Mode: echo.ModeBare, Binary: "/root/go/bin/socktui",
				BinaryArgs: []string{echo.Subcommand}, IdleExit: 20 * time.Second},
			wantSocket: map[string][]string{
				"Unit.Description": {"socktui echo workload (bare)"},
				"Socket.Service":   {"socktui-echo.service"},
			},
			wantService: map[string][]string{
				"Unit.Description":       {"socktui echo workload (bare)"},
				"Service.ExecStart":      {"/root/go/bin/socktui echo-server --idle-exit 20s"},
				"Service.TimeoutStopSec": {"15"},
			},
		},
		{
			name: "container",
			spec: echo.Spec{Name: "web-echo", Mode: echo.ModeContainer, RuntimeDir: "/run/user/1000",
				Image: "localhost/e:1", MaxConns: 10},
			wantSocket: map[string][]string{
				"Socket.ListenStream":   {"127.0.0.1:3000", "[::1]:3000"},
				"Socket.ListenDatagram": {"127.0.0.1:3000", "[::1]:3000"},
			},
			wantService: map[string][]string{
				"Service.Type":         {"notify"},
				"Service.NotifyAccess": {"all"},
				"Service.Environment":  {"PODMAN_SYSTEMD_UNIT=web-echo.service"},
				"Service.ExecStartPre": {"/bin/rm -f /run/user/1000/web-echo.service.ctr-id"},
				"Service.ExecStart": {"/usr/bin/podman run --cidfile=/run/user/1000/web-echo.service.ctr-id " +
					"--cgroups=no-conmon --rm --sdnotify=container -d --replace --name web-echo " +
					"--network=none --pull=never localhost/e:1 --max-conns 10"},
				"Service.ExecStop":     {"/usr/bin/podman stop --ignore -t 5 --cidfile=/run/user/1000/web-echo.service.ctr-id"},
				"Service.ExecStopPost": {"/usr/bin/podman rm -f --ignore -t 5 --cidfile=/run/user/1000/web-echo.service.ctr-id"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.spec.Units()
			if err != nil {
				t.Fatal(err)
			}
			check := func(file string, want map[string][]string) {
				got := options(t, file)
				for k, w := range want {
					if strings.Join(got[k], "\n") != strings.Join(w, "\n") {
						t.Errorf("%s = %q, want %q\n%s", k, got[k], w, file)
					}
				}
			}
			check(u.SocketFile(), tt.wantSocket)
			check(u.ServiceFile(), tt.wantService)
		})
	}
}
