// Package cli is socktui's command line: it parses arguments, builds the
// systemd client, the prober and the UI, runs one subcommand and maps its
// error to an exit status. cmd/socktui only calls Run.
//
// Exit statuses follow systemctl's: 0 success, 1 an action or probe failed,
// 2 bad usage.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/socktui/socktui/internal/termtext"
	"golang.org/x/sys/unix"
)

// Exit statuses returned by Run.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Env is what a subcommand may touch of the outside world. Run's caller
// supplies it; tests supply buffers.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (os.Getenv in main).
	Getenv func(string) string
}

// UsageError is bad input on the command line: Run prints it with a hint to
// --help and exits with ExitUsage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// errSilent is returned by a command that has already reported its failure
// (a table with failed rows, say) and only wants ExitFailure.
var errSilent = errors.New("failure already reported")

// command is one subcommand.
type command struct {
	name    string
	usage   string // the arguments, as shown in --help
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"", "[--system] [--kind K]", "open the interactive UI on the user manager (the default)", runUI},
		{"demo", "[--mode M] [--port N] [--sandbox]", "run the UI on the bundled echo workload, in a private manager if needed", runDemo},
		{"list", "[PATTERN...] [--all] [--json]", "list socket units with their activation state", runList},
		{"probe", "[UNIT...] [--kind K] [--timeout D] [--json]", "probe every endpoint of socket units", runProbe},
		{"start", "UNIT...", "start socket units", runAction("start")},
		{"stop", "UNIT...", "stop socket units", runAction("stop")},
		{"restart", "UNIT...", "restart socket units", runAction("restart")},
		{"reset-failed", "UNIT...", "reset failed units; a failed socket listens again", runAction("reset-failed")},
	}
}

// Run runs socktui with args (without the program name) and returns the exit
// status. ctx is cancelled on SIGINT/SIGTERM by main; every command stops
// and cleans up when it is.
func Run(ctx context.Context, env *Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	name, rest := "", args
	named := len(args) > 0 && !strings.HasPrefix(args[0], "-")
	if named {
		name, rest = args[0], args[1:]
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		printUsage(env.Stdout)
		return ExitOK
	}
	if len(args) > 0 && args[0] == "--version" {
		fmt.Fprintln(env.Stdout, "socktui", Version)
		return ExitOK
	}
	for _, c := range commands() {
		// The UI is the command without a name: `socktui ''` names none.
		if c.name != name || named && c.name == "" {
			continue
		}
		err := c.run(ctx, env, rest)
		return report(env, c.name, err)
	}
	fmt.Fprintf(env.Stderr, "socktui: unknown command %q\nRun 'socktui --help' for usage.\n", name)
	return ExitUsage
}

// Version is socktui's version, shown by --version.
const Version = "0.1.0"

// report prints err, if any, for subcommand name and returns the exit
// status. The messages go through termtext.Clean: they quote what systemd,
// a unit or the command line said.
func report(env *Env, name string, err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "socktui %s: %s\nRun 'socktui %s --help' for usage.\n", name, termtext.Clean(ue.Msg), name)
		return ExitUsage
	case errors.Is(err, errSilent):
		return ExitFailure
	case errors.Is(err, context.Canceled):
		return ExitFailure
	default:
		if name == "" {
			fmt.Fprintf(env.Stderr, "socktui: %s\n", termtext.Clean(err.Error()))
		} else {
			fmt.Fprintf(env.Stderr, "socktui %s: %s\n", name, termtext.Clean(err.Error()))
		}
		return ExitFailure
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "socktui: watch, start, stop and probe socket-activated services and containers.\n\n")
	fmt.Fprintf(w, "Usage:\n")
	for _, c := range commands() {
		line := strings.Join(strings.Fields("socktui "+c.name+" "+c.usage), " ")
		fmt.Fprintf(w, "  %-58s %s\n", line, c.summary)
	}
	fmt.Fprintf(w, "\nCommon flags: --system (the system manager instead of the user manager).\n")
	fmt.Fprintf(w, "Run 'socktui COMMAND --help' for a command's flags.\n")
}

// newFlagSet returns a flag set for a subcommand whose Usage prints its
// usage to env.Stdout; parseFlags calls it on --help only.
func newFlagSet(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("socktui "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: %s\n\nFlags:\n", strings.Join(strings.Fields("socktui "+name+" "+usage), " "))
		fs.SetOutput(env.Stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args with fs, allowing flags after positional
// arguments (`socktui list echo* --json`), and returns the positionals. On
// -h or --help it prints the usage once and returns flag.ErrHelp; a bad
// flag is a UsageError, with nothing printed.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package calls Usage itself on -h and on every bad flag:
	// silence it while parsing and print the usage here, on -h only.
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// encodeJSON writes v as JSON and a newline: indented for a person when w
// is a terminal, on one line for a program otherwise (as gh does), which
// also spares scripts the time of indenting a large listing.
//
// The values are exact; runes a terminal would act on that the encoder
// leaves raw (C1 controls, bidi overrides) are written as \u escapes
// (termtext.JSON).
func encodeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if isTerminal(w) {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(termtext.JSON(b.Bytes()))
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
