package unit

// The bundled echo workload, as other packages recognise it.
const (
	// EchoWorkload names socktui's bundled echo workload: its units, its
	// image and its stand-alone binary all start with it.
	EchoWorkload = "socktui-echo"
	// EchoSubcommand is socktui's hidden subcommand that runs the echo
	// workload in-process: `socktui echo-server [flags]`.
	EchoSubcommand = "echo-server"
)
