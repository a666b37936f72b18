package cli

import (
	"context"
	"errors"
)

// Placeholder until the ui issue lands; the file is replaced whole.

func runUI(ctx context.Context, env *Env, args []string) error {
	return errors.New("the interactive UI is not implemented yet")
}

func runDemo(ctx context.Context, env *Env, args []string) error {
	return errors.New("demo: not implemented yet")
}
