// Package human formats measurements for people: the one way socktui
// prints a duration, in the CLI's tables, the UI and the doctor's
// evidence alike. It is pure.
package human

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration shows d with at most three significant digits, trailing zeros
// dropped, and its unit: "85 µs", "1.25 ms", "1.2 ms", "42.3 ms", "171 ms",
// "2.3 s", "5 s", "12.3 s", "4m05s", "2h03m". A negative d reads as zero.
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return decimal(ms, 2) + " ms"
	case d < 100*time.Millisecond:
		return decimal(ms, 1) + " ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 10*time.Second:
		return decimal(d.Seconds(), 2) + " s"
	case d < time.Minute:
		return decimal(d.Seconds(), 1) + " s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// decimal is v with prec decimals, trailing zeros and a bare point dropped.
func decimal(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
