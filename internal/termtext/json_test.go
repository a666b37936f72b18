package termtext

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSON(t *testing.T) {
	values := []string{
		"plain", "café ✓", "csi\u009b2J", "bidi\u202eevil", "esc\x1b[2J", "private\U000F0000", "line\u2028sep",
	}
	for _, v := range values {
		js, err := json.Marshal(map[string]string{"k": v})
		if err != nil {
			t.Fatal(err)
		}
		got := JSON(js)
		var back map[string]string
		if err := json.Unmarshal(got, &back); err != nil || back["k"] != v {
			t.Errorf("JSON(%q) = %s: decodes to %q, %v; want the exact value", js, got, back["k"], err)
		}
		if Clean(string(got)) != string(got) {
			t.Errorf("JSON(%q) = %s: still holds runes a terminal acts on", js, got)
		}
		if v == "plain" || v == "café ✓" {
			if &got[0] != &js[0] {
				t.Errorf("JSON(%q) copied a document that needed nothing", js)
			}
		}
	}
	if got := string(JSON([]byte("{\"k\":\"a\u009bb\"}"))); !strings.Contains(got, `\u009b`) {
		t.Errorf("C1 CSI not escaped: %s", got)
	}
}
