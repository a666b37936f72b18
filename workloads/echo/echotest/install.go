package echotest

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// InstallBare installs the echo workload in bare mode (running binary, a
// socktui-echo) on sandbox s as name.socket on port, with its unix
// sockets in a folder of s's home, and starts the socket; streamOnly
// keeps its tcp4, tcp6 and unix stream listeners only (what ssh can
// forward). It returns the units installed.
func InstallBare(t testing.TB, s *sandbox.Sandbox, binary, name string, port int, streamOnly bool) unit.SocketSpec {
	t.Helper()
	spec := echo.Spec{Name: name, Mode: echo.ModeBare, Binary: binary, Port: port, UnixDir: filepath.Join(s.Home, name)}
	u, err := spec.Units()
	if err != nil {
		t.Fatal(err)
	}
	if streamOnly {
		u.Listen = slices.DeleteFunc(u.Listen, func(l unit.Listen) bool { return l.Type != unit.TypeStream })
	}
	sandboxtest.InstallUnits(t, s, map[string]string{u.Name: u.SocketFile(), u.ServiceName(): u.ServiceFile()})
	sandboxtest.Systemctl(t, s, "start", u.Name)
	return u
}
