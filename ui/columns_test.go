package ui

import (
	"slices"
	"testing"
)

func TestShareWidth(t *testing.T) {
	// The demo's list at 80 columns: unit, state, endpoints (two entries 41
	// cells, one 23), service, container, probe.
	demo := []column{
		{natural: 19, min: 19},
		{natural: 8, min: 8},
		{natural: 41, min: 23, drop: 3},
		{natural: 29, min: 16, drop: 2},
		{natural: 12, min: 12, drop: 1, optional: true},
		{natural: 6, min: 6},
	}
	tests := []struct {
		name string
		cols []column
		w    int
		want []int
	}{
		{"everything fits: natural widths", demo, 200, []int{19, 8, 41, 29, 12, 6}},
		{"exactly fits", demo, 120, []int{19, 8, 41, 29, 12, 6}},
		// 78 cells: the minimums with the container do not fit (89); without
		// it they do (76), and the 2 cells left go to the endpoints and the
		// service evenly.
		{"80 columns drop the container first", demo, 78, []int{19, 8, 24, 17, 0, 6}},
		{"an optional column goes before any other shrinks", demo, 118, []int{19, 8, 41, 29, 0, 6}},
		{"then the service", demo, 60, []int{19, 8, 24, 0, 0, 6}},
		{"then the endpoints", demo, 40, []int{19, 8, 0, 0, 0, 6}},
		{"never the columns without a drop order", demo, 20, []int{19, 8, 0, 0, 0, 6}},
		// The column that needs little gets all it needs, the others split
		// what is left.
		{"water-filling", []column{{natural: 30, min: 5}, {natural: 8, min: 5}, {natural: 30, min: 5}}, 40, []int{15, 8, 15}},
		{"min above natural is natural", []column{{natural: 4, min: 28}, {natural: 50, min: 10}}, 30, []int{4, 25}},
		{"an empty column with a drop order goes", []column{{natural: 10, min: 10}, {drop: 1}}, 9, []int{10, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shareWidth(tt.cols, tt.w, 1)
			if !slices.Equal(got, tt.want) {
				t.Errorf("shareWidth(w=%d) = %v, want %v", tt.w, got, tt.want)
			}
			used, n := 0, 0
			for _, c := range got {
				if c > 0 {
					used += c
					n++
				}
			}
			droppable := false
			for i, c := range tt.cols {
				droppable = droppable || (c.drop > 0 && got[i] > 0)
			}
			if used += max(n-1, 0); used > tt.w && droppable {
				t.Errorf("shareWidth(w=%d) takes %d cells while a column could still be dropped", tt.w, used)
			}
		})
	}
}
