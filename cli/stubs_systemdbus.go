package cli

import (
	"context"
	"errors"
)

// Placeholder until the systemdbus issue lands; the file is replaced whole.

func runList(ctx context.Context, env *Env, args []string) error {
	return errors.New("list: not implemented yet")
}

func runAction(verb string) func(ctx context.Context, env *Env, args []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		return errors.New(verb + ": not implemented yet")
	}
}
