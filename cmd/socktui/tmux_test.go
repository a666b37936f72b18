package main_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmux drives the real binary in a detached tmux session and reads its
// screen, as a person would.
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

// appears polls the screen until pattern matches, for at most timeout.
func (x *tmux) appears(pattern *regexp.Regexp, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && x.alive(); time.Sleep(50 * time.Millisecond) {
		if pattern.MatchString(x.screen()) {
			return true
		}
	}
	return false
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

// filter narrows the UI's list to units containing text, which selects
// the first of them, so that the detail pane shows it.
func (x *tmux) filter(text string) {
	x.t.Helper()
	// Type only once the prompt is open. Under a loaded make test, a "/"
	// was once lost and the text went to the list as commands; it is
	// pressed again (twice at most) when no prompt opens.
	prompt := regexp.MustCompile(`filter: █`)
	for attempt := 1; ; attempt++ {
		x.keys("/")
		if x.appears(prompt, 3*time.Second) {
			break
		}
		if attempt == 3 {
			x.t.Fatalf("no filter prompt after / three times; screen:\n%s", x.screen())
		}
	}
	x.keys("-l", text)
	x.keys("Enter")
	x.waitFor("the filtered list", 30*time.Second, regexp.MustCompile(`> `+regexp.QuoteMeta(text)))
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
