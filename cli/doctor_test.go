package cli

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/socktui/socktui/doctor"
	"github.com/socktui/socktui/internal/podman"
	"github.com/socktui/socktui/systemdbus"
	"github.com/socktui/socktui/unit"
)

func TestWrapWords(t *testing.T) {
	for _, c := range []struct {
		text        string
		first, rest int
		want        []string
	}{
		{"", 10, 10, []string{""}},
		{"a b c", 10, 10, []string{"a b c"}},
		{"aaa bbb ccc", 7, 7, []string{"aaa bbb", "ccc"}},
		{"aaa bbb ccc", 3, 7, []string{"aaa", "bbb ccc"}},
		{"  spaces   collapse ", 20, 20, []string{"spaces collapse"}},
		{"abcdefghij", 4, 4, []string{"abcd", "efgh", "ij"}},
		{"x abcdefghij", 4, 4, []string{"x", "abcd", "efgh", "ij"}},
		{"é ü ö", 3, 3, []string{"é ü", "ö"}},
	} {
		if got := wrapWords(c.text, c.first, c.rest); !reflect.DeepEqual(got, c.want) {
			t.Errorf("wrapWords(%q, %d, %d) = %q, want %q", c.text, c.first, c.rest, got, c.want)
		}
	}
}

func TestDoctorText(t *testing.T) {
	long := strings.Repeat("word ", 40) + "/a/very/long/path/without/any/space/in/it/that/runs/past/eighty/columns/for/sure.container"
	reports := []doctorReport{
		{unit: "good.socket"},
		{unit: "bad\x1b[31m.socket", findings: []doctor.Finding{
			{Severity: doctor.Error, Check: doctor.CheckNotify, Evidence: long, Fix: "NotifyAccess=all"},
			{Severity: doctor.Info, Check: doctor.CheckExposed, Evidence: "listens on 0.0.0.0:80", Fix: "ListenStream=127.0.0.1:80"},
		}, skipped: []doctor.NotChecked{
			{Check: doctor.CheckNoAnswer, Why: "needs a probe"}, {Check: doctor.CheckColdStart, Why: "needs a probe"},
			{Check: doctor.CheckSELinux, Why: "cannot read"},
		}},
	}
	got := doctorText(reports, 80)
	for _, l := range strings.Split(got, "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
		if strings.ContainsRune(l, '\x1b') {
			t.Errorf("an escape reached the output: %q", l)
		}
	}
	for _, want := range []string{
		"good.socket: no findings\n",
		"1 error, 1 info\n",
		"\n  error    notify\n    evidence: word word",
		"    fix: NotifyAccess=all\n",
		"\n  info     exposed-listener\n",
		"  not checked: no-answer, cold-start (needs a probe)\n",
		"  not checked: selinux-label (cannot read)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	if got := doctorText(nil, 80); got != "No socket units.\n" {
		t.Errorf("no units: %q", got)
	}
}

func TestCountFindings(t *testing.T) {
	f := func(s ...doctor.Severity) []doctor.Finding {
		var out []doctor.Finding
		for _, x := range s {
			out = append(out, doctor.Finding{Severity: x})
		}
		return out
	}
	for _, c := range []struct {
		fs   []doctor.Finding
		want string
	}{
		{nil, "no findings"},
		{f(doctor.Warning), "1 warning"},
		{f(doctor.Error, doctor.Error, doctor.Warning, doctor.Info, doctor.Info), "2 errors, 1 warning, 2 info"},
	} {
		if got := countFindings(c.fs); got != c.want {
			t.Errorf("countFindings = %q, want %q", got, c.want)
		}
	}
}

// procTCP is /proc/net/tcp with a listener on 127.0.0.1:3000 holding two
// connections in its queue, one on 0.0.0.0:8080 holding none, and an
// established connection (st 01), whose queue is not a backlog.
const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:0BB8 0100007F:9C40 01 00000000:00000005 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
`

// procTCP6 is /proc/net/tcp6 with a listener on [::1]:3000 holding one.
const procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0
`

func TestParseQueued(t *testing.T) {
	got := map[netip.AddrPort]int{}
	if err := parseQueued(strings.NewReader(procTCP), got); err != nil {
		t.Fatal(err)
	}
	if err := parseQueued(strings.NewReader(procTCP6), got); err != nil {
		t.Fatal(err)
	}
	want := map[netip.AddrPort]int{
		netip.MustParseAddrPort("127.0.0.1:3000"): 2,
		netip.MustParseAddrPort("0.0.0.0:8080"):   0,
		netip.MustParseAddrPort("[::1]:3000"):     1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseQueued = %v, want %v", got, want)
	}
	listen := []unit.Listen{{Type: unit.TypeStream, Address: "127.0.0.1:3000"}, {Type: unit.TypeStream, Address: "[::1]:3000"},
		{Type: unit.TypeDatagram, Address: "127.0.0.1:3000"}, {Type: unit.TypeStream, Address: "8080"},
		{Type: unit.TypeStream, Address: "/run/x.sock"}}
	if q := queuedOf(listen, got); !reflect.DeepEqual(q, map[string]int{"127.0.0.1:3000": 2, "[::1]:3000": 1}) {
		t.Fatalf("queuedOf = %v", q)
	}
}

// fakeImages answers the doctor's Podman questions from a map of local
// images.
type fakeImages map[string]podman.ImageConfig

func (f fakeImages) ImageExists(_ context.Context, image string) (bool, error) {
	_, ok := f[image]
	return ok, nil
}

func (f fakeImages) InspectImage(_ context.Context, image string) (podman.ImageConfig, error) {
	return f[image], nil
}

var _ imageAsker = fakeImages(nil)

// fakeGatherer is a doctorGatherer over socks whose services run exec.
func fakeGatherer(socks []unit.Socket, exec map[string][]string) *doctorGatherer {
	return &doctorGatherer{
		list: func(_ context.Context, pats []string) ([]unit.Socket, error) {
			var out []unit.Socket
			for _, s := range socks {
				for _, p := range append(pats, "*")[:max(1, len(pats))] {
					if matchUnit(p, s.Unit) {
						out = append(out, s)
						break
					}
				}
			}
			return out, nil
		},
		facts: func(_ context.Context, socks []unit.Socket) (map[string]systemdbus.SocketFacts, error) {
			out := map[string]systemdbus.SocketFacts{}
			for _, s := range socks {
				svc := strings.TrimSuffix(s.Unit, ".socket") + ".service"
				out[s.Unit] = systemdbus.SocketFacts{Service: systemdbus.ServiceFacts{Unit: svc, LoadState: "loaded",
					ActiveState: "inactive", Type: "notify", NotifyAccess: "all", Exec: exec[svc]}}
			}
			return out, nil
		},
		podman:  fakeImages{"localhost/echo:1": {Entrypoint: []string{"/echo"}}},
		selinux: func(context.Context) (podman.SELinux, error) { return podman.SELinux{}, nil },
	}
}

func TestDoctorUnits(t *testing.T) {
	socks := []unit.Socket{
		{Unit: "good.socket", LoadState: "loaded", ActiveState: unit.Active, State: unit.StateIdle, Triggers: []string{"good.service"}},
		{Unit: "bad.socket", LoadState: "loaded", ActiveState: unit.Active, State: unit.StateIdle, Triggers: []string{"bad.service"}},
	}
	exec := map[string][]string{
		"good.service": strings.Fields("/usr/bin/podman run --rm -d --network=none --pull=never localhost/echo:1"),
		"bad.service":  strings.Fields("/usr/bin/podman run --rm -d --network=none --pull=never localhost/missing:1"),
	}
	run := func(o doctorOptions) (string, error) {
		env, out, _ := testEnv()
		err := doctorUnits(context.Background(), env, o, fakeGatherer(socks, exec))
		return out.String(), err
	}
	out, err := run(doctorOptions{units: []string{"good"}, json: true})
	if err != nil || out != "[]\n" {
		t.Errorf("doctor --json good: %q, %v; want [] and exit 0", out, err)
	}
	out, err = run(doctorOptions{json: true})
	if !errors.Is(err, errSilent) || !strings.Contains(out, `"unit":"bad.socket","check":"image-pull","severity":"error"`) {
		t.Errorf("doctor --json: %s, %v; want bad.socket's image-pull error and exit 1", out, err)
	}
	out, err = run(doctorOptions{units: []string{"good"}})
	if err != nil || !strings.HasPrefix(out, "good.socket: no findings\n") {
		t.Errorf("doctor good: %q, %v", out, err)
	}
	if _, err := run(doctorOptions{units: []string{"nothere"}}); err == nil || !strings.Contains(err.Error(), `no socket unit matches "nothere.socket"`) {
		t.Errorf("doctor nothere: %v", err)
	}
}
