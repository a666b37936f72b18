// Package screen draws full-screen frames on a terminal only when they
// change, and does nothing in between.
//
// It replaces Bubble Tea v1's standard renderer for socktui, which runs a
// ticker at its frame rate for the program's whole life and, on every tick,
// copies the last frame and compares it with the one before, changed or
// not. The wake-ups are the cost: on a 2-core VM a bare 40 Hz ticker alone
// uses 0.6 % of a core, and socktui idled at 0.5-0.9 % (1.15 % on a fresh
// machine) with 1,000 units and nothing happening. A Screen has no ticker:
// Show hands it a frame, and its goroutine writes the lines that differ from
// what the terminal shows, at most once per frame interval, then blocks
// until the next frame that differs. BenchmarkIdleCPU in package ui
// measures both; TestMatchesStandardRenderer cross-checks the screens they
// draw.
//
// A Screen owns the alternate screen, the cursor's visibility and
// bracketed paste while it runs: Start turns them on, Stop restores them.
// Without its renderer Bubble Tea also leaves raw mode and the window size
// alone; Terminal does those.
package screen

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// Screen writes frames to a terminal. Its methods are safe for concurrent
// use; Show never blocks on the terminal.
type Screen struct {
	out      io.Writer
	interval time.Duration

	mu      sync.Mutex
	next    string // the newest frame handed to Show
	pending bool   // next is not written yet
	repaint bool   // the next write redraws every line
	width   int    // the terminal's width; 0 until Resize
	height  int

	shown []string // the lines the terminal shows, written by the goroutine only

	wake    chan struct{} // a frame is pending; capacity 1
	done    chan struct{} // closed by Stop
	stopped chan struct{} // closed when the goroutine has returned
	once    sync.Once
}

// New returns a Screen writing to out at most fps frames a second (60
// when fps < 1).
func New(out io.Writer, fps int) *Screen {
	if fps < 1 {
		fps = 60
	}
	return &Screen{
		out:      out,
		interval: time.Second / time.Duration(fps),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// Start switches the terminal to the alternate screen, hides the cursor,
// turns bracketed paste on, and starts writing frames.
func (s *Screen) Start() {
	io.WriteString(s.out, ansi.SetModeAltScreenSaveCursor+ansi.EraseEntireScreen+ansi.CursorHomePosition+
		ansi.HideCursor+ansi.SetModeBracketedPaste)
	go s.run()
}

// Show hands the screen a frame: lines separated by "\n", each at most the
// terminal's width. A frame equal to the last one is dropped; otherwise it
// is written soon, unless a newer one replaces it first.
func (s *Screen) Show(frame string) {
	s.mu.Lock()
	if frame == s.next && !s.repaint {
		s.mu.Unlock()
		return
	}
	s.next, s.pending = frame, true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already queued
	}
}

// Resize tells the screen the terminal's size; the next frame redraws
// every line.
func (s *Screen) Resize(width, height int) {
	s.mu.Lock()
	s.width, s.height, s.repaint = width, height, true
	s.mu.Unlock()
}

// Stop stops writing frames (a frame not yet written is dropped), then
// turns bracketed paste off, shows the cursor and leaves the alternate
// screen. It may be called more than once.
func (s *Screen) Stop() {
	s.once.Do(func() {
		close(s.done)
		<-s.stopped
		io.WriteString(s.out, ansi.ResetModeBracketedPaste+ansi.ShowCursor+ansi.ResetModeAltScreenSaveCursor)
	})
}

// run writes pending frames until Stop, at most one per interval. It blocks
// on wake while nothing changes: no timer runs while idle.
func (s *Screen) run() {
	defer close(s.stopped)
	pause := time.NewTimer(s.interval)
	pause.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		if !s.flush() {
			continue
		}
		pause.Reset(s.interval)
		select {
		case <-s.done:
			pause.Stop()
			return
		case <-pause.C:
		}
	}
}

// flush writes the pending frame, if any, and reports whether it wrote.
func (s *Screen) flush() bool {
	s.mu.Lock()
	frame, pending, repaint, width, height := s.next, s.pending, s.repaint, s.width, s.height
	s.pending, s.repaint = false, false
	s.mu.Unlock()
	if !pending {
		return false
	}
	if repaint {
		s.shown = nil
	}
	out := diff(s.shown, frame, width, height, repaint)
	s.shown = lines(frame, height)
	if out != "" {
		io.WriteString(s.out, out)
	}
	return true
}

// lines is frame's lines, the last height of them when height > 0 (as
// Bubble Tea's renderer keeps them).
func lines(frame string, height int) []string {
	ls := strings.Split(frame, "\n")
	if height > 0 && len(ls) > height {
		ls = ls[len(ls)-height:]
	}
	return ls
}

// diff is what turns a terminal showing old into one showing frame: each
// line that changed is written in place and erased to its end, lines that
// are gone are erased; repaint clears the screen first. A line as wide as
// the terminal is not erased after, as that would erase its last cell.
func diff(old []string, frame string, width, height int, repaint bool) string {
	var b strings.Builder
	if repaint {
		b.WriteString(ansi.EraseEntireScreen)
	}
	next := lines(frame, height)
	for i, line := range next {
		if i < len(old) && old[i] == line {
			continue
		}
		if width > 0 {
			line = ansi.Truncate(line, width, "") // a wider line would wrap
		}
		b.WriteString(ansi.CursorPosition(1, i+1))
		b.WriteString(line)
		b.WriteString(ansi.ResetStyle)
		if width == 0 || ansi.StringWidth(line) < width {
			b.WriteString(ansi.EraseLineRight)
		}
	}
	for i := len(next); i < len(old); i++ {
		b.WriteString(ansi.CursorPosition(1, i+1) + ansi.EraseLineRight)
	}
	return b.String()
}

// Terminal is the terminal a Screen draws on while Bubble Tea runs without
// its renderer, which then leaves the terminal alone: raw mode for the
// keys, and the size, which it would have read and watched.
type Terminal struct {
	in, out  *os.File
	inState  *term.State
	sizes    chan os.Signal
	stopOnce sync.Once
}

// OpenTerminal puts in into raw mode when it is a terminal. Close
// restores it.
func OpenTerminal(in, out *os.File) (*Terminal, error) {
	t := &Terminal{in: in, out: out}
	if term.IsTerminal(in.Fd()) {
		st, err := term.MakeRaw(in.Fd())
		if err != nil {
			return nil, fmt.Errorf("raw mode: %w", err)
		}
		t.inState = st
	}
	return t, nil
}

// WatchSize calls resized with the output terminal's size now and after
// every change, until Close. It does nothing when out is not a terminal.
func (t *Terminal) WatchSize(resized func(width, height int)) {
	if !term.IsTerminal(t.out.Fd()) {
		return
	}
	t.sizes = make(chan os.Signal, 1)
	signal.Notify(t.sizes, syscall.SIGWINCH)
	go func() {
		for {
			if w, h, err := term.GetSize(t.out.Fd()); err == nil {
				resized(w, h)
			}
			if _, ok := <-t.sizes; !ok {
				return
			}
		}
	}()
}

// Close stops watching the size and restores the input's mode.
func (t *Terminal) Close() {
	t.stopOnce.Do(func() {
		if t.sizes != nil {
			signal.Stop(t.sizes)
			close(t.sizes)
		}
		if t.inState != nil {
			term.Restore(t.in.Fd(), t.inState)
		}
	})
}
