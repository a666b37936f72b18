package ui

import "slices"

// column is one table column as shareWidth sees it.
type column struct {
	natural int // the widest cell, the header included
	min     int // the narrowest it may get before it is dropped; natural when it must never be cut
	drop    int // the order columns are dropped in, 1 first; 0: never dropped
	// optional: shown only when every column gets its natural width (what
	// it holds is shown elsewhere too); otherwise dropped before any column
	// shrinks.
	optional bool
}

// shareWidth fits columns into w cells with gap cells between two of them,
// by what they hold. When every column fits at its natural width, each gets
// it. Otherwise the optional columns go, and each column left starts at
// its minimum and the cells left over are
// shared out evenly, no column taking more than its natural width, so the
// columns that need little get all of it and the others split the rest.
// When even the minimums do not fit, columns are dropped in their drop
// order. A dropped column gets 0; the columns may leave cells unused but
// never need more than w unless no column is left to drop.
func shareWidth(cols []column, w, gap int) []int {
	widths := make([]int, len(cols))
	all := make([]bool, len(cols))
	for i := range all {
		all[i] = true
	}
	if span(cols, all, gap, natural) <= w {
		for i, c := range cols {
			widths[i] = c.natural
		}
		return widths
	}
	kept := keptColumns(cols, w, gap)
	spare := w - span(cols, kept, gap, minimum)
	var growing []int
	for i, c := range cols {
		if kept[i] {
			widths[i] = minimum(c)
			if c.natural > widths[i] {
				growing = append(growing, i)
			}
		}
	}
	// The column that needs least first: what it leaves goes to the others.
	slices.SortStableFunc(growing, func(a, b int) int {
		return (cols[a].natural - widths[a]) - (cols[b].natural - widths[b])
	})
	for n, i := range growing {
		share := spare / (len(growing) - n)
		if n == len(growing)-1 {
			share = spare
		}
		give := max(0, min(cols[i].natural-widths[i], share))
		widths[i] += give
		spare -= give
	}
	return widths
}

func natural(c column) int { return c.natural }
func minimum(c column) int { return min(c.min, c.natural) }

// span is the cells the kept columns take at width(c) each, with the gaps.
func span(cols []column, kept []bool, gap int, width func(column) int) int {
	total, n := 0, 0
	for i, c := range cols {
		if kept[i] {
			total += width(c)
			n++
		}
	}
	return total + gap*max(n-1, 0)
}

// keptColumns is which columns stay when they do not all fit at their
// natural widths: not the optional ones, and then, while the minimums do
// not fit in w, not the next in drop order.
func keptColumns(cols []column, w, gap int) []bool {
	kept := make([]bool, len(cols))
	for i, c := range cols {
		kept[i] = !c.optional
	}
	for span(cols, kept, gap, minimum) > w {
		next := -1
		for i, c := range cols {
			if kept[i] && c.drop > 0 && (next < 0 || c.drop < cols[next].drop) {
				next = i
			}
		}
		if next < 0 {
			break
		}
		kept[next] = false
	}
	return kept
}
