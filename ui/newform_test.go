package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/unit"
)

// dryRun is what `socktui new web --image localhost/socktui-echo:1
// --listen tcp:127.0.0.1:8080 --listen unix:%h/web.sock --format service
// --dry-run` prints.
const dryRun = `## /home/u/.config/systemd/user/web.socket
# Written by socktui new; ` + "`socktui rm web`" + ` removes it.
[Unit]
Description=socktui web (container localhost/socktui-echo:1)

[Socket]
ListenStream=127.0.0.1:8080
ListenStream=%h/web.sock
RemoveOnStop=yes

[Install]
WantedBy=sockets.target

## /home/u/.config/systemd/user/web.service
# Written by socktui new; ` + "`socktui rm web`" + ` removes it.
[Unit]
Description=socktui web (container localhost/socktui-echo:1)
Requires=web.socket
After=web.socket
RequiresMountsFor=%t/containers

[Service]
Environment=PODMAN_SYSTEMD_UNIT=%n
TimeoutStopSec=70
ExecStartPre=/bin/rm -f %t/%n.ctr-id
ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -d --replace --name web --network=none --pull=never localhost/socktui-echo:1
ExecStop=/usr/bin/podman stop --ignore -t 10 --cidfile=%t/%n.ctr-id
ExecStopPost=/usr/bin/podman rm -f --ignore -t 10 --cidfile=%t/%n.ctr-id
Type=notify
NotifyAccess=all
`

var localImages = []string{"localhost/socktui-echo:1", "localhost/lighttpd:latest", "docker.io/library/nginx:1.27"}

// recorder is a fakeAuthoring that records its calls.
type recorder struct {
	fakeAuthoring
	mu                  sync.Mutex
	previews, creates   []NewUnit
	removes, wroteCalls []string
}

func newRecorder() *recorder {
	r := &recorder{}
	r.host = func(context.Context) (AuthoringHost, error) {
		return AuthoringHost{Images: localImages, Format: "service"}, nil
	}
	r.preview = func(_ context.Context, u NewUnit) (Preview, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.previews = append(r.previews, u)
		return Preview{Text: dryRun}, nil
	}
	r.create = func(_ context.Context, u NewUnit) ([]string, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.creates = append(r.creates, u)
		return []string{"wrote /home/u/.config/systemd/user/" + u.Name + ".socket", u.Name + ".socket listening, triggers " + u.Name + ".service"}, nil
	}
	r.wrote = func(_ context.Context, s unit.Socket) (bool, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.wroteCalls = append(r.wroteCalls, s.Unit)
		return strings.HasPrefix(s.Unit, "web"), nil
	}
	r.remove = func(_ context.Context, socket string) ([]string, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.removes = append(r.removes, socket)
		return []string{"removed /home/u/.config/systemd/user/web.socket"}, nil
	}
	return r
}

// webSocket is the unit the form creates, as the manager then reports it.
func webSocket() unit.Socket {
	return unit.Socket{
		Unit: "web.socket", Description: "socktui web (container localhost/socktui-echo:1)", LoadState: "loaded",
		ActiveState: "active", SubState: "listening", UnitFileState: "linked",
		Listen:   []unit.Listen{{Type: "Stream", Address: "127.0.0.1:8080"}, {Type: "Stream", Address: "/home/u/web.sock"}},
		Triggers: []string{"web.service"},
		Services: []unit.Service{{Unit: "web.service", ActiveState: "inactive", SubState: "dead", Container: "web"}},
		State:    unit.StateIdle,
	}
}

// typeKeys sends each rune of text as its own key.
func typeKeys(m Model, text string) Model {
	for _, r := range text {
		m, _ = apply(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// applyAll sends every message cmd produces to m.
func applyAll(m Model, cmd tea.Cmd) Model {
	for _, msg := range runCmd(cmd) {
		m, _ = apply(m, msg)
	}
	return m
}

// openedForm is a loaded model with the form open and the host read.
func openedForm(t *testing.T, a Authoring, w, h int) Model {
	t.Helper()
	m := newTestModel(t, Config{Authoring: a}, w, h)
	m, _ = apply(m, snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...))
	m, cmd := apply(m, keyMsg("n"))
	if !m.form.open {
		t.Fatal("n did not open the form")
	}
	return applyAll(m, cmd)
}

// filledForm is openedForm with web's fields typed, the image completed
// with tab.
func filledForm(t *testing.T, a Authoring, w, h int) Model {
	t.Helper()
	m := openedForm(t, a, w, h)
	m = typeKeys(m, "web")
	m, _ = apply(m, keyMsg("tab"))
	m = typeKeys(m, "socktui")
	m, _ = apply(m, keyMsg("tab")) // completes the one match
	if got := m.form.inputs[fieldImage].Value(); got != "localhost/socktui-echo:1" {
		t.Fatalf("tab completed the image to %q", got)
	}
	m, _ = apply(m, keyMsg("tab")) // nothing more to complete: next field
	m = typeKeys(m, "tcp:127.0.0.1:8080, unix:%h/web.sock")
	return m
}

func TestFormCreatesAndSelectsTheUnit(t *testing.T) {
	a := newRecorder()
	m := filledForm(t, a, 100, 30)
	if m.form.focus != fieldListen {
		t.Fatalf("focus on field %d, want listen", m.form.focus)
	}
	m, cmd := apply(m, keyMsg("enter"))
	if m.form.step != stepPreviewing {
		t.Fatalf("after enter the form is at step %d, want previewing", m.form.step)
	}
	m = applyAll(m, cmd)
	want := NewUnit{Name: "web", Image: "localhost/socktui-echo:1", Listen: []string{"tcp:127.0.0.1:8080", "unix:%h/web.sock"}}
	if len(a.previews) != 1 || !equalUnit(a.previews[0], want) {
		t.Fatalf("Preview calls %+v, want one of %+v", a.previews, want)
	}
	if m.form.step != stepPreview || !strings.Contains(ansi.Strip(m.View()), "ListenStream=127.0.0.1:8080") {
		t.Fatalf("the preview does not show the files:\n%s", ansi.Strip(m.View()))
	}
	if len(a.creates) != 0 {
		t.Fatal("created before the preview was confirmed")
	}

	m, cmd = apply(m, keyMsg("enter"))
	if m.form.step != stepCreating || m.status.jobs != 1 {
		t.Fatalf("after enter on the preview: step %d, %d jobs; want creating, 1", m.form.step, m.status.jobs)
	}
	m = applyAll(m, cmd)
	if len(a.creates) != 1 || !equalUnit(a.creates[0], want) {
		t.Fatalf("Create calls %+v, want one of %+v", a.creates, want)
	}
	if m.form.open || m.status.jobs != 0 {
		t.Fatalf("after the create: form open %v, %d jobs", m.form.open, m.status.jobs)
	}
	if tl := timelineText(m); !strings.Contains(tl, "web.socket listening, triggers web.service") {
		t.Errorf("the timeline lacks new's report:\n%s", tl)
	}
	// The unit is selected once the manager reports it.
	if m.Selected() == "web.socket" {
		t.Fatal("selected before the manager reported it")
	}
	ws := webSocket()
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitAdded, At: t0, Socket: &ws}))
	if got := m.Selected(); got != "web.socket" {
		t.Errorf("selected %q after the unit appeared, want web.socket", got)
	}
	// Later units do not move the selection.
	m, _ = apply(m, keyMsg("up"))
	before := m.Selected()
	other := echoSocket(unit.StateActive)
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitChanged, At: t0, Socket: &other}))
	if m.Selected() != before {
		t.Errorf("a later event moved the selection from %q to %q", before, m.Selected())
	}
}

func equalUnit(a, b NewUnit) bool {
	return a.Name == b.Name && a.Image == b.Image && a.Format == b.Format && slices.Equal(a.Listen, b.Listen)
}

func TestFormSelectsAUnitThatAppearedFirstAndClearsAFilter(t *testing.T) {
	a := newRecorder()
	m := newTestModel(t, Config{Authoring: a}, 100, 30)
	m, _ = apply(m, snapshot(append(otherSockets(), echoSocket(unit.StateIdle))...))
	m, _ = apply(m, keyMsg("/"))
	m = typeKeys(m, "dbus")
	m, _ = apply(m, keyMsg("enter"))
	m, _ = apply(m, keyMsg("n"))
	m.form.unit = NewUnit{Name: "web"}
	m.form.step = stepCreating
	ws := webSocket()
	// The manager's event comes before Create returns.
	m, _ = apply(m, event(unit.Event{Kind: unit.UnitAdded, At: t0, Socket: &ws}))
	m.status.jobs++
	m, _ = apply(m, unitCreatedMsg{seq: m.form.seq, socket: "web.socket"})
	if got := m.Selected(); got != "web.socket" {
		t.Errorf("selected %q, want web.socket", got)
	}
	if f := m.list.filterText(); f != "" {
		t.Errorf("the filter %q that hides the new unit is kept", f)
	}
}

func TestFormValidatesInlineBeforeAnything(t *testing.T) {
	a := newRecorder()
	m := openedForm(t, a, 100, 30)
	m = typeKeys(m, "-web")
	m, _ = apply(m, keyMsg("tab"))
	if e := m.form.errs[fieldName]; !strings.Contains(e, `name "-web"`) {
		t.Errorf("leaving a bad name: error %q", e)
	}
	m, _ = apply(m, keyMsg("down")) // image left empty (tab would complete it)
	m = typeKeys(m, "tcp:127.0.0.1:8080 tcp:localhost")
	m, _ = apply(m, keyMsg("tab"))
	m = typeKeys(m, "kube")
	m, cmd := apply(m, keyMsg("enter"))
	if cmd != nil || m.form.step != stepEdit {
		t.Fatalf("a form with errors went on (step %d)", m.form.step)
	}
	if len(a.previews)+len(a.creates) != 0 {
		t.Fatalf("an invalid form reached the host: %d previews, %d creates", len(a.previews), len(a.creates))
	}
	view := ansi.Strip(m.View())
	for _, want := range []string{
		`name "-web": use letters, digits`,
		"an image is needed",
		`"tcp:localhost"`,
		`format "kube": want quadlet or service`,
	} {
		if !strings.Contains(view, want) {
			t.Errorf("the form does not say %q:\n%s", want, view)
		}
	}
	if m.form.focus != fieldName {
		t.Errorf("focus on field %d, want the first bad one (name)", m.form.focus)
	}
	// Editing a field clears its error.
	m, _ = apply(m, keyMsg("backspace"))
	if m.form.errs[fieldName] != "" {
		t.Errorf("the name's error stays after an edit: %q", m.form.errs[fieldName])
	}
}

func TestFormShowsThePreviewErrorAndTheCreateError(t *testing.T) {
	a := newRecorder()
	a.preview = func(context.Context, NewUnit) (Preview, error) {
		return Preview{}, errors.New("listen tcp:0.0.0.0:8080 is on 0.0.0.0 (every address), not loopback: other hosts could connect; pass --expose to mean it")
	}
	m := filledForm(t, a, 100, 30)
	m, cmd := apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	if m.form.step != stepEdit || !strings.Contains(ansi.Strip(m.View()), "error: listen tcp:0.0.0.0:8080 is on 0.0.0.0") {
		t.Fatalf("the preview's error is not in the form (step %d):\n%s", m.form.step, ansi.Strip(m.View()))
	}

	a.preview = nil
	a.create = func(context.Context, NewUnit) ([]string, error) {
		return nil, errors.New("refused: listen tcp:127.0.0.1:8080: the port is already bound")
	}
	m, cmd = apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	m, cmd = apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	if !m.form.open || m.form.step != stepEdit {
		t.Fatalf("after a refused create: open %v, step %d; want the form back", m.form.open, m.form.step)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "error: refused: listen tcp:127.0.0.1:8080: the port is already bound") {
		t.Errorf("the refusal is not in the form:\n%s", v)
	}
	if m.status.jobs != 0 || m.form.selectNext != "" {
		t.Errorf("after a refused create: %d jobs, select %q", m.status.jobs, m.form.selectNext)
	}
}

func TestFormEscCancelsAtEveryStep(t *testing.T) {
	a := newRecorder()
	// Editing.
	m := filledForm(t, a, 100, 30)
	m, _ = apply(m, keyMsg("esc"))
	if m.form.open {
		t.Fatal("esc did not close the form while editing")
	}
	// The preview.
	m = filledForm(t, a, 100, 30)
	m, cmd := apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	m, _ = apply(m, keyMsg("esc"))
	if m.form.open || len(a.creates) != 0 {
		t.Fatalf("esc on the preview: open %v, %d creates", m.form.open, len(a.creates))
	}
	// The create in flight: its context ends, and Create undoes.
	started := make(chan struct{})
	a.create = func(ctx context.Context, _ NewUnit) ([]string, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m = filledForm(t, a, 100, 30)
	m, cmd = apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	m, cmd = apply(m, keyMsg("enter"))
	done := make(chan []tea.Msg)
	go func() { done <- runCmd(cmd) }()
	<-started
	m, _ = apply(m, keyMsg("esc"))
	if !m.form.open || !strings.Contains(ansi.Strip(m.View()), "cancelling") {
		t.Fatalf("esc while creating: want the form open, cancelling:\n%s", ansi.Strip(m.View()))
	}
	for _, msg := range <-done {
		m, _ = apply(m, msg)
	}
	if m.form.open || m.status.jobs != 0 {
		t.Fatalf("after the cancelled create: open %v, %d jobs", m.form.open, m.status.jobs)
	}
	if tl := timelineText(m); !strings.Contains(tl, "new web: cancelled, nothing was left behind") {
		t.Errorf("timeline:\n%s", tl)
	}
}

func TestFormTakesEveryKey(t *testing.T) {
	a := newRecorder()
	m := openedForm(t, a, 100, 30)
	// q, p, / and ? are the UI's keys, here only text.
	m, cmd := apply(m, keyMsg("q"))
	if cmd != nil {
		if _, ok := cmd().(tea.QuitMsg); ok {
			t.Fatal("q quit while the form is open")
		}
	}
	m = typeKeys(m, "p/?")
	if got := m.form.inputs[fieldName].Value(); got != "qp/?" {
		t.Errorf("name field %q, want qp/?", got)
	}
	if m.list.filtering || m.help.open {
		t.Error("a key reached the list or the help")
	}
	// Typed ahead in one read, the runes all go to the field.
	m, _ = apply(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("xyz")})
	if got := m.form.inputs[fieldName].Value(); got != "qp/?xyz" {
		t.Errorf("name field %q after a typed-ahead read", got)
	}
}

func TestFormAnswerOfAnEarlierFormIsDropped(t *testing.T) {
	a := newRecorder()
	m := filledForm(t, a, 100, 30)
	m, cmd := apply(m, keyMsg("enter"))
	m, _ = apply(m, keyMsg("esc"))
	m, _ = apply(m, keyMsg("n"))
	m = applyAll(m, cmd) // the first form's preview arrives late
	if m.form.step != stepEdit {
		t.Errorf("a closed form's preview moved the new form to step %d", m.form.step)
	}
}

func TestFormWithoutAuthoringIsOff(t *testing.T) {
	m := loaded(t, Config{}, echoSocket(unit.StateIdle))
	m, cmd := apply(m, keyMsg("n"))
	if m.form.open || cmd != nil {
		t.Error("n opened a form without an Authoring")
	}
	if m.keys.New.Enabled() || m.keys.Remove.Enabled() {
		t.Error("n and D are enabled without an Authoring")
	}
}

func TestFormUnit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values [numFields]string
		want   NewUnit
		errs   [numFields]string
	}{
		{"full", [numFields]string{" web ", "localhost/echo:1", "tcp:127.0.0.1:80,udp:[::1]:80  unix:%h/w.sock", "Quadlet"},
			NewUnit{Name: "web", Image: "localhost/echo:1", Listen: []string{"tcp:127.0.0.1:80", "udp:[::1]:80", "unix:%h/w.sock"}, Format: "quadlet"}, [numFields]string{}},
		{"unit suffix", [numFields]string{"web.socket", "i", "tcp:127.0.0.1:80", ""},
			NewUnit{Name: "web", Image: "i", Listen: []string{"tcp:127.0.0.1:80"}}, [numFields]string{}},
		{"empty", [numFields]string{},
			NewUnit{}, [numFields]string{"a name is needed", "an image is needed (tab completes the local ones)", "at least one listen entry is needed, such as tcp:127.0.0.1:8080", ""}},
		{"bad", [numFields]string{"we b", "i", "tcp:127.0.0.1:80 sctp:1", "podman"},
			NewUnit{Name: "we b", Image: "i", Listen: []string{"tcp:127.0.0.1:80", "sctp:1"}, Format: "podman"},
			[numFields]string{`name "we b": use letters, digits, _ . - (first a letter or digit), at most 200`, "",
				`"sctp:1": want ` + unit.ListenSpecUsage, `format "podman": want quadlet or service (empty: the host's default)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, errs := formUnit(tc.values)
			if !equalUnit(u, tc.want) {
				t.Errorf("unit %+v, want %+v", u, tc.want)
			}
			if errs != tc.errs {
				t.Errorf("errors\n%q\nwant\n%q", errs, tc.errs)
			}
		})
	}
}

func TestImageMatches(t *testing.T) {
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{"", []string{"docker.io/library/nginx:1.27", "localhost/lighttpd:latest", "localhost/socktui-echo:1"}},
		{"socktui", []string{"localhost/socktui-echo:1"}},
		{"localhost/", []string{"localhost/lighttpd:latest", "localhost/socktui-echo:1"}},
		{"library/", []string{"docker.io/library/nginx:1.27"}},
		{"nginx", nil},
		{"zzz", nil},
	} {
		if got := imageMatches(localImages, tc.typed); !slices.Equal(got, tc.want) {
			t.Errorf("imageMatches(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

func TestFormTabCyclesThroughImages(t *testing.T) {
	m := openedForm(t, newRecorder(), 100, 30)
	m, _ = apply(m, keyMsg("tab")) // to image
	m = typeKeys(m, "localhost/")
	var got []string
	for range 3 {
		m, _ = apply(m, keyMsg("tab"))
		got = append(got, m.form.inputs[fieldImage].Value())
	}
	want := []string{"localhost/lighttpd:latest", "localhost/socktui-echo:1", "localhost/lighttpd:latest"}
	if !slices.Equal(got, want) || m.form.focus != fieldImage {
		t.Errorf("tabs gave %q (focus %d), want %q on the image field", got, m.form.focus, want)
	}
	m, _ = apply(m, keyMsg("down"))
	if m.form.focus != fieldListen {
		t.Errorf("down moved focus to %d, want listen", m.form.focus)
	}
	// The format field completes too.
	m, _ = apply(m, keyMsg("tab"))
	m = typeKeys(m, "q")
	m, _ = apply(m, keyMsg("tab"))
	if v := m.form.inputs[fieldFormat].Value(); v != "quadlet" {
		t.Errorf("format completed to %q", v)
	}
}

func TestRemoveAsksOnlyForWhatSocktuiWrote(t *testing.T) {
	a := newRecorder()
	m := newTestModel(t, Config{Authoring: a, Select: "echo.socket"}, 100, 30)
	m, _ = apply(m, snapshot(echoSocket(unit.StateIdle), webSocket()))

	// echo.socket: socktui did not write it.
	m, cmd := apply(m, keyMsg("D"))
	m = applyAll(m, cmd)
	if m.remove.confirm != "" {
		t.Fatal("a prompt for a unit socktui did not write")
	}
	if !strings.Contains(m.status.lastErr, "remove echo.socket: socktui did not write it; nothing was done") {
		t.Errorf("status %q", m.status.lastErr)
	}

	// web.socket: the prompt; anything but y keeps it.
	m, _ = apply(m, keyMsg("down"))
	if m.Selected() != "web.socket" {
		t.Fatalf("selected %q", m.Selected())
	}
	m, cmd = apply(m, keyMsg("D"))
	m = applyAll(m, cmd)
	if m.remove.confirm != "web.socket" {
		t.Fatal("no prompt for a unit socktui wrote")
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "Remove web.socket? ") || !strings.Contains(v, "[y/N]") {
		t.Errorf("the prompt is not on screen:\n%s", v)
	}
	m, cmd = apply(m, keyMsg("n"))
	if m.remove.confirm != "" || cmd != nil || m.form.open {
		t.Fatal("n at the prompt did something other than keep the unit")
	}
	if !strings.Contains(timelineText(m), "remove web.socket: kept, nothing was done") {
		t.Errorf("timeline:\n%s", timelineText(m))
	}

	m, cmd = apply(m, keyMsg("D"))
	m = applyAll(m, cmd)
	m, cmd = apply(m, keyMsg("y"))
	if m.status.jobs != 1 {
		t.Errorf("%d jobs while removing, want 1", m.status.jobs)
	}
	m = applyAll(m, cmd)
	if !slices.Equal(a.removes, []string{"web.socket"}) || !slices.Equal(a.wroteCalls, []string{"echo.socket", "web.socket", "web.socket"}) {
		t.Errorf("Remove calls %q, Wrote calls %q", a.removes, a.wroteCalls)
	}
	if tl := timelineText(m); !strings.Contains(tl, "removed /home/u/.config/systemd/user/web.socket") || !strings.Contains(tl, "remove web.socket: done") {
		t.Errorf("timeline:\n%s", tl)
	}
	if m.status.jobs != 0 {
		t.Errorf("%d jobs after the removal", m.status.jobs)
	}
}

func TestRemoveError(t *testing.T) {
	a := newRecorder()
	a.remove = func(context.Context, string) ([]string, error) {
		return nil, errors.New("stopping web.socket: access denied")
	}
	m := newTestModel(t, Config{Authoring: a}, 100, 30)
	m, _ = apply(m, snapshot(webSocket()))
	m, cmd := apply(m, keyMsg("D"))
	m = applyAll(m, cmd)
	m, cmd = apply(m, keyMsg("Y"))
	m = applyAll(m, cmd)
	if m.status.lastErr != "remove web.socket: stopping web.socket: access denied" {
		t.Errorf("status %q", m.status.lastErr)
	}
}

func TestFormGoldens(t *testing.T) {
	a := newRecorder()
	m := filledForm(t, a, 80, 24)
	m, _ = apply(m, keyMsg("tab"))
	golden(t, "newform_80x24", m.View())
	assertFrame(t, m.View(), 80, 24)

	m, cmd := apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	golden(t, "newform_preview_80x24", m.View())
	assertFrame(t, m.View(), 80, 24)

	small := openedForm(t, a, 60, 15)
	small = typeKeys(small, "-web")
	small, _ = apply(small, keyMsg("tab"))
	golden(t, "newform_60x15", small.View())
	assertFrame(t, small.View(), 60, 15)

	// The preview fits 60x15 too, its title and keys kept.
	small = filledForm(t, a, 60, 15)
	small, cmd = apply(small, keyMsg("enter"))
	small = applyAll(small, cmd)
	v := ansi.Strip(small.View())
	assertFrame(t, v, 60, 15)
	if !strings.Contains(v, "▸ [New web: the files socktui new writes") || !strings.Contains(v, "enter write and start them") || !strings.Contains(v, "## /home/u/.config/systemd/user/web.socket") {
		t.Errorf("the preview at 60x15:\n%s", v)
	}
}

func TestFormPreviewScrollsAndWraps(t *testing.T) {
	m := filledForm(t, newRecorder(), 80, 24)
	m, cmd := apply(m, keyMsg("enter"))
	m = applyAll(m, cmd)
	if v := ansi.Strip(m.View()); strings.Contains(v, "NotifyAccess=all") {
		t.Fatalf("the whole preview fits at 80x24; the test needs it to scroll:\n%s", v)
	}
	for range 40 {
		m, _ = apply(m, keyMsg("down"))
	}
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "NotifyAccess=all") {
		t.Errorf("scrolled to the end, the last line is not shown:\n%s", v)
	}
	// The long ExecStart= is wrapped, its end shown.
	if !strings.Contains(v, "--pull=never") || !strings.Contains(v, "\n    localhost/socktui-echo:1") && !strings.Contains(v, "--pull=never localhost/socktui-echo:1") {
		t.Errorf("the end of ExecStart= is not shown:\n%s", v)
	}
	m, _ = apply(m, tea.KeyMsg{Type: tea.KeyShiftTab})
	if m.form.step != stepEdit {
		t.Errorf("shift+tab on the preview: step %d, want edit", m.form.step)
	}
}

func TestWrapAtSpaces(t *testing.T) {
	long := strings.Repeat("x", 50)
	for _, tc := range []struct {
		line string
		w    int
		want []string
	}{
		{"short", 30, []string{"short"}},
		{"ExecStart=/usr/bin/podman run --sdnotify=conmon -d --name web", 30,
			[]string{"ExecStart=/usr/bin/podman run", "    --sdnotify=conmon -d", "    --name web"}},
		{"a " + long, 30, []string{"a", "    " + long[:26], "    " + long[26:50]}},
		{"too narrow to wrap at all", 22, []string{"too narrow to wrap at all"}},
	} {
		got := wrapAtSpaces(tc.line, tc.w, 4)
		if !slices.Equal(got, tc.want) {
			t.Errorf("wrapAtSpaces(%q, %d) =\n%q\nwant\n%q", tc.line, tc.w, got, tc.want)
		}
		for _, l := range got {
			if textWidth(l) > tc.w && len(got) > 1 {
				t.Errorf("line %q is wider than %d", l, tc.w)
			}
		}
	}
}
