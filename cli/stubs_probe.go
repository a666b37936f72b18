package cli

import (
	"context"
	"errors"
)

// Placeholder until the probe issue lands; the file is replaced whole.

func runProbe(ctx context.Context, env *Env, args []string) error {
	return errors.New("probe: not implemented yet")
}
