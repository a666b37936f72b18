// Package stats summarises measured samples: percentiles of durations,
// for `socktui bench` and the benchmarks. It is pure: no I/O, no clock.
package stats

import (
	"math"
	"slices"
	"time"
)

// Percentile is the nearest-rank p-th percentile of ds (p in [0, 1]): the
// smallest sample such that at least a fraction p of the samples are at or
// below it. Percentile(ds, 0.5) is the lower median, Percentile(ds, 1) the
// largest sample and Percentile(ds, 0) the smallest. It is 0 for no
// samples; p outside [0, 1] is clamped. ds is not modified.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return percentileSorted(s, p)
}

// percentileSorted is Percentile of samples already sorted.
func percentileSorted(s []time.Duration, p float64) time.Duration {
	p = min(max(p, 0), 1)
	rank := int(math.Ceil(p * float64(len(s)))) // 1-based
	return s[max(rank, 1)-1]
}

// Summary is the distribution of a set of samples.
type Summary struct {
	N             int
	Min, P50, P90 time.Duration
	Max           time.Duration
}

// Summarize is the Summary of ds (Percentile's definition); the zero
// Summary for no samples. ds is not modified.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Summary{N: len(s), Min: s[0], P50: percentileSorted(s, 0.5), P90: percentileSorted(s, 0.9), Max: s[len(s)-1]}
}
