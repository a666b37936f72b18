package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// globals is what every command shares: the environment, the persistent
// flags, and whether a command's own work began (cobra's errors, such as a
// failed argument check, come before it).
type globals struct {
	env     *Env
	system  bool // --system
	started bool
}

const rootLong = `socktui watches, starts, stops and probes socket-activated services and
containers under systemd.

Without a command it opens the interactive UI on the user manager (the
system manager with --system). In the UI, p probes the selected socket's
endpoints and P those of every listening socket, with --kind:
` + kindHelp + `

Exit status: 0 on success, 1 when an action or a probe failed, 2 on bad
usage.`

// newRootCommand builds socktui's command tree on env. line is the command
// line Run was given (without the program name): the root tells an unknown
// command, its first word, from an argument the UI does not take.
func newRootCommand(env *Env, line []string) (*cobra.Command, *globals) {
	g := &globals{env: env}
	root := newBareRoot(g, line)
	addUI(root, g)
	root.AddCommand(
		newDemoCommand(g),
		newListCommand(g),
		newProbeCommand(g, func(ctx context.Context, opts probeOptions) error { return runProbe(ctx, env, opts) }),
		newBenchCommand(g, func(ctx context.Context, opts benchOptions) error { return runBench(ctx, env, opts) }),
		newDoctorCommand(g),
		newActionCommand(g, "start", "Start socket units"),
		newActionCommand(g, "stop", "Stop socket units"),
		newActionCommand(g, "restart", "Restart socket units"),
		newActionCommand(g, "reset-failed", "Reset failed units; a failed socket listens again"),
		newEnableCommand(g),
		newDisableCommand(g),
		newEchoServerCommand(g),
		newNewCommand(g),
		newRmCommand(g),
		newLogsCommand(g),
	)
	root.SetHelpCommand(newHelpCommand())
	addCompletionCommand(root)
	return root, g
}

// newBareRoot is the root command without subcommands or a Run: the
// settings, the flag-error wording and the persistent flags every command
// inherits.
func newBareRoot(g *globals, line []string) *cobra.Command {
	root := &cobra.Command{
		Use:     "socktui",
		Short:   "Watch, start, stop and probe socket-activated services and containers",
		Long:    rootLong,
		Version: Version,
		Args:    rootArgs(line),
		// Run reports errors, once, with a hint to --help (report).
		SilenceErrors: true,
		SilenceUsage:  true,
		// The nearest PersistentPreRun runs once the flags and arguments
		// were checked; no subcommand has its own.
		PersistentPreRun: func(*cobra.Command, []string) { g.started = true },
	}
	root.SetIn(g.env.Stdin)
	root.SetOut(g.env.Stdout)
	root.SetErr(g.env.Stderr)
	root.SetVersionTemplate("socktui {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Msg: err.Error()} })
	root.PersistentFlags().BoolVar(&g.system, "system", false, "talk to the system manager instead of the user manager")
	if g.env.hosts == nil {
		g.env.hosts = &hostSet{}
	}
	root.PersistentFlags().Var(g.env.hosts, "host", hostUsage)
	return root
}

// rootArgs checks the root's arguments: the UI takes none. The first word
// of the command line is where a command is named, so there it is an
// unknown command (an empty word too); a later word is an argument the UI
// does not take.
func rootArgs(line []string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		if len(line) == 0 || line[0] != args[0] {
			return usagef("unexpected argument %q", args[0])
		}
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := cmd.SuggestionsFor(args[0]); args[0] != "" && len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return &UsageError{Msg: msg}
	}
}

// noArgs is the argument check of a command that takes none.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// newHelpCommand is `socktui help [COMMAND]`. Unlike cobra's, it fails on
// a command that does not exist instead of printing the root's help.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		Long:  "Print the help of a command: socktui help probe is socktui probe --help.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usagef("unknown command %q", strings.Join(args, " "))
			}
			// As `COMMAND --help` prints it, with the flags cobra adds when
			// it runs the command.
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// addCompletionCommand adds cobra's completion command for bash, zsh and
// fish (systemd, and so socktui, runs on Linux only, where PowerShell is
// rare); a shell it does not know is bad usage.
func addCompletionCommand(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sub := range c.Commands() {
			if sub.Name() == "powershell" {
				c.RemoveCommand(sub)
			}
		}
		c.Args = func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown shell %q: want bash, zsh or fish", args[0])
			}
			return nil
		}
		c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
}
