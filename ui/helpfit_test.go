package ui

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/socktui/socktui/unit"
)

// TestHelpShowsEveryKeyOnSmallTerminals: the help overlay shows every
// enabled key on the smallest terminals, with several hosts too, cutting
// descriptions rather than keys (at 60x24 it used to end at F, leaving
// the movement keys off screen; at 60x15 pgdn).
func TestHelpShowsEveryKeyOnSmallTerminals(t *testing.T) {
	hosts := func() []Host {
		return []Host{{Manager: &fakeManager{}, Prober: &fakeProber{}, Logs: &fakeLogs{}},
			{Name: "web1.example.com", Manager: &fakeManager{}, Prober: &fakeProber{}},
			{Name: "web2.example.com", Manager: &fakeManager{}},
			{Name: "db1", Manager: &fakeManager{}}}
	}
	for _, size := range [][2]int{{60, 15}, {60, 24}, {80, 24}, {120, 15}} {
		w, h := size[0], size[1]
		for _, cfg := range []Config{
			{Logs: &fakeLogs{}, InstallDemo: func(context.Context) error { return nil }},
			{Hosts: hosts()},
		} {
			m := newTestModel(t, cfg, w, h)
			for i := range hostsOf(cfg) {
				m, _ = apply(m, hostSnapshot(i, echoSocket(unit.StateIdle)))
			}
			m, _ = apply(m, keyMsg("?"))
			view := m.View()
			assertFrame(t, view, w, h)
			plain := ansi.Strip(view)
			for _, g := range m.keys.FullHelp() {
				for _, b := range g {
					if !b.Enabled() {
						continue
					}
					k := b.Help().Key
					re := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(k) + ` +\S`)
					if !re.MatchString(plain) {
						t.Errorf("%dx%d, %d hosts: help lacks %s (%s):\n%s", w, h, len(hostsOf(cfg)), k, b.Help().Desc, plain)
					}
				}
			}
			if strings.Count(plain, "\n")+1 != h {
				t.Errorf("%dx%d: %d lines", w, h, strings.Count(plain, "\n")+1)
			}
		}
	}
}
