package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/systemdbus"
)

// completionTimeout bounds what completing unit names may take, connecting
// included: a manager that does not answer must not hang the shell.
const completionTimeout = 2 * time.Second

// completeUnits is the ValidArgsFunction of the commands that take socket
// units: the names of the manager's socket units, loaded or only installed
// (ListSockets with All), that start with what was typed, without those
// already on the command line, each described by its state. It asks the
// manager --system names, as the command itself would, and never completes
// file names.
func completeUnits(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		names, err := listUnitCompletions(ctx, g, toComplete)
		if err != nil {
			// The shell discards stderr; it says why for a person running
			// `socktui __complete`.
			fmt.Fprintf(cmd.ErrOrStderr(), "socktui: completing unit names: %s\n", termtext.Clean(err.Error()))
			return nil, cobra.ShellCompDirectiveError
		}
		given := make([]string, len(args))
		for i, a := range args {
			given[i] = systemdbus.SocketName(a)
		}
		var out []cobra.Completion
		for _, n := range names {
			if !slices.Contains(given, n.name) {
				out = append(out, cobra.CompletionWithDesc(n.name, n.state))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// unitCompletion is a socket unit's name and its state.
type unitCompletion struct{ name, state string }

// listUnitCompletions lists the socket units whose names start with
// prefix. The manager matches them (prefix*), so that a manager with a
// thousand units answers within completionTimeout. A prefix that is itself
// a pattern or cannot start a unit name completes to nothing, and so do
// names a shell would split (blanks, control characters).
func listUnitCompletions(ctx context.Context, g *globals, prefix string) ([]unitCompletion, error) {
	pattern := prefix + "*"
	if isGlobName(prefix) || systemdbus.CheckPattern(pattern) != nil {
		return nil, nil
	}
	c, err := connect(ctx, g.env, g.system)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{pattern}, All: true})
	if err != nil {
		return nil, err
	}
	var out []unitCompletion
	for _, s := range socks {
		if strings.HasPrefix(s.Unit, prefix) && !strings.ContainsFunc(s.Unit, splitsWords) {
			out = append(out, unitCompletion{name: s.Unit, state: string(s.State)})
		}
	}
	return out, nil
}

// splitsWords reports whether r in a completion would break a shell's
// reading of it.
func splitsWords(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
