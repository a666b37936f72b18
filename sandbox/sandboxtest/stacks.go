package sandboxtest

import (
	"os"
	"testing"

	"github.com/socktui/socktui/sandbox"
)

// Stack is a systemd and Podman stack the core integration tests run on.
type Stack struct {
	// Name names the subtest: "host" or "trixie".
	Name  string
	Stack sandbox.Stack
}

// Stacks are the stacks the core integration tests run on: this host's
// (Debian 12: systemd 252, Podman 4.3) and Debian 13's (systemd 257, Podman
// 5.4 with Quadlet, set up by `make modern-stack`).
func Stacks() []Stack {
	return []Stack{{"host", sandbox.StackHost}, Trixie()}
}

// Trixie is the Debian 13 stack of Stacks, for a benchmark or a test of
// that stack alone.
func Trixie() Stack { return Stack{"trixie", sandbox.StackTrixie} }

// Start starts a sandbox of st for t, as Start does. A sandbox of another
// stack than the host's also fails t unless, once it is closed, the host is
// as it was (HostUntouched) and no process of the sandbox is left.
func (st Stack) Start(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	if st.Stack == sandbox.StackHost {
		return Start(t)
	}
	if err := sandbox.Available(); err != nil {
		Unavailable(t, err.Error())
	}
	// Cleanups run last registered first: these two after Close.
	HostUntouched(t)
	var s *sandbox.Sandbox
	t.Cleanup(func() {
		if s != nil {
			NothingLeft(t, s)
		}
	})
	s = start(t, sandbox.Options{Stack: st.Stack})
	return s
}

// OnStacks runs body once per stack (Stacks), each as a subtest named after
// the stack with a sandbox of its own: one test body per behaviour, on every
// stack. `go test -run 'TestX/trixie'` picks one.
func OnStacks(t *testing.T, body func(t *testing.T, s *sandbox.Sandbox)) {
	t.Helper()
	for _, st := range Stacks() {
		t.Run(st.Name, func(t *testing.T) { body(t, st.Start(t)) })
	}
}

// NothingLeft fails t when a process of the closed sandbox s still runs or
// its folder remains.
func NothingLeft(t testing.TB, s *sandbox.Sandbox) {
	t.Helper()
	if left := sandbox.Processes(s.Dir); len(left) > 0 {
		t.Errorf("processes %v of the sandbox %s are left after Close", left, s.Dir)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("the sandbox folder %s remains after Close (%v)", s.Dir, err)
	}
}
