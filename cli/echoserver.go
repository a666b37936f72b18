package cli

import (
	"github.com/spf13/cobra"

	"github.com/socktui/socktui/unit"
	"github.com/socktui/socktui/workloads/echo"
)

// newEchoServerCommand is `socktui echo-server [FLAGS]`, hidden: the bundled
// echo workload (echo.Main) run in this process, so that the demo's units
// need no binary but socktui's. The workload parses its own flags (see
// `socktui echo-server --help`, on stderr) and chooses the exit status.
func newEchoServerCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                unit.EchoSubcommand + " [FLAGS]",
		Short:              "Run the bundled echo workload (what the demo's units start)",
		Hidden:             true,
		DisableFlagParsing: true,
		ValidArgsFunction:  cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := echo.Main(cmd.Context(), args, g.env.Stderr); code != ExitOK {
				return exitStatus(code)
			}
			return nil
		},
	}
}
