package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	out := `goos: linux
BenchmarkWarmEcho/tcp4-2         	    3000	    123456 ns/op	     61000 floor-ns/rtt	     70150 probe-ns/rtt	         1.150 probe/floor
BenchmarkListVsSystemctl-2   	       1	9000000000 ns/op	        42.50 socktui-ms	 0.3100 socktui/systemctl	       137.0 systemctl-ms
BenchmarkBroken-2 --- FAIL: something
BenchmarkColdActivation 	       1	         0 ns/op	        26.60 bare-ms
PASS
`
	got := Parse(out)
	cases := []struct {
		bench, metric string
		want          float64
	}{
		{"BenchmarkWarmEcho/tcp4", "probe/floor", 1.15},
		{"BenchmarkWarmEcho/tcp4", "floor-ns/rtt", 61000},
		{"BenchmarkListVsSystemctl", "socktui/systemctl", 0.31},
		{"BenchmarkColdActivation", "bare-ms", 26.6},
	}
	for _, c := range cases {
		if v, ok := got[c.bench][c.metric]; !ok || v != c.want {
			t.Errorf("%s %s = %v (%v), want %v", c.bench, c.metric, v, ok, c.want)
		}
	}
	three := Parse("BenchmarkX-2 1 1 ns/op 0.9 x-floor\nBenchmarkX-2 1 1 ns/op 1.3 x-floor\nBenchmarkX-2 1 1 ns/op 1.0 x-floor\n")
	if v := three["BenchmarkX"]["x-floor"]; v != 1.0 {
		t.Errorf("median of 0.9, 1.3, 1.0 = %v, want 1.0", v)
	}
	if _, ok := got["BenchmarkBroken"]; ok {
		t.Error("a failed benchmark line was parsed as a result")
	}
}

func TestGoalMet(t *testing.T) {
	cases := []struct {
		g    goal
		v    float64
		want string
	}{
		{goal{max: 0.5}, 0.31, "yes"},
		{goal{max: 0.5}, 0.51, "no"},
		{goal{min: 0.9}, 0.95, "yes"},
		{goal{min: 0.9}, 0.85, "no"},
		{goal{}, 12, ""},
	}
	for _, c := range cases {
		if got := c.g.met(c.v); got != c.want {
			t.Errorf("%+v.met(%v) = %q, want %q", c.g, c.v, got, c.want)
		}
	}
}

func TestRender(t *testing.T) {
	res := Parse("BenchmarkWarmEcho/tcp4-2 3000 1 ns/op 61000 floor-ns/rtt 70150 probe-ns/rtt 1.150 probe/floor\n")
	rs := []row{
		{what: "warm tcp4", bench: "BenchmarkWarmEcho/tcp4", metric: "probe/floor", ours: "probe-ns/rtt",
			peer: "floor-ns/rtt", goal: goal{max: 1.5, text: "<= 1.5x"}, precision: 2},
		{what: "missing", bench: "BenchmarkNope", metric: "x", goal: goal{text: "< 1"}},
	}
	got := Render(res, rs, "testhost", time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC))
	for _, want := range []string{
		"| warm tcp4 | 1.15x | 70.2µs | 61µs | <= 1.5x | yes |",
		"| missing | (not measured) | | | < 1 | |",
		"on testhost",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render lacks %q:\n%s", want, got)
		}
	}
}

// Every row must name a benchmark that one of the runs selects, or make
// bench would print "(not measured)" for it forever. It matches as go test
// does: the -bench pattern split at '/', one part a level.
func TestRowsHaveRuns(t *testing.T) {
	selects := func(pattern, name string) bool {
		pats, parts := strings.Split(pattern, "/"), strings.Split(name, "/")
		for i, p := range pats {
			if i >= len(parts) {
				break
			}
			if !regexp.MustCompile(p).MatchString(parts[i]) {
				return false
			}
		}
		return true
	}
	for _, r := range rows {
		found := false
		for _, rn := range runs {
			found = found || selects(rn.bench, r.bench)
		}
		if !found {
			t.Errorf("row %q: no run selects %s", r.what, r.bench)
		}
	}
}
