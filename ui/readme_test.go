package ui

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeNamesEveryKey holds the README's keys paragraph to the keyMap:
// a binding added without a word in the README fails here.
func TestReadmeNamesEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "Keys in the UI")
	if start < 0 {
		t.Fatal("README.md has no \"Keys in the UI\" paragraph")
	}
	para := text[start:]
	if end := strings.Index(para, "\n\n"); end >= 0 {
		para = para[:end]
	}
	para = strings.ReplaceAll(para, "\n", " ")
	for _, group := range newKeyMap(true).FullHelp() {
		for _, b := range group {
			// One of the binding's keys is enough ("up" or "k").
			named := false
			for _, k := range b.Keys() {
				if strings.Contains(para, "`"+k+"`") || strings.Contains(para, "`"+k+"/") || strings.Contains(para, "/"+k+"`") {
					named = true
				}
			}
			if !named {
				t.Errorf("README's keys paragraph does not name %v (%s)", b.Keys(), b.Help().Desc)
			}
		}
	}
}
