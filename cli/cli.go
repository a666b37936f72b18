// Package cli is socktui's command line: it parses arguments, builds the
// systemd client, the prober and the UI, runs one subcommand and maps its
// error to an exit status. cmd/socktui only calls Run.
//
// The commands are a cobra tree (root.go): GNU-style flags, --system
// persistent, generated help, and shell completion whose words for units
// come from the manager (complete.go).
//
// Exit statuses follow systemctl's: 0 success, 1 an action or probe failed,
// 2 bad usage.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/socktui/socktui/internal/termtext"
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

	// hosts is --host (hosts.go): the remote hosts, opened on first use
	// and closed when Run ends.
	hosts *hostSet
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

// exitStatus is returned by a command that chose its exit status itself
// (echo-server, whose workload returns one) and has reported why.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Run runs socktui with args (without the program name) and returns the exit
// status. ctx is cancelled on SIGINT/SIGTERM by main; every command stops
// and cleans up when it is.
func Run(ctx context.Context, env *Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if args == nil {
		// cobra reads os.Args when given nil.
		args = []string{}
	}
	root, g := newRootCommand(env, args)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	env.hosts.close()
	if err != nil && !g.started {
		// cobra's own errors (an argument check of its commands, say) come
		// before any command ran: bad usage, as flag errors are.
		var ue *UsageError
		if !errors.As(err, &ue) {
			err = &UsageError{Msg: err.Error()}
		}
	}
	return report(env, commandName(cmd), err)
}

// Version is socktui's version, shown by --version.
const Version = "0.1.0"

// commandName is cmd's path below the root ("probe", "completion bash"),
// "" for the root.
func commandName(cmd *cobra.Command) string {
	if cmd == nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()))
}

// isJoin reports whether err is errors.Join(errs...): its text is theirs,
// a line each. fmt.Errorf with several %w unwraps to a list too, but its
// text is its own and must be printed whole.
func isJoin(err error, errs []error) bool {
	texts := make([]string, len(errs))
	for i, e := range errs {
		texts[i] = e.Error()
	}
	return err.Error() == strings.Join(texts, "\n")
}

// report prints err, if any, for subcommand name and returns the exit
// status. The messages go through termtext.Clean: they quote what systemd,
// a unit or the command line said.
func report(env *Env, name string, err error) int {
	prefix, help := "socktui", "socktui --help"
	if name != "" {
		prefix, help = "socktui "+name, "socktui "+name+" --help"
	}
	var (
		ue     *UsageError
		status exitStatus
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "%s: %s\nRun '%s' for usage.\n", prefix, termtext.Clean(ue.Msg), help)
		return ExitUsage
	case errors.As(err, &status):
		return int(status)
	case errors.Is(err, errSilent):
		return ExitFailure
	case errors.Is(err, context.Canceled):
		return ExitFailure
	default:
		// errors.Join's errors (one per host) a line each; a newline
		// within one is what a peer said, escaped by Clean.
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok && isJoin(err, j.Unwrap()) {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			fmt.Fprintf(env.Stderr, "%s: %s\n", prefix, termtext.Clean(e.Error()))
		}
		return ExitFailure
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
