package echo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/socktui/socktui/unit"
)

// Usage is the start of socktui-echo's help and of the message it prints
// when it has nothing to serve.
const Usage = `usage: socktui-echo [flags]

socktui-echo echoes on every socket systemd passes it (socket activation:
LISTEN_FDS), or on the sockets named with --listen. Start it through a
socket unit (socktui installs them: see "socktui demo"), through
  systemd-socket-activate -l 127.0.0.1:3000 socktui-echo
or, for development, with --listen tcp:127.0.0.1:3000.
`

// Subcommand is socktui's hidden subcommand that runs Main in-process:
// `socktui echo-server [flags]` serves as `socktui-echo [flags]` does, so
// that the socktui binary alone can run the demo (Spec.BinaryArgs) and be
// the demo's image (BuildImage).
const Subcommand = unit.EchoSubcommand

// listenFlags collects repeated --listen values.
type listenFlags []string

func (l *listenFlags) String() string     { return strings.Join(*l, ",") }
func (l *listenFlags) Set(v string) error { *l = append(*l, v); return nil }

// Main is socktui-echo's main: it parses args (without the program name),
// takes the inherited sockets and those named with --listen, and serves
// them until ctx is done or the idle exit. It logs to stderr and returns the
// exit status: 0 after a clean stop or idle exit, 1 on a runtime error, 2 for
// bad flags or when there is nothing to serve.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	logger := log.New(stderr, "socktui-echo: ", 0)
	fs := flag.NewFlagSet("socktui-echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listens listenFlags
		cfg     Config
	)
	fs.Var(&listens, "listen", "also listen on `NETWORK:ADDRESS` (repeatable): "+ListenUsage)
	fs.DurationVar(&cfg.IdleExit, "idle-exit", 0, "exit 0 after this long with no open connection and no traffic (0: never)")
	fs.IntVar(&cfg.MaxConns, "max-conns", DefaultMaxConns, "close connections beyond this many open at once")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", DefaultReadTimeout, "close a connection that sends nothing for this long")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", DefaultWriteTimeout, "close a connection that does not read its echo for this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage+"\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		logger.Printf("unexpected arguments %q", fs.Args())
		return 2
	}
	if cfg.IdleExit < 0 || cfg.MaxConns <= 0 || cfg.ReadTimeout <= 0 || cfg.WriteTimeout <= 0 {
		logger.Printf("--idle-exit must be >= 0; --max-conns, --read-timeout and --write-timeout > 0")
		return 2
	}

	socks, err := Inherited()
	if err != nil {
		logger.Print(err)
		return 1
	}
	for _, spec := range listens {
		s, err := ListenOn(spec)
		if err != nil {
			closeAll(socks)
			logger.Print(err)
			if errors.Is(err, ErrBadListen) {
				return 2
			}
			return 1
		}
		socks = append(socks, s)
	}
	if len(socks) == 0 {
		logger.Print("no sockets: LISTEN_FDS is not set and no --listen was given\n\n" + Usage)
		return 2
	}

	cfg.Logf = logger.Printf
	cfg.Notify = func(state string) { _, _ = daemon.SdNotify(false, state) }
	start := time.Now()
	err = NewServer(cfg, socks).Run(ctx)
	if errors.Is(err, ErrNoSockets) {
		logger.Printf("none of the %d fds is a socket it can serve (stream, datagram or seqpacket over inet, inet6, unix or vsock)", len(socks))
		return 2
	}
	if err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("ran for %v", time.Since(start).Round(time.Millisecond))
	return 0
}
