package cli_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/socktui/socktui/cli"
	"github.com/socktui/socktui/internal/testbin"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite the files that cmp compares in testdata/script/*.txtar to what socktui printed")

// TestMain makes this test binary the scripts' socktui command as well
// (testscript.Main runs socktuiMain when it is started under that name),
// and removes the binaries other tests built with testbin.
func TestMain(m *testing.M) {
	testscript.Main(cleanupAfter{m}, map[string]func(){"socktui": socktuiMain})
}

type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	defer testbin.Cleanup()
	return c.m.Run()
}

// socktuiMain is what cmd/socktui's main does, in a process of its own
// started by a script: the scripts run the command line as a user does,
// arguments, environment, streams and exit status, with the test binary's
// race detector.
func socktuiMain() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// TestScripts runs testdata/script/*.txtar: the help of every command,
// usage errors and their exit statuses, --version, and completion, of unit
// names against a real manager too. go test ./cli -run TestScripts
// -update-scripts rewrites the expected outputs; review the diff.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateScripts,
		Setup: func(e *testscript.Env) error {
			e.Values[scriptT{}] = e.T() // for sandboxCmd
			// A race-detecting socktui would sleep a second as it exits.
			e.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":   exitsCmd,
			"sandbox": sandboxCmd,
		},
	})
}

// scriptT is the key of the script's testscript.T in its Values.
type scriptT struct{}

// exitsCmd is the scripts' `exits STATUS COMMAND [ARGS...]`: COMMAND must
// exit with STATUS (exec only tells zero from non-zero). Its stdout and
// stderr are kept for the commands that follow, as exec's are.
func exitsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits STATUS COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad status %q", args[0])
	}
	got := 0
	var ee *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// sandboxCmd is the scripts' `sandbox NAME...`: a private systemd user
// manager for the script (sandboxtest.Start, which never skips when
// CI=true), with a socket unit NAME.socket and its service installed, not
// started, for each NAME, and the script's environment pointed at the
// manager: the variables its Env sets (XDG_RUNTIME_DIR, HOME, ...).
func sandboxCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: sandbox NAME...")
	}
	t, ok := ts.Value(scriptT{}).(testing.TB)
	if !ok {
		ts.Fatalf("sandbox: the script's %T is not a testing.TB", ts.Value(scriptT{}))
	}
	s := sandboxtest.Start(t)
	files := map[string]string{}
	for _, name := range args {
		files[name+".socket"] = "[Socket]\nListenStream=%t/" + name + ".sock\n"
		files[name+".service"] = "[Service]\nExecStart=/bin/cat\n"
	}
	sandboxtest.InstallUnits(t, s, files)
	for _, kv := range s.Env() {
		if k, v, _ := strings.Cut(kv, "="); os.Getenv(k) != v {
			ts.Setenv(k, v)
		}
	}
}
