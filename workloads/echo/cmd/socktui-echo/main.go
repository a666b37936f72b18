// Command socktui-echo is socktui's bundled workload: a socket-activated echo
// server for every socket type systemd can pass (see package echo). It exits
// 0 on SIGTERM or SIGINT and after --idle-exit.
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
