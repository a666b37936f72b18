package remote

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Wrapper writes, once, an executable script in the host's private folder
// that runs name on the remote host with the script's arguments, each
// quoted for the remote shell (see ShellQuote), over the master connection,
// and returns its path. It is for code that runs a program by path with
// arguments (journal.Reader.Journalctl, podman.Podman.Path): pointed at the
// wrapper, it runs the program on the remote host instead, unchanged. The
// script's standard streams are the remote program's; ssh's own failure is
// exit status 255, as with ssh.
func (h *Host) Wrapper(name string) (string, error) {
	if strings.ContainsAny(name, "/\x00") || name == "" {
		return "", fmt.Errorf("remote: wrapper %q: a program name, not a path", name)
	}
	path := filepath.Join(h.dir, "run-"+name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	words := []string{ShellQuote(h.opts.SSH[0])}
	for _, a := range h.baseArgs("-T", "-o", "ControlMaster=no", "--", h.target.Host) {
		words = append(words, ShellQuote(a))
	}
	// The remote command line: name, then each argument in single quotes
	// (a ' inside becomes '\'').
	script := fmt.Sprintf(`#!/bin/sh
# Written by socktui: runs %s on %s over ssh, each argument quoted.
q=%s
for a in "$@"; do
  q="$q '$(printf '%%s' "$a" | sed "s/'/'\\\\''/g")'"
done
exec %s "$q"
`, name, h.target, ShellQuote(ShellQuote(name)), strings.Join(words, " "))
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(script), 0o700); err != nil {
		return "", fmt.Errorf("remote: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("remote: %w", err)
	}
	return path, nil
}
