package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Bad usage of the UI commands exits 2 with a message, before anything is
// started or connected.
func TestUIUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--mode", "vm"}, "--mode must be auto, container or bare"},
		{[]string{"demo", "--port", "70000"}, "out of range"},
		{[]string{"demo", "extra"}, `unexpected argument "extra"`},
		{[]string{"demo", "--bogus"}, "flag provided but not defined"},
		{[]string{"--system", "extra"}, `unexpected argument "extra"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), env, c.args); code != ExitUsage {
			t.Errorf("socktui %v: exit %d, want %d (stderr %q)", c.args, code, ExitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("socktui %v: stderr %q, want it to contain %q", c.args, errb.String(), c.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"-h"}, {"help"}} {
		var out, errb bytes.Buffer
		env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Run(context.Background(), env, args); code != ExitOK {
			t.Errorf("socktui %v: exit %d, want 0 (stderr %q)", args, code, errb.String())
		}
		if !strings.Contains(out.String(), "socktui") || !strings.Contains(out.String(), "demo") {
			t.Errorf("socktui %v printed %q, want usage naming demo", args, out.String())
		}
	}
}
