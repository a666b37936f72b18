package systemdbus_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/socktui/socktui/sandbox/sandboxtest"
	"github.com/socktui/socktui/systemdbus"
)

// TestPatternsMatchAsSystemd cross-checks MatchPattern with the matching it
// replaces, systemd's own: for names that systemd-escape writes
// ("my\x2dapp.socket") and many patterns, the sockets ListSockets gets from
// the manager (ListUnitsByPatterns, fnmatch on the server) are exactly those
// MatchPattern selects from the whole listing.
func TestPatternsMatchAsSystemd(t *testing.T) {
	s := sandboxtest.Start(t)
	c := connect(t, s)
	ctx := testCtx(t)

	dir := filepath.Join(s.Home, "match")
	units := map[string]string{
		"socktui-match.service": "[Service]\nExecStart=/bin/sleep infinity\n",
		"web@.socket":           "[Socket]\nListenStream=" + dir + "/web-%i.sock\nService=socktui-match.service\n",
	}
	names := []string{`my\x2dapp`, "my-app", `my\x2dapp\x2dtwo`, "my_app2", "my:app", "my.app", `My\x5capp`, `a\x2eb`}
	for i, n := range names {
		units[n+".socket"] = fmt.Sprintf("[Socket]\nListenStream=%s/%d.sock\nService=socktui-match.service\n", dir, i)
	}
	sandboxtest.InstallUnits(t, s, units)
	start := []string{"start", "web@1.socket"}
	for _, n := range names {
		start = append(start, n+".socket")
	}
	sandboxtest.Systemctl(t, s, start...)

	all, err := c.ListSockets(ctx, systemdbus.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var universe []string
	for _, sk := range all {
		universe = append(universe, sk.Unit)
	}
	for _, n := range append(names, "web@1") {
		if !slices.Contains(universe, n+".socket") {
			t.Fatalf("%s.socket is not in the listing %q", n, universe)
		}
	}

	patterns := []string{
		`my\x2dapp`, `my\x2dapp.socket`, "my-app", `my\x2d*`, `my\*`, `*\x2d*`, `my?x2d*`, `my[\]x2d*`,
		"my[!a]x2d*", "my[^a]x2d*", "m[x-z]*", "m[]y]*", "*[[:punct:]]app*", "[[:upper:]]*", "web@*", "web@1",
		"*@*", "*.socket", "my[[:alpha:]]app", `a\x2eb`, "a.b", `*\x5c*`, `*\\*`, "my*app*",
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, u := range universe {
		for range 8 {
			if p := mutate(rng, u); systemdbus.CheckPattern(p) == nil {
				patterns = append(patterns, p)
			}
		}
	}

	matched := 0
	for _, p := range patterns {
		socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{p}})
		if err != nil {
			t.Fatalf("ListSockets(%q): %v", p, err)
		}
		var got []string
		for _, sk := range socks {
			got = append(got, sk.Unit)
		}
		var want []string
		for _, u := range universe {
			if systemdbus.MatchPattern(systemdbus.SocketName(p), u) {
				want = append(want, u)
			}
		}
		if len(got) > 0 {
			matched++
		}
		if !slices.Equal(got, want) {
			t.Errorf("pattern %q: systemd matches %q, MatchPattern %q", p, got, want)
		}
	}
	t.Logf("%d patterns over %d sockets, %d matching some", len(patterns), len(universe), matched)

	// The escaped name is a name: it selects its unit and nothing else.
	socks, err := c.ListSockets(ctx, systemdbus.ListOptions{Patterns: []string{`my\x2dapp`}})
	if err != nil || len(socks) != 1 || socks[0].Unit != `my\x2dapp.socket` {
		t.Errorf(`ListSockets(my\x2dapp) = %+v, %v; want my\x2dapp.socket alone`, socks, err)
	}
}

// mutate turns a unit name into a pattern that may or may not match it:
// bytes become "?", "*" or sets of many kinds.
func mutate(rng *rand.Rand, name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := string(name[i])
		switch r := rng.IntN(20); {
		case r == 0:
			b.WriteString("?")
		case r == 1:
			b.WriteString("*")
			i += rng.IntN(3)
		case r == 2:
			b.WriteString("[" + c + "]")
		case r == 3:
			b.WriteString("[!" + c + "]")
		case r == 4:
			b.WriteString([]string{"[a-z]", "[[:alpha:]]", "[[:punct:]]", "[^x]", `[\]`, "[]a-c]", "[[:digit:].]"}[rng.IntN(7)])
		default:
			b.WriteString(c)
		}
	}
	return b.String()
}
