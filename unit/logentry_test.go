package unit

import "testing"

func TestPriorityMark(t *testing.T) {
	for p, want := range map[int]string{PriorityUnknown: "-", PriorityEmerg: "C", PriorityAlert: "C", PriorityCrit: "C",
		PriorityErr: "E", PriorityWarning: "W", PriorityNotice: "N", PriorityInfo: "I", PriorityDebug: "D", 8: "-", -7: "-"} {
		if got := PriorityMark(p); got != want {
			t.Errorf("PriorityMark(%d) = %q, want %q", p, got, want)
		}
	}
}
