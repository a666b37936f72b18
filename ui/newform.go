package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/socktui/socktui/authoring"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// Authoring is what the n form and the D key need: `socktui new` and
// `socktui rm`. The CLI fills it by running those very commands, so that
// the UI creates exactly what `socktui new` creates and removes exactly
// what `socktui rm` removes, with their refusals. Every method does I/O;
// the UI calls them only from Cmds.
type Authoring interface {
	// Host is what the form offers before anything is typed: the images in
	// local storage (the image field completes them) and the format socktui
	// new picks on this host.
	Host(ctx context.Context) (AuthoringHost, error)
	// Preview returns the files socktui new would write for u, as its
	// --dry-run prints them, and its warnings; it writes nothing. Its error
	// says in words what is wrong with u.
	Preview(ctx context.Context, u NewUnit) (Preview, error)
	// Create creates u and starts its socket as socktui new does, after the
	// same refusals (a name the manager has, an image not in local storage,
	// a port already bound, ...), and returns what it reported, a line
	// each. A refusal writes nothing; a failure half-way, or ctx ending,
	// leaves nothing behind.
	Create(ctx context.Context, u NewUnit) ([]string, error)
	// Wrote reports whether socktui wrote socket s's units: their files
	// begin with socktui's marker, or they are transient units it created.
	Wrote(ctx context.Context, s unit.Socket) (bool, error)
	// Remove removes what socktui wrote for socket (NAME.socket) as socktui
	// rm does: stops and disables it, removes its files and container; it
	// returns what rm reported, a line each.
	Remove(ctx context.Context, socket string) ([]string, error)
}

// NewUnit is what the form asks for: `socktui new NAME --image IMAGE
// --listen SPEC... [--format FORMAT]`.
type NewUnit struct {
	Name, Image string
	// Listen are the listen specs, as --listen takes them
	// (tcp:127.0.0.1:8080).
	Listen []string
	// Format is quadlet or service; "" lets socktui new pick the host's.
	Format string
}

// AuthoringHost is what Authoring.Host found.
type AuthoringHost struct {
	// Images are the images in local storage (NAME:TAG).
	Images []string
	// Format is the format socktui new picks here: quadlet or service.
	Format string
}

// Preview is the files socktui new would write.
type Preview struct {
	// Text is the files, each after a "## PATH" line, as --dry-run prints
	// them.
	Text string
	// Warnings are what socktui new warns about (the cost of --accept).
	Warnings []string
}

// The form's fields, in order.
const (
	fieldName = iota
	fieldImage
	fieldListen
	fieldFormat
	numFields
)

var fieldLabels = [numFields]string{"name", "image", "listen", "format"}

// fieldLabelWidth is the width of the labels' column, "> " and a gap
// included.
const fieldLabelWidth = 10

// formStep is where the form is.
type formStep int

const (
	stepEdit       formStep = iota // the fields have the keyboard
	stepPreviewing                 // the preview was asked for
	stepPreview                    // the files are shown
	stepCreating                   // Create is in flight
)

// formKeys are the form's own bindings; its footer is generated from them.
type formKeys struct {
	Next, Prev, Submit key.Binding // editing
	Create, Edit       key.Binding // the preview
	Scroll             key.Binding // help only: the viewport scrolls with the list's keys
	Cancel             key.Binding
}

func newFormKeys() formKeys {
	return formKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "complete / next")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "preview the files")),
		Create: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "write and start them")),
		Edit:   key.NewBinding(key.WithKeys("shift+tab", "backspace"), key.WithHelp("shift+tab", "edit")),
		Scroll: key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// newForm is the n form: the fields of a socket-activated container to
// create, the preview of its files, and the create in flight.
type newForm struct {
	open bool
	step formStep
	// seq numbers the forms opened: an answer for an earlier one is
	// dropped.
	seq    int
	inputs [numFields]textinput.Model
	focus  int
	// errs are the fields' errors in words, shown under each.
	errs [numFields]string
	// err is the form's error: what the preview or the create said.
	err string
	// host is what Authoring.Host said; hostErr why it could not.
	host     AuthoringHost
	hostRead bool
	hostErr  string
	// comp is the completion in progress on the focused field.
	comp completion
	// unit is what the preview shows and the create makes.
	unit NewUnit
	// previewText is the files, cleaned; the preview shows them wrapped
	// to wrappedTo cells.
	previewText string
	wrappedTo   int
	preview     viewport.Model
	warnings    []string
	// cancel ends the create in flight (esc); cancelled says it was.
	cancel    context.CancelFunc
	cancelled bool
	// selectNext is the socket to select once the list has it: the one
	// the last create made.
	selectNext string
	keys       formKeys
}

// completion is tab completion on a field: typed is what the user typed,
// next the index of the candidate the next tab puts in.
type completion struct {
	active bool
	typed  string
	next   int
}

func newNewForm(k keyMap) newForm {
	f := newForm{keys: newFormKeys(), preview: viewport.New(0, 0)}
	f.preview.KeyMap = k.viewportKeys()
	for i := range f.inputs {
		ti := textinput.New()
		ti.Prompt = ""
		ti.KeyMap.Paste.SetEnabled(false) // no clipboard reads: a paste comes as keys
		ti.CharLimit = 1024
		f.inputs[i] = ti
	}
	return f
}

// Messages of the form and their commands.

// authoringHostReadMsg carries what Authoring.Host said.
type authoringHostReadMsg struct {
	host AuthoringHost
	err  error
}

// unitPreviewedMsg carries the preview for form number seq.
type unitPreviewedMsg struct {
	seq     int
	preview Preview
	err     error
}

// unitCreatedMsg says the create of form number seq ended.
type unitCreatedMsg struct {
	seq    int
	socket string
	report []string
	err    error
}

func readAuthoringHost(ctx context.Context, a Authoring) tea.Cmd {
	return func() tea.Msg {
		h, err := a.Host(ctx)
		return authoringHostReadMsg{host: h, err: err}
	}
}

func previewUnit(ctx context.Context, a Authoring, u NewUnit, seq int) tea.Cmd {
	return func() tea.Msg {
		p, err := a.Preview(ctx, u)
		return unitPreviewedMsg{seq: seq, preview: p, err: err}
	}
}

func createUnit(ctx context.Context, a Authoring, u NewUnit, seq int) tea.Cmd {
	return func() tea.Msg {
		report, err := a.Create(ctx, u)
		return unitCreatedMsg{seq: seq, socket: u.Name + ".socket", report: report, err: err}
	}
}

// openNewForm opens the form, emptied, and asks the host for its images.
// It creates units on this machine only: on another host's row it says
// so.
func (m Model) openNewForm() (Model, tea.Cmd) {
	if m.cfg.Authoring == nil || m.local < 0 {
		return m, nil
	}
	if r := m.list.current(&m.units); r != nil && r.host != m.local {
		m.fail(thisMachineOnly("new", m.host(r.host)))
		return m, nil
	}
	f := &m.form
	f.open, f.step, f.err, f.warnings = true, stepEdit, "", nil
	f.seq++
	f.errs = [numFields]string{}
	f.comp = completion{}
	for i := range f.inputs {
		f.inputs[i].Reset()
	}
	f.focusField(fieldName)
	return m, readAuthoringHost(m.ctx, m.cfg.Authoring)
}

// closeForm closes the form; its values are kept until it opens again.
func (f *newForm) closeForm() {
	f.open, f.step, f.cancel = false, stepEdit, nil
	f.seq++ // drop answers still on their way
	for i := range f.inputs {
		f.inputs[i].Blur()
	}
}

// focusField gives field i the keyboard.
func (f *newForm) focusField(i int) {
	f.focus = (i + numFields) % numFields
	for j := range f.inputs {
		if j == f.focus {
			f.inputs[j].Focus()
		} else {
			f.inputs[j].Blur()
		}
	}
	f.comp = completion{}
}

// formKey handles a key while the form is open: it takes every key but
// ctrl+c.
func (m Model) formKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	f := &m.form
	k := f.keys
	if key.Matches(msg, k.Cancel) {
		if f.step == stepCreating {
			// The create undoes what it did: nothing is left behind.
			if f.cancel != nil && !f.cancelled {
				f.cancel()
				f.cancelled = true
			}
			return m, nil
		}
		f.closeForm()
		m.timeline.add(m.now(), "new: cancelled, nothing was written", false)
		return m, nil
	}
	switch f.step {
	case stepEdit:
		return m.formEditKey(msg)
	case stepPreview:
		switch {
		case key.Matches(msg, k.Create):
			return m.startCreate()
		case key.Matches(msg, k.Edit):
			f.step = stepEdit
			return m, nil
		}
		var cmd tea.Cmd
		f.preview, cmd = f.preview.Update(msg)
		return m, cmd
	}
	return m, nil // previewing, creating: only esc
}

// formEditKey handles a key while the fields have the keyboard.
func (m Model) formEditKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	f := &m.form
	k := f.keys
	switch {
	case msg.Type == tea.KeyTab:
		if f.completeField() {
			return m, nil
		}
		f.leaveField()
		f.focusField(f.focus + 1)
		return m, nil
	case key.Matches(msg, k.Next):
		f.leaveField()
		f.focusField(f.focus + 1)
		return m, nil
	case key.Matches(msg, k.Prev):
		f.leaveField()
		f.focusField(f.focus - 1)
		return m, nil
	case key.Matches(msg, k.Submit):
		u, errs := formUnit(f.values())
		f.errs = errs
		for i, e := range errs {
			if e != "" {
				f.focusField(i)
				return m, nil
			}
		}
		f.unit, f.step, f.err = u, stepPreviewing, ""
		return m, previewUnit(m.ctx, m.cfg.Authoring, u, f.seq)
	}
	before := f.inputs[f.focus].Value()
	var cmd tea.Cmd
	f.inputs[f.focus], cmd = f.inputs[f.focus].Update(msg)
	if f.inputs[f.focus].Value() != before {
		f.comp = completion{}
		f.errs[f.focus] = ""
	}
	return m, cmd
}

// values are the fields as typed.
func (f *newForm) values() [numFields]string {
	var v [numFields]string
	for i := range f.inputs {
		v[i] = f.inputs[i].Value()
	}
	return v
}

// leaveField checks the focused field as the user leaves it (an empty
// field is only an error once the form is submitted).
func (f *newForm) leaveField() {
	v := f.values()
	if strings.TrimSpace(v[f.focus]) == "" {
		return
	}
	_, errs := formUnit(v)
	f.errs[f.focus] = errs[f.focus]
}

// candidates are the completions of the focused field for what was typed.
func (f *newForm) candidates(typed string) []string {
	switch f.focus {
	case fieldImage:
		return imageMatches(f.host.Images, typed)
	case fieldFormat:
		var out []string
		for _, c := range []string{string(authoring.FormatQuadlet), string(authoring.FormatService)} {
			if strings.HasPrefix(c, strings.ToLower(typed)) {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// completeField puts the next completion of the focused field in, and
// reports whether there was one to put: tab then cycles through the
// candidates of what was typed; with nothing (more) to complete it moves
// to the next field.
func (f *newForm) completeField() bool {
	in := &f.inputs[f.focus]
	if !f.comp.active {
		f.comp = completion{active: true, typed: in.Value()}
	}
	cands := f.candidates(f.comp.typed)
	if len(cands) == 0 || (len(cands) == 1 && cands[0] == in.Value()) {
		f.comp = completion{}
		return false
	}
	in.SetValue(cands[f.comp.next%len(cands)])
	in.CursorEnd()
	f.comp.next++
	f.errs[f.focus] = ""
	return true
}

// startCreate runs the create of the previewed unit; esc cancels it.
func (m Model) startCreate() (Model, tea.Cmd) {
	f := &m.form
	ctx, cancel := context.WithCancel(m.ctx)
	f.step, f.cancel, f.cancelled, f.err = stepCreating, cancel, false, ""
	m.status.jobs++
	m.timeline.add(m.now(), "new "+termtext.Clean(f.unit.Name)+": writing and starting its units", false)
	return m, tea.Batch(createUnit(ctx, m.cfg.Authoring, f.unit, f.seq), m.startSpinner())
}

// updateForm applies the answers of the form's commands.
func (m Model) updateForm(msg tea.Msg) (Model, tea.Cmd) {
	f := &m.form
	switch msg := msg.(type) {
	case authoringHostReadMsg:
		f.host, f.hostRead, f.hostErr = msg.host, true, ""
		if msg.err != nil {
			f.hostErr = termtext.Clean(msg.err.Error())
		}
	case unitPreviewedMsg:
		if !f.open || msg.seq != f.seq || f.step != stepPreviewing {
			return m, nil
		}
		if msg.err != nil {
			f.step, f.err = stepEdit, termtext.Clean(msg.err.Error())
			return m, nil
		}
		f.step, f.warnings = stepPreview, nil
		for _, w := range msg.preview.Warnings {
			f.warnings = append(f.warnings, termtext.Clean(w))
		}
		f.previewText, f.wrappedTo = cleanLines(msg.preview.Text), 0
		m.layoutForm()
		f.preview.GotoTop()
	case unitCreatedMsg:
		m.status.jobs--
		current := f.open && msg.seq == f.seq
		if current {
			f.cancel = nil
		}
		if msg.err != nil {
			text := termtext.Clean(msg.err.Error())
			if current && f.cancelled {
				f.closeForm()
				m.timeline.add(m.now(), "new "+termtext.Clean(f.unit.Name)+": cancelled, nothing was left behind ("+text+")", false)
				return m, nil
			}
			m.fail(fmt.Errorf("new %s: %w", f.unit.Name, msg.err))
			if current {
				f.step, f.err = stepEdit, text
			}
			return m, nil
		}
		for _, line := range msg.report {
			m.timeline.add(m.now(), termtext.Clean(line), false)
		}
		if current {
			f.closeForm()
		}
		f.selectNext = msg.socket
		m.focus = paneList
	}
	return m, nil
}

// selectCreated selects the socket the last create made once the list
// has it, clearing a filter that hides it.
func (m *Model) selectCreated() {
	k := rowKey{host: m.local, unit: m.form.selectNext}
	if k.unit == "" || m.units.get(k) == nil {
		return
	}
	m.form.selectNext = ""
	m.list.selected = k
	m.list.rebuild(&m.units)
	if m.list.selected != k && m.list.filterText() != "" {
		m.list.selected = k // rebuild moved it to a unit the filter shows
		m.list = m.list.clearFilter(&m.units)
	}
}

// formHeight is the height of the form's body: what the help overlay
// gets, below its title.
func (m *Model) formHeight() int {
	l, d, t := m.paneHeights()
	return l + d + t - 1
}

// layoutForm sizes the preview to the form's body, its lines wrapped to
// the width.
func (m *Model) layoutForm() {
	f := &m.form
	f.preview.Width = m.width
	f.preview.Height = max(1, m.formHeight()-1-len(f.warnings))
	if f.wrappedTo != m.width {
		f.wrappedTo = m.width
		f.preview.SetContent(wrapPreview(f.previewText, m.width))
	}
}

// wrapPreview wraps each line of the files to w cells, its continuation
// lines indented, so that a long ExecStart= reads whole.
func wrapPreview(text string, w int) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		out = append(out, wrapAtSpaces(l, w, 4)...)
	}
	return strings.Join(out, "\n")
}

// wrapAtSpaces breaks line into lines of at most w cells at its spaces
// only (an option such as --sdnotify=conmon stays whole), cutting a word
// only when it is longer than a line; continuation lines are indented by
// indent. A line that fits, or a w too small to wrap, comes back whole.
func wrapAtSpaces(line string, w, indent int) []string {
	if textWidth(line) <= w || w-indent < 20 {
		return []string{line}
	}
	var out []string
	cur, limit := "", w // limit: the width of the line being filled
	flush := func() { out, cur, limit = append(out, cur), "", w-indent }
	for _, word := range strings.Split(line, " ") {
		for textWidth(word) > w-indent { // longer than a line: cut it
			if cur != "" {
				flush()
			}
			head := ansi.Truncate(word, limit, "")
			cur = head
			flush()
			word = word[len(head):]
		}
		switch {
		case cur == "":
			cur = word
		case textWidth(cur)+1+textWidth(word) <= limit:
			cur += " " + word
		default:
			flush()
			cur = word
		}
	}
	out = append(out, cur)
	for i := 1; i < len(out); i++ {
		out[i] = strings.Repeat(" ", indent) + out[i]
	}
	return out
}

// formTitle is the title of the form's pane.
func (f *newForm) title() string {
	switch f.step {
	case stepPreview, stepCreating:
		return "New " + termtext.Clean(f.unit.Name) + ": the files socktui new writes"
	}
	return "New socket-activated container"
}

// view is the form's body: h lines of at most w cells.
func (f *newForm) view(st Styles, w, h int) string {
	var lines []string
	switch f.step {
	case stepPreview, stepCreating:
		intro := "enter writes these files and starts " + termtext.Clean(f.unit.Name) + ".socket; esc writes nothing"
		if f.step == stepCreating {
			intro = "writing and starting " + termtext.Clean(f.unit.Name) + ".socket… (esc cancels and leaves nothing behind)"
			if f.cancelled {
				intro = "cancelling: removing what was written…"
			}
		}
		lines = append(lines, st.Hint.Render(truncate(intro, w)))
		for _, wn := range f.warnings {
			lines = append(lines, st.Error.Render(truncate("warning: "+wn, w)))
		}
		lines = append(lines, strings.Split(f.preview.View(), "\n")...)
	default:
		lines = f.fieldsView(st, w)
	}
	return strings.Join(fill(lines, h), "\n")
}

// fieldsView is the fields, each with its error or, when focused, its
// hint, then the form's error.
func (f *newForm) fieldsView(st Styles, w int) []string {
	lines := []string{st.Dim.Render(truncate("A socket systemd holds and the container it starts.", w))}
	inputW := max(1, w-fieldLabelWidth)
	for i := range f.inputs {
		marker := "  "
		if i == f.focus {
			marker = "> "
		}
		value := fieldText(f.inputs[i], i == f.focus, inputW, st)
		if f.inputs[i].Value() == "" && i != f.focus {
			value = st.Dim.Render(truncate(f.placeholder(i), inputW))
		}
		lines = append(lines, marker+pad(fieldLabels[i], fieldLabelWidth-2)+value)
		indent := strings.Repeat(" ", fieldLabelWidth)
		switch {
		case f.errs[i] != "":
			for _, l := range wrapText(f.errs[i], inputW) {
				lines = append(lines, indent+st.Error.Render(l))
			}
		case i == f.focus:
			lines = append(lines, indent+st.Dim.Render(truncate(f.hint(i), inputW)))
		}
	}
	if f.step == stepPreviewing {
		lines = append(lines, "", st.Hint.Render("rendering the files…"))
	}
	if f.err != "" {
		lines = append(lines, "")
		for _, l := range wrapText("error: "+f.err, w) {
			lines = append(lines, st.Error.Render(l))
		}
	}
	return lines
}

// placeholder is what an empty field that is not focused shows.
func (f *newForm) placeholder(i int) string {
	switch i {
	case fieldName:
		return "NAME: NAME.socket and NAME.service"
	case fieldImage:
		return "a local image (tab completes)"
	case fieldListen:
		return "tcp:127.0.0.1:8080 …"
	default:
		return f.defaultFormat()
	}
}

// defaultFormat says what an empty format field means.
func (f *newForm) defaultFormat() string {
	if f.host.Format == "" {
		return "socktui new's default for this host"
	}
	return f.host.Format + " (this host's default)"
}

// hint is the line under the focused field.
func (f *newForm) hint(i int) string {
	switch i {
	case fieldName:
		return "letters, digits, _ . - ; the units' and the container's name"
	case fieldImage:
		switch {
		case !f.hostRead:
			return "reading local images…"
		case f.hostErr != "":
			return "no local images: " + f.hostErr
		}
		typed := f.inputs[i].Value()
		if f.comp.active {
			typed = f.comp.typed
		}
		matches := imageMatches(f.host.Images, typed)
		if len(matches) == 0 {
			return fmt.Sprintf("no local image matches (%d in local storage)", len(f.host.Images))
		}
		return "tab: " + strings.Join(matches, " · ")
	case fieldListen:
		return "kind:address, space- or comma-separated: tcp: udp: unix: unixgram: seqpacket: vsock:"
	default:
		return "quadlet or service; empty: " + f.defaultFormat()
	}
}

// footerHelp is the form's footer bindings for its step.
func (f *newForm) footerHelp() []key.Binding {
	k := f.keys
	switch f.step {
	case stepPreview:
		return []key.Binding{k.Create, k.Edit, k.Scroll, k.Cancel}
	case stepPreviewing, stepCreating:
		return []key.Binding{k.Cancel}
	}
	return []key.Binding{k.Submit, k.Next, k.Prev, k.Cancel}
}

// fieldText is a field's value with its cursor when focused, cut to w
// cells around the cursor.
func fieldText(in textinput.Model, focused bool, w int, st Styles) string {
	text := []rune(termtext.Clean(in.Value()))
	if !focused {
		return truncate(string(text), w)
	}
	pos := clamp(in.Position(), 0, len(text))
	// Scroll so that the cursor is in view, with "…" for what is cut.
	start := 0
	for start < pos && textWidth(string(text[start:pos]))+1 > w-1 {
		start++
	}
	prefix := ""
	if start > 0 {
		prefix = "…"
	}
	before := prefix + string(text[start:pos])
	if pos == len(text) {
		return before + "█"
	}
	return truncate(before+st.Selected.Render(string(text[pos]))+string(text[pos+1:]), w)
}

// formUnit reads the fields into the unit to create; errs holds, per
// field, what is wrong with it in words ("" when nothing). It checks what
// needs no host: the name's shape, the listen specs, the format; socktui
// new itself refuses the rest when the form is submitted.
func formUnit(v [numFields]string) (u NewUnit, errs [numFields]string) {
	u.Name = strings.TrimSuffix(strings.TrimSpace(v[fieldName]), ".socket")
	if err := (authoring.Spec{Name: u.Name}).ValidateName(); err != nil {
		errs[fieldName] = inWords(err, authoring.ErrInvalid.Error()+": ")
	}
	u.Image = strings.TrimSpace(v[fieldImage])
	if u.Image == "" {
		errs[fieldImage] = "an image is needed (tab completes the local ones)"
	}
	u.Listen = splitListen(v[fieldListen])
	for _, spec := range u.Listen {
		if _, err := unit.ParseListenSpec(spec); err != nil {
			errs[fieldListen] = inWords(err, unit.ErrBadListen.Error()+" ")
			break
		}
	}
	if len(u.Listen) == 0 {
		errs[fieldListen] = "at least one listen entry is needed, such as tcp:127.0.0.1:8080"
	}
	u.Format = strings.ToLower(strings.TrimSpace(v[fieldFormat]))
	switch authoring.Format(u.Format) {
	case "", authoring.FormatQuadlet, authoring.FormatService:
	default:
		errs[fieldFormat] = fmt.Sprintf("format %q: want %s or %s (empty: the host's default)", u.Format, authoring.FormatQuadlet, authoring.FormatService)
	}
	return u, errs
}

// inWords is err's text without its sentinel's prefix.
func inWords(err error, prefix string) string {
	return strings.TrimPrefix(err.Error(), prefix)
}

// splitListen splits the listen field into specs at spaces and commas.
func splitListen(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// imageMatches are the images that complete typed: those that begin with
// it, also once their registry ("localhost/") is left out. All of them
// when typed is empty.
func imageMatches(images []string, typed string) []string {
	var out []string
	for _, img := range images {
		short := img
		if first, rest, ok := strings.Cut(img, "/"); ok && (first == "localhost" || strings.ContainsAny(first, ".:")) {
			short = rest
		}
		if strings.HasPrefix(img, typed) || strings.HasPrefix(short, typed) {
			out = append(out, img)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// cleanLines is text with every line through termtext.Clean.
func cleanLines(text string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := range lines {
		lines[i] = termtext.Clean(lines[i])
	}
	return strings.Join(lines, "\n")
}
