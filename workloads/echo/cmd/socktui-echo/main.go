// Command socktui-echo is socktui's bundled workload alone: a
// socket-activated echo server for every socket type systemd can pass (see
// package echo). It exits 0 on SIGTERM or SIGINT and after --idle-exit.
//
// socktui serves the same way as `socktui echo-server`, which is what the
// demo runs; this small binary stays for measuring the server by itself
// (its RSS, cold start and abuse tests) and for running it without socktui.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/socktui/socktui/workloads/echo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := echo.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
