package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// tmux drives the real binary in a detached tmux session and reads its
// screen, as a person would.
//
// Keys are typed one at a time, each once the screen shows the effect of
// the one before. A terminal's input has no key boundaries: Bubble Tea
// parses each read of the terminal on its own, so keys that reach it in
// one read are one message. Escape and then "/" is Alt+/, which matches no
// binding, and a key typed before the UI read the one before lands in the
// same read whenever the UI is slow to run (a loaded machine). Waiting for
// the effect is a condition, not a moment: the UI has read the key once it
// drew what the key did.
type tmux struct {
	t       *testing.T
	session string
}

func (x *tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (x *tmux) screen() string {
	out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", x.session).CombinedOutput()
	return string(out)
}

func (x *tmux) alive() bool {
	return exec.Command("tmux", "has-session", "-t", x.session).Run() == nil
}

func (x *tmux) keys(keys ...string) {
	x.t.Helper()
	x.run(append([]string{"send-keys", "-t", x.session}, keys...)...)
}

// waitFor polls the screen until every pattern matches, or fails the test
// with the last screen.
func (x *tmux) waitFor(what string, timeout time.Duration, patterns ...*regexp.Regexp) string {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := x.screen()
		missing := ""
		for _, p := range patterns {
			if !p.MatchString(s) {
				missing = p.String()
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) || !x.alive() {
			x.t.Fatalf("waiting for %s: %q never matched; screen:\n%s", what, missing, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quit presses q and waits for the UI to end, failing the test if the
// program does not exit promptly or exits with a non-zero status.
func (x *tmux) quit(timeout time.Duration) {
	x.t.Helper()
	// remain-on-exit keeps the pane so that its exit status can be read.
	x.run("set-option", "-t", x.session, "remain-on-exit", "on")
	x.keys("q")
	deadline := time.Now().Add(timeout)
	for {
		out, err := exec.Command("tmux", "display-message", "-p", "-t", x.session, "#{pane_dead} #{pane_dead_status}").CombinedOutput()
		if err != nil {
			x.t.Fatalf("reading the pane's state: %v\n%s", err, out)
		}
		var dead, status int
		fmt.Sscan(string(out), &dead, &status)
		if dead == 1 {
			if status != 0 {
				x.t.Errorf("socktui exited with status %d after q; screen:\n%s", status, x.screen())
			}
			exec.Command("tmux", "kill-session", "-t", x.session).Run()
			return
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("socktui did not exit within %s of q; screen:\n%s", timeout, x.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listTitleRE is the list pane's title line, focused ("▸ [Sockets 3]") or
// not ("─ Sockets 3 ─"); a first full frame has it.
var listTitleRE = regexp.MustCompile(`(?m)^(?:▸ \[|─ )Sockets \d+.*$`)

// listTitle waits for a full frame and returns the list pane's title line.
func (x *tmux) listTitle(what string) string {
	x.t.Helper()
	return listTitleRE.FindString(x.waitFor(what, 60*time.Second, listTitleRE))
}

// filter narrows the UI's list to units containing text, which selects
// the first of them, so that the detail pane shows it. The list must have
// no filter (clearFilter removes one): "/" would reopen it for editing.
// Each key is typed once, after the screen shows the one before.
func (x *tmux) filter(text string) {
	x.t.Helper()
	if title := x.listTitle("a full frame before /"); strings.Contains(title, "filter:") {
		x.t.Fatalf("filter(%q): the list already has a filter (%q); clear it first", text, title)
	}
	x.keys("/")
	x.waitFor("the empty filter prompt after /", 30*time.Second, regexp.MustCompile(`Sockets \d+[^\n]* · filter: █`))
	x.keys("-l", text)
	x.waitFor("the text in the filter prompt", 30*time.Second, regexp.MustCompile(`filter: `+regexp.QuoteMeta(text)+`█`))
	x.keys("Enter")
	x.waitFor("the filter kept, its first unit selected", 30*time.Second,
		regexp.MustCompile(`filter: `+regexp.QuoteMeta(text)+` \(esc clears\)`),
		// The selected row: "> ", or ">" and the doctor's mark.
		regexp.MustCompile(`>[ ✗!i]`+regexp.QuoteMeta(text)))
}

// clearFilter presses Escape once to clear the list's filter and waits
// until it is gone. The list must have the keyboard (Escape in another pane
// only moves the focus back) and a filter whose prompt is closed.
func (x *tmux) clearFilter() {
	x.t.Helper()
	title := x.listTitle("a full frame before Escape")
	if !strings.HasPrefix(title, "▸ [") || !strings.Contains(title, "(esc clears)") {
		x.t.Fatalf("clearFilter: want the focused list with a kept filter, title %q", title)
	}
	x.keys("Escape")
	x.waitGone("the filter after Escape", 30*time.Second, regexp.MustCompile(`Sockets \d+[^\n]* · filter:`))
}

// waitGone polls the screen until pattern no longer matches.
func (x *tmux) waitGone(what string, timeout time.Duration, pattern *regexp.Regexp) string {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := x.screen()
		if !pattern.MatchString(s) {
			return s
		}
		if time.Now().After(deadline) || !x.alive() {
			x.t.Fatalf("waiting for %s: %q still matches; screen:\n%s", what, pattern, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startUI starts argv (the binary and its arguments) in a detached tmux
// session on a width x height terminal, with only the environment env (less
// any TMUX variables) and TERM, through run: the command that runs a
// program with only the environment it is given (`env -i` when nil; for
// example s.AsUser("env", "-i") for a rootless sandbox's user). The
// program's stderr goes to a file, whose path it returns. The session ends
// with the test, which then logs the last screen and that stderr.
func startUI(t *testing.T, width, height int, run, env []string, argv ...string) (*tmux, string) {
	t.Helper()
	sandboxtest.Need(t, "tmux", "tmux")
	if run == nil {
		run = []string{"env", "-i"}
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "stderr")
	var script strings.Builder
	script.WriteString("#!/bin/sh\nexec")
	for _, a := range run {
		script.WriteString(" " + shellQuote(a))
	}
	for _, kv := range append(env, "TERM=xterm-256color") {
		if !strings.HasPrefix(kv, "TMUX") {
			script.WriteString(" " + shellQuote(kv))
		}
	}
	for _, a := range argv {
		script.WriteString(" " + shellQuote(a))
	}
	script.WriteString(" 2>" + shellQuote(log) + "\n")
	path := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(path, []byte(script.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	x := &tmux{t: t, session: fmt.Sprintf("socktui-ui-%d-%d", os.Getpid(), sessionSeq.Add(1))}
	x.run("new-session", "-d", "-s", x.session, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), path)
	x.endWithTest(log)
	return x, log
}

// endWithTest ends the session when the test ends, logging the screen
// if it still runs and the program's stderr (the file log) if it wrote
// any.
func (x *tmux) endWithTest(log string) {
	x.t.Cleanup(func() {
		if x.alive() {
			x.t.Logf("screen at cleanup:\n%s", x.screen())
			exec.Command("tmux", "kill-session", "-t", x.session).Run()
		}
		if b, err := os.ReadFile(log); err == nil && len(b) > 0 {
			x.t.Logf("socktui stderr:\n%s", b)
		}
	})
}

// shellQuote quotes s for sh, as one word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
