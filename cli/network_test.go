package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/unit"
)

// TestOneNetworkNamePerListenType: for every Listen type, the list table's
// NETWORK column, the list's JSON, the probe's JSON and the domain rule
// give the same name (the UI's side is ui's TestListenEntryNetwork).
func TestOneNetworkNamePerListenType(t *testing.T) {
	ls := unit.SampleListens()
	sock := unit.Socket{Unit: "every.socket", ActiveState: unit.Active, State: unit.StateIdle, Listen: ls}

	var table bytes.Buffer
	writeTable(&table, []unit.Socket{sock}, true, false)
	lines := strings.Split(table.String(), "\n")[1:]

	var js bytes.Buffer
	if err := writeJSON(&js, []unit.Socket{sock}); err != nil {
		t.Fatal(err)
	}
	var listed []struct {
		Listen []struct{ Network string } `json:"listen"`
	}
	if err := json.Unmarshal(js.Bytes(), &listed); err != nil || len(listed) != 1 || len(listed[0].Listen) != len(ls) {
		t.Fatalf("list JSON: %v\n%s", err, js.String())
	}

	p := &probe.Prober{Timeout: time.Second}
	var results []probe.Result
	for _, tg := range sock.Targets() {
		results = append(results, p.Probe(context.Background(), tg))
	}
	var probed bytes.Buffer
	if err := writeProbeJSON(&probed, results); err != nil {
		t.Fatal(err)
	}
	var rs []jsonResult
	if err := json.Unmarshal(probed.Bytes(), &rs); err != nil || len(rs) != len(ls) {
		t.Fatalf("probe JSON: %v\n%s", err, probed.String())
	}

	for i, l := range ls {
		want := string(l.Network())
		// LISTEN TYPE NETWORK ...; an address may hold a space.
		fields := strings.Fields(strings.TrimPrefix(lines[i], l.Address))
		if len(fields) < 2 || fields[0] != l.Type || fields[1] != want {
			t.Errorf("%s %s: list table row %q, want NETWORK %s", l.Type, l.Address, lines[i], want)
		}
		if got := listed[0].Listen[i].Network; got != want {
			t.Errorf("%s %s: list JSON network %q, want %s", l.Type, l.Address, got, want)
		}
		if got := rs[i].Network; got != want {
			t.Errorf("%s %s: probe JSON network %q, want %s", l.Type, l.Address, got, want)
		}
	}
}
