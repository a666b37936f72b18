package podmancmd

// The tables below are podman v5.8.2's option sets (see the package
// comment for how they were read). To follow a newer podman, list its
// flag sets the same way and replace them; the tests name the options
// socktui relies on.

// optionSet is one podman command's options, as its pflag set defines them.
type optionSet struct {
	// long maps each long option name to whether it takes a value. An
	// option that takes none is a boolean (pflag's NoOptDefVal "true"): it
	// never takes the next word, and accepts --opt=false.
	long map[string]bool
	// short maps each one-letter form to its long name.
	short map[byte]string
	// alias maps an old long name to the one it stands for (podman's flag
	// normalizer, cmd/podman/utils.AliasFlags for run, create and restart).
	alias map[string]string
}

// runAliases is cmd/podman/utils.AliasFlags.
var runAliases = map[string]string{
	"dns-opt":                  "dns-option",
	"healthcheck-command":      "health-cmd",
	"healthcheck-interval":     "health-interval",
	"healthcheck-retries":      "health-retries",
	"healthcheck-start-period": "health-start-period",
	"healthcheck-timeout":      "health-timeout",
	"net":                      "network",
	"namespace":                "ns",
	"storage":                  "external",
	"notruncate":               "no-trunc",
	"override-arch":            "arch",
	"override-os":              "os",
	"override-variant":         "variant",
}

// rootAliases is the root command's normalizer (cmd/podman/root.go).
var rootAliases = map[string]string{"cni-config-dir": "network-config-dir"}

// globalOptions are the options of podman itself, before its command (root's own and persistent
// flags, with cobra's --help and --version).
var globalOptions = optionSet{
	long: map[string]bool{
		// Options that take a value.
		"cdi-spec-dir": true, "cgroup-manager": true, "config": true, "conmon": true, "connection": true,
		"context": true, "cpu-profile": true, "db-backend": true, "default-mounts-file": true,
		"events-backend": true, "hooks-dir": true, "host": true, "identity": true, "imagestore": true,
		"log-level": true, "max-workers": true, "memory-profile": true, "module": true, "namespace": true,
		"network-backend": true, "network-cmd-path": true, "network-config-dir": true, "out": true,
		"pull-option": true, "registries-conf": true, "root": true, "runroot": true, "runtime": true,
		"runtime-flag": true, "ssh": true, "storage-driver": true, "storage-opt": true, "tls-ca": true,
		"tls-cert": true, "tls-key": true, "tmpdir": true, "url": true, "volumepath": true,
		// Options that take none (booleans: --opt or --opt=false).
		"debug": false, "help": false, "noout": false, "remote": false, "syslog": false, "trace": false,
		"transient-store": false, "version": false,
	},
	short: map[byte]string{'D': "debug", 'H': "host", 'c': "connection", 'h': "help", 'r': "remote", 'v': "version"},
	alias: rootAliases,
}

// persistentOptions are podman's persistent flags, which every command also accepts.
var persistentOptions = optionSet{
	long: map[string]bool{
		// Options that take a value.
		"cdi-spec-dir": true, "cgroup-manager": true, "conmon": true, "cpu-profile": true, "db-backend": true,
		"default-mounts-file": true, "events-backend": true, "hooks-dir": true, "imagestore": true,
		"log-level": true, "max-workers": true, "memory-profile": true, "namespace": true, "network-backend": true,
		"network-cmd-path": true, "network-config-dir": true, "pull-option": true, "registries-conf": true,
		"root": true, "runroot": true, "runtime": true, "runtime-flag": true, "storage-driver": true,
		"storage-opt": true, "tmpdir": true, "volumepath": true,
		// Options that take none (booleans: --opt or --opt=false).
		"help": false, "syslog": false, "trace": false, "transient-store": false,
	},
}

// runOptions are the options of podman run and podman create (the union: create lacks -d,
// --detach-keys, --passwd, --preserve-fd, --preserve-fds, --rmi and --sig-proxy; run lacks
// --init-ctr).
var runOptions = optionSet{
	long: map[string]bool{
		// Options that take a value.
		"add-host": true, "annotation": true, "arch": true, "attach": true, "authfile": true, "blkio-weight": true,
		"blkio-weight-device": true, "cap-add": true, "cap-drop": true, "cert-dir": true, "cgroup-conf": true,
		"cgroup-parent": true, "cgroupns": true, "cgroups": true, "chrootdirs": true, "cidfile": true,
		"conmon-pidfile": true, "cpu-period": true, "cpu-quota": true, "cpu-rt-period": true,
		"cpu-rt-runtime": true, "cpu-shares": true, "cpus": true, "cpuset-cpus": true, "cpuset-mems": true,
		"creds": true, "decryption-key": true, "detach-keys": true, "device": true, "device-cgroup-rule": true,
		"device-read-bps": true, "device-read-iops": true, "device-write-bps": true, "device-write-iops": true,
		"dns": true, "dns-option": true, "dns-search": true, "entrypoint": true, "env": true, "env-file": true,
		"env-merge": true, "expose": true, "gidmap": true, "gpus": true, "group-add": true, "group-entry": true,
		"health-cmd": true, "health-interval": true, "health-log-destination": true, "health-max-log-count": true,
		"health-max-log-size": true, "health-on-failure": true, "health-retries": true,
		"health-start-period": true, "health-startup-cmd": true, "health-startup-interval": true,
		"health-startup-retries": true, "health-startup-success": true, "health-startup-timeout": true,
		"health-timeout": true, "hostname": true, "hosts-file": true, "hostuser": true, "image-volume": true,
		"init-ctr": true, "init-path": true, "ip": true, "ip6": true, "ipc": true, "kernel-memory": true,
		"label": true, "label-file": true, "log-driver": true, "log-opt": true, "mac-address": true,
		"memory": true, "memory-reservation": true, "memory-swap": true, "memory-swappiness": true, "mount": true,
		"name": true, "network": true, "network-alias": true, "oom-score-adj": true, "os": true,
		"passwd-entry": true, "personality": true, "pid": true, "pidfile": true, "pids-limit": true,
		"platform": true, "pod": true, "pod-id-file": true, "preserve-fd": true, "preserve-fds": true,
		"publish": true, "pull": true, "rdt-class": true, "requires": true, "restart": true, "retry": true,
		"retry-delay": true, "sdnotify": true, "seccomp-policy": true, "secret": true, "security-opt": true,
		"shm-size": true, "shm-size-systemd": true, "signature-policy": true, "stop-signal": true,
		"stop-timeout": true, "subgidname": true, "subuidname": true, "sysctl": true, "systemd": true,
		"timeout": true, "tmpfs": true, "tz": true, "uidmap": true, "ulimit": true, "umask": true,
		"unsetenv": true, "user": true, "userns": true, "uts": true, "variant": true, "volume": true,
		"volumes-from": true, "workdir": true,
		// Options that take none (booleans: --opt or --opt=false).
		"detach": false, "disable-content-trust": false, "env-host": false, "help": false, "http-proxy": false,
		"init": false, "interactive": false, "no-healthcheck": false, "no-hostname": false, "no-hosts": false,
		"oom-kill-disable": false, "passwd": false, "privileged": false, "publish-all": false, "quiet": false,
		"read-only": false, "read-only-tmpfs": false, "replace": false, "rm": false, "rmi": false, "rootfs": false,
		"sig-proxy": false, "tls-verify": false, "tty": false, "unsetenv-all": false,
	},
	short: map[byte]string{
		'P': "publish-all", 'a': "attach", 'c': "cpu-shares", 'd': "detach", 'e': "env", 'h': "hostname", 'i': "interactive", 'l': "label",
		'm': "memory", 'p': "publish", 'q': "quiet", 't': "tty", 'u': "user", 'v': "volume", 'w': "workdir",
	},
	alias: runAliases,
}

// startOptions are the options of podman start.
var startOptions = optionSet{
	long: map[string]bool{
		// Options that take a value.
		"detach-keys": true, "filter": true,
		// Options that take none (booleans: --opt or --opt=false).
		"all": false, "attach": false, "help": false, "interactive": false, "latest": false, "sig-proxy": false,
	},
	short: map[byte]string{'a': "attach", 'f': "filter", 'h': "help", 'i': "interactive", 'l': "latest"},
}

// restartOptions are the options of podman restart.
var restartOptions = optionSet{
	long: map[string]bool{
		// Options that take a value.
		"cidfile": true, "filter": true, "time": true,
		// Options that take none (booleans: --opt or --opt=false).
		"all": false, "help": false, "latest": false, "running": false,
	},
	short: map[byte]string{'a': "all", 'f': "filter", 'h': "help", 'l': "latest", 't': "time"},
	alias: runAliases,
}
