package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runArgs runs socktui with args and no manager to talk to, and returns
// the exit status, stdout and stderr.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return t.TempDir()
			}
			return ""
		}}
	code := Run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

// commandNames is every command a person may type, by its path below the
// root ("probe", "completion bash"), the root as "".
func commandNames(t *testing.T) []string {
	t.Helper()
	root, _ := newRootCommand(&Env{Getenv: func(string) string { return "" }}, nil)
	names := []string{""}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.Hidden {
				names = append(names, commandName(sub))
				walk(sub)
			}
		}
	}
	walk(root)
	if len(names) < 10 {
		t.Fatalf("commands: %q, want the UI, demo, list, probe, the actions, completion and help", names)
	}
	return names
}

// Every command's -h and --help print its usage once, to stdout, and exit
// 0, after positional arguments too.
func TestEverySubcommandHelpPrintsUsageOnce(t *testing.T) {
	for _, name := range commandNames(t) {
		for _, args := range [][]string{{"--help"}, {"-h"}, {"x", "--help"}} {
			args = append(strings.Fields(name), args...)
			if name == "" {
				// The UI: `socktui --system --help`.
				args = append([]string{"--system"}, args...)
			}
			code, stdout, stderr := runArgs(t, args...)
			if code != ExitOK || stderr != "" {
				t.Errorf("socktui %q: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
			}
			want := "Usage:\n  " + strings.TrimSpace("socktui "+name)
			if n := strings.Count(stdout, "Usage:"); n != 1 || !strings.Contains(stdout, want+" ") && !strings.Contains(stdout, want+"\n") {
				t.Errorf("socktui %q printed %d usages, want one with %q:\n%s", args, n, want, stdout)
			}
		}
	}
}

// A bad flag is a usage error: one line saying what is wrong and the hint,
// on stderr, exit 2, nothing on stdout.
func TestBadFlagIsAOneLineUsageError(t *testing.T) {
	for _, name := range commandNames(t) {
		args := append(strings.Fields(name), "--bogus")
		prefix := strings.TrimSpace("socktui " + name)
		want := prefix + ": unknown flag: --bogus\nRun '" + prefix + " --help' for usage.\n"
		code, stdout, stderr := runArgs(t, args...)
		if code != ExitUsage || stdout != "" || stderr != want {
			t.Errorf("socktui %q: exit %d, stdout %q, stderr %q; want exit 2, no stdout, and %q", args, code, stdout, stderr, want)
		}
	}
	code, stdout, stderr := runArgs(t, "probe", "--timeout", "soon")
	if code != ExitUsage || stdout != "" || strings.Count(stderr, "\n") != 2 || !strings.Contains(stderr, `invalid argument "soon" for "--timeout" flag`) {
		t.Errorf("probe --timeout soon: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// An empty command name is an unknown command, not the UI.
func TestEmptyCommandIsUnknown(t *testing.T) {
	code, stdout, stderr := runArgs(t, "")
	if want := "socktui: unknown command \"\"\nRun 'socktui --help' for usage.\n"; code != ExitUsage || stdout != "" || stderr != want {
		t.Errorf("socktui '': exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, want)
	}
}

// A unit name longer than systemd's 255 bytes, counting the .socket added
// to a bare name, is a usage error saying so, before any manager is asked.
func TestLongUnitNameIsAUsageError(t *testing.T) {
	long := strings.Repeat("a", 250)
	for _, args := range [][]string{{"probe", long}, {"list", long}, {"start", long}, {"stop", long + ".socket"},
		{"restart", strings.Repeat("a", 256) + ".service"}, {"reset-failed", long}} {
		code, stdout, stderr := runArgs(t, args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "systemd's unit names have at most 255") ||
			!strings.Contains(stderr, "socktui "+args[0]+" --help") {
			t.Errorf("socktui %s %d bytes: exit %d, stdout %q, stderr %q; want a usage error about the length",
				args[0], len(args[1]), code, stdout, stderr)
		}
	}
	// The longest name fits: the probe fails on the missing manager.
	code, _, stderr := runArgs(t, "probe", strings.Repeat("a", 248))
	if code != ExitFailure || strings.Contains(stderr, "at most 255") {
		t.Errorf("probe of a 255-byte name: exit %d, stderr %q; want 1 for no manager", code, stderr)
	}
}
