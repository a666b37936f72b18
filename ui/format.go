package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/socktui/socktui/internal/human"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// This file holds the pure rendering helpers: no model, no styles, no I/O.

// stateBadge is the state of a socket as text in brackets, so it reads the
// same without colour: "[active]". An empty state reads "[unknown]".
func stateBadge(s unit.State) string {
	if s == "" {
		return "[unknown]"
	}
	return "[" + termtext.Clean(string(s)) + "]"
}

// badgeWidth is the widest badge stateBadge returns for a known state.
const badgeWidth = len("[activating]")

// listenEntry is one Listen entry in short form: "tcp4 127.0.0.1:3100".
func listenEntry(l unit.Listen) string {
	return string(l.Network()) + " " + termtext.Clean(l.Address)
}

// listenSummary is the short form of a socket's endpoints for the list:
// the first max entries and how many more there are, for example
// "tcp4 127.0.0.1:3100, tcp6 [::1]:3100 +5". No entries read "-".
func listenSummary(ls []unit.Listen, max int) string {
	if len(ls) == 0 {
		return "-"
	}
	if max < 1 {
		max = 1
	}
	var b strings.Builder
	for i, l := range ls {
		if i == max {
			fmt.Fprintf(&b, " +%d", len(ls)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(listenEntry(l))
	}
	return b.String()
}

// fitListen fits a listenSummary into w cells. A long address loses its
// start, not its end: the end of a path names the socket
// ("unix …/gnupg/S.dirmngr"), and the network name and the count of
// further entries ("+6") stay.
func fitListen(summary string, w int) string {
	if textWidth(summary) <= w {
		return summary
	}
	rest, more := summary, ""
	if i := strings.LastIndex(summary, " +"); i > 0 && !strings.Contains(summary[i+2:], " ") {
		rest, more = summary[:i], summary[i:]
	}
	network, addr, ok := strings.Cut(rest, " ")
	keep := w - textWidth(network) - textWidth(" …") - textWidth(more)
	if !ok || keep < 4 {
		return truncate(summary, w)
	}
	return network + " …" + ansi.TruncateLeft(addr, textWidth(addr)-keep, "") + more
}

// formatClock is a timeline timestamp to the millisecond: "15:04:05.000".
func formatClock(t time.Time) string {
	return t.Format("15:04:05.000")
}

// probeSummary is the list's probe column: "6/7 ok", or "" before any probe.
func probeSummary(ok, total int) string {
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d ok", ok, total)
}

// resultText describes one probe result for the detail pane:
// "ok 1.2 ms warm", "timeout 5.0 s cold: i/o timeout".
func resultText(r probe.Result) string {
	var b strings.Builder
	b.WriteString(termtext.Clean(string(r.Outcome)))
	if r.RTT > 0 {
		b.WriteString(" " + human.Duration(r.RTT))
	}
	if r.Cold {
		b.WriteString(" cold")
	} else {
		b.WriteString(" warm")
	}
	if r.Status != "" {
		b.WriteString(" " + termtext.Clean(r.Status))
	}
	if r.Error != "" {
		b.WriteString(": " + termtext.Clean(r.Error))
	}
	return b.String()
}

// truncate cuts s to at most w cells, marking the cut with "…".
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// pad truncates or right-pads s with spaces to exactly w cells.
func pad(s string, w int) string {
	s = truncate(s, w)
	if n := ansi.StringWidth(s); n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}
