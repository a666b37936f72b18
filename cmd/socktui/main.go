// Command socktui is a terminal UI and command line for socket-activated
// services and containers under systemd. See README.md, or run
// `socktui --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/socktui/socktui/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}
