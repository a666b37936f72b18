package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/socktui/socktui/systemdbus"
)

// runAction is `socktui start|stop|restart|reset-failed UNIT...`. A name
// without a type suffix means a .socket unit. Every unit is tried in turn;
// a failure is reported on stderr and makes the exit status 1.
func runAction(verb string) func(ctx context.Context, env *Env, args []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(env, verb, "UNIT... [--system]")
		system := fs.Bool("system", false, "talk to the system manager instead of the user manager")
		units, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(units) == 0 {
			return usagef("%s needs at least one unit name", verb)
		}
		for i, u := range units {
			if err := systemdbus.CheckPattern(u); err != nil {
				return usagef("%v", err)
			}
			if isGlobName(u) {
				return usagef("%s takes unit names, not patterns: %q", verb, u)
			}
			units[i] = systemdbus.SocketName(u)
		}
		c, err := connect(ctx, env, *system)
		if err != nil {
			return err
		}
		defer c.Close()
		act := map[string]func(context.Context, string) error{
			"start":        c.StartUnit,
			"stop":         c.StopUnit,
			"restart":      c.RestartUnit,
			"reset-failed": c.ResetFailed,
		}[verb]
		if act == nil {
			return fmt.Errorf("unknown action %q", verb)
		}
		failed := false
		for _, u := range units {
			if err := act(ctx, u); err != nil {
				if errors.Is(err, context.Canceled) {
					return err
				}
				fmt.Fprintf(env.Stderr, "socktui %s: %v\n", verb, err)
				failed = true
			}
		}
		if failed {
			return errSilent
		}
		return nil
	}
}

func isGlobName(s string) bool {
	for _, r := range s {
		if r == '*' || r == '?' || r == '[' {
			return true
		}
	}
	return false
}
