package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0 µs"},
		{0, "0 µs"},
		{85 * time.Microsecond, "85 µs"},
		{999 * time.Microsecond, "999 µs"},
		{1250 * time.Microsecond, "1.25 ms"},
		{42300 * time.Microsecond, "42.3 ms"},
		{171 * time.Millisecond, "171 ms"},
		{999 * time.Millisecond, "999 ms"},
		{1200 * time.Microsecond, "1.2 ms"},
		{3 * time.Millisecond, "3 ms"},
		{2300 * time.Millisecond, "2.3 s"},
		{5 * time.Second, "5 s"},
		{9995 * time.Millisecond, "9.99 s"},
		{12345 * time.Millisecond, "12.3 s"},
		{90 * time.Second, "1m30s"},
		{4*time.Minute + 5*time.Second, "4m05s"},
		{2*time.Hour + 3*time.Minute, "2h03m"},
	} {
		if got := Duration(tt.in); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
