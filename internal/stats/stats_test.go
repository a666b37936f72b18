package stats

import (
	"slices"
	"testing"
	"time"
)

func ms(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	twenty := ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
	tests := []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one", ms(7), 0.5, 7 * time.Millisecond},
		{"one p0", ms(7), 0, 7 * time.Millisecond},
		{"lower median of two", ms(9, 3), 0.5, 3 * time.Millisecond},
		{"median of three", ms(5, 1, 3), 0.5, 3 * time.Millisecond},
		{"p50 of 20", twenty, 0.5, 10 * time.Millisecond},
		{"p90 of 20", twenty, 0.9, 18 * time.Millisecond},
		{"p95 of 20", twenty, 0.95, 19 * time.Millisecond},
		{"p100 of 20", twenty, 1, 20 * time.Millisecond},
		{"p0 of 20", twenty, 0, 1 * time.Millisecond},
		{"p90 of 7: rank 7", ms(1, 2, 3, 4, 5, 6, 7), 0.9, 7 * time.Millisecond},
		{"p90 of 10: rank 9", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Millisecond},
		{"clamped above", ms(1, 2), 1.5, 2 * time.Millisecond},
		{"clamped below", ms(1, 2), -1, 1 * time.Millisecond},
		{"ties", ms(4, 4, 4, 1), 0.5, 4 * time.Millisecond},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.ds)
		if got := Percentile(tt.ds, tt.p); got != tt.want {
			t.Errorf("%s: Percentile(%v, %v) = %v, want %v", tt.name, tt.ds, tt.p, got, tt.want)
		}
		if !slices.Equal(in, tt.ds) {
			t.Errorf("%s: Percentile reordered its input: %v", tt.name, tt.ds)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		ds   []time.Duration
		want Summary
	}{
		{nil, Summary{}},
		{ms(3), Summary{N: 1, Min: 3 * time.Millisecond, P50: 3 * time.Millisecond, P90: 3 * time.Millisecond, Max: 3 * time.Millisecond}},
		{ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), Summary{N: 10, Min: 1 * time.Millisecond, P50: 5 * time.Millisecond,
			P90: 9 * time.Millisecond, Max: 10 * time.Millisecond}},
	}
	for _, tt := range tests {
		if got := Summarize(tt.ds); got != tt.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tt.ds, got, tt.want)
		}
	}
}
