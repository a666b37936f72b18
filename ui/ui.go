// Package ui is socktui's interactive Bubble Tea interface: a live list of
// socket units, a detail pane, an activity timeline with activation
// latencies, one-key probing and unit actions.
//
// It talks to systemd and to the prober only through the Manager and Prober
// interfaces declared here, so it runs against fakes in tests. It shows one
// manager or several (Config.Hosts): every row is a unit on a host
// (rowKey), each host is watched, probed and acted on through its own
// interfaces, and one host's drop or slowness never holds back another. Updates come
// only from Manager.Watch; nothing polls, and no timer runs while idle: the
// spinner ticks only while a job or probe is in flight, and Run draws
// through its own screen (ui/internal/screen), which writes a frame only
// when it changed. All unit text is sanitized before it is drawn.
package ui

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/socktui/socktui/probe"
	"github.com/socktui/socktui/ui/internal/screen"
	"github.com/socktui/socktui/unit"
)

// Manager is what the UI needs from a systemd manager connection
// (systemdbus.Client satisfies it).
type Manager interface {
	// Watch streams events: the first is a Snapshot; the channel is closed
	// when ctx ends.
	Watch(ctx context.Context) <-chan unit.Event
	StartUnit(ctx context.Context, name string) error
	StopUnit(ctx context.Context, name string) error
	RestartUnit(ctx context.Context, name string) error
	ResetFailed(ctx context.Context, name string) error
	// ReviveSocket brings a failed socket back to listening, resetting its
	// failed services.
	ReviveSocket(ctx context.Context, socket string, services []string) error
	// EnableUnitFiles and DisableUnitFiles enable and disable unit files
	// persistently, as systemctl enable and disable do (the manager
	// reloads, and Watch sends the new UnitFileState).
	EnableUnitFiles(ctx context.Context, names []string) error
	DisableUnitFiles(ctx context.Context, names []string) error
}

// Prober is what the UI needs to probe endpoints (probe.Prober satisfies
// it).
type Prober interface {
	// ProbeAll probes the targets concurrently and sends each result as it
	// finishes; the channel is closed when all are done.
	ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result
}

// Config is everything New needs. Either Manager or Hosts is required; the
// rest is optional.
type Config struct {
	// Hosts, when non-empty, are the managers the UI shows, in this order
	// (the caller puts this machine's, Name "", first); Manager, Prober,
	// Doctor and Logs must then be nil. A Config with Manager set is shown
	// as Hosts = []Host{{Name: "", Manager: Manager, Prober: Prober,
	// Doctor: Doctor, Logs: Logs}}.
	Hosts []Host
	// Manager is this machine's manager when Hosts is empty.
	Manager Manager
	// Prober probes endpoints; nil disables p and P.
	Prober Prober
	// Logs follows a unit's log; nil disables l.
	Logs LogSource
	// ManagerName is shown in the status line: "user", "system", "sandbox".
	ManagerName string
	// Select is the unit selected when it first appears, on whichever host
	// shows it first (in Hosts order when they come together).
	Select string
	// Hint is a line shown under the title, e.g. "press P to probe every
	// endpoint".
	Hint string
	// InstallDemo installs the demo workload into the current manager; nil
	// disables the d key.
	InstallDemo func(ctx context.Context) error
	// Now is the clock for timeline entries the UI makes itself and for
	// "ago" texts; nil means time.Now.
	Now func() time.Time
	// Renderer builds the styles; nil means lipgloss's default renderer,
	// which honours NO_COLOR.
	Renderer *lipgloss.Renderer
	// Doctor diagnoses units for the list's marks and the detail pane's
	// findings; nil disables them and the F key.
	Doctor Doctor
	// Authoring creates units as socktui new does (the n form) and removes
	// those socktui wrote as socktui rm does (D); nil disables n and D.
	// It works on this machine's host (Name "") only: on another host's
	// row n and D say so; without a local host they are disabled.
	Authoring Authoring
}

// Minimum terminal size; below it the UI only says the terminal is too small.
const (
	MinWidth  = 60
	MinHeight = 15
)

type pane int

const (
	paneList pane = iota
	paneDetail
	paneTimeline
	numPanes
)

// Model is the root Bubble Tea model. Build it with New. It handles the
// keys that reach across panes (quit, help, focus, unit actions and
// probes) and the manager's and prober's messages, and routes everything
// else to its children, which own their update and view.
type Model struct {
	ctx    context.Context
	cfg    Config
	now    func() time.Time
	keys   keyMap
	styles Styles

	// hosts are the managers shown, in the list's order (hostsOf); local
	// is the index of this machine's, -1 when none is shown.
	hosts []Host
	local int

	width, height int
	focus         pane
	loaded        bool // the first Snapshot of some host arrived

	units  unitStore
	probes probeRuns
	doctor doctorState

	list     listModel
	detail   detailModel
	timeline timelineModel
	logs     logsModel
	status   statusModel
	help     helpModel
	form     newForm // the n form
	remove   removal // D's check and prompt
}

// New builds the model. It does no I/O: Init starts watching the manager.
// ctx bounds every call the UI makes; it is owned by the caller, who cancels
// it after the program ends.
func New(ctx context.Context, cfg Config) Model {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	styles := NewStyles(cfg.Renderer)
	hosts := hostsOf(cfg)
	local := localHost(hosts)
	keys := newKeyMap(cfg.InstallDemo != nil)
	if !slices.ContainsFunc(hosts, func(h Host) bool { return h.Prober != nil }) {
		keys.Probe.SetEnabled(false)
		keys.ProbeAll.SetEnabled(false)
	}
	keys.Fix.SetEnabled(slices.ContainsFunc(hosts, func(h Host) bool { return h.Doctor != nil }))
	keys.Logs.SetEnabled(slices.ContainsFunc(hosts, func(h Host) bool { return h.Logs != nil }))
	keys.New.SetEnabled(cfg.Authoring != nil && local >= 0)
	keys.Remove.SetEnabled(cfg.Authoring != nil && local >= 0)
	return Model{
		ctx:      ctx,
		cfg:      cfg,
		now:      now,
		keys:     keys,
		styles:   styles,
		hosts:    hosts,
		local:    local,
		units:    newUnitStore(hostLabels(hosts)),
		probes:   newProbeRuns(),
		doctor:   newDoctorState(),
		list:     newList(cfg.Select),
		detail:   newDetail(keys),
		timeline: newTimeline(styles, keys),
		logs:     newLogs(keys, cfg.Renderer),
		status:   newStatus(cfg.ManagerName, hosts),
		help:     helpModel{help: help.New()},
		form:     newNewForm(keys),
	}
}

// Init starts watching every host's manager, each in its own Cmd.
func (m Model) Init() tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.hosts))
	for i, h := range m.hosts {
		if h.Manager == nil {
			cmds = append(cmds, func() tea.Msg { return watchEndedMsg{host: i} })
			continue
		}
		cmds = append(cmds, watchManager(m.ctx, i, h.Manager))
	}
	return tea.Batch(cmds...)
}

// Update applies one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	return m.update(msg)
}

// update routes msg to the part of the model it concerns, then lays the
// panes out again.
func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.help.Width = msg.Width
	case tea.KeyMsg:
		m, cmd = m.handleKey(msg)
	case watchStartedMsg, eventReceivedMsg, watchEndedMsg, managerGoneMsg:
		m, cmd = m.updateManager(msg)
	case probesStartedMsg, probeFinishedMsg, probeRunFinishedMsg:
		m, cmd = m.updateProbes(msg)
	case logsStartedMsg, logsReceivedMsg, logsEndedMsg:
		m, cmd = m.updateLogs(msg)
	case actionFinishedMsg, demoInstalledMsg:
		m.finishJob(msg)
	case spinner.TickMsg:
		m.status, cmd = m.status.update(msg, m.busy())
	case diagnosedMsg:
		m.applyDiagnosis(msg)
	case authoringHostReadMsg, unitPreviewedMsg, unitCreatedMsg:
		m, cmd = m.updateForm(msg)
	case unitOwnershipCheckedMsg, unitRemovedMsg:
		m, cmd = m.updateRemoval(msg)
	}
	if c := m.noteForDoctor(msg); c != nil {
		cmd = tea.Batch(cmd, c)
	}
	m.selectCreated()
	m.layout()
	return m, cmd
}

// busy reports whether a unit action or a probe is in flight.
func (m *Model) busy() bool { return m.status.jobs > 0 || m.probes.inFlight() > 0 }

// startSpinner schedules the first spinner tick unless one is scheduled.
func (m *Model) startSpinner() tea.Cmd { return m.status.start(m.busy()) }

// Selected is the unit name under the cursor, "" when none; SelectedHost
// says which host's it is.
func (m Model) Selected() string {
	if r := m.list.current(&m.units); r != nil {
		return r.sock.Unit
	}
	return ""
}

// SelectedHost is the Name of the host of the unit under the cursor ("" is
// this machine, and also what it says when nothing is selected).
func (m Model) SelectedHost() string {
	if r := m.list.current(&m.units); r != nil {
		return m.host(r.host).Name
	}
	return ""
}

// FrameRate is the most frames per second Run writes to the terminal. The
// screen writes a changed frame at once and then waits a frame interval
// before the next write, so it bounds how much a burst of events costs, not
// how soon the first one shows; nothing runs while nothing changes, so it
// costs no idle CPU either (BenchmarkIdleCPU, BenchmarkStateChangeToFrame).
const FrameRate = 40

// Run shows the UI on the terminal (alternate screen) until the user quits
// or ctx ends, and restores the terminal before it returns. It returns nil
// when the user quits; when ctx ends first the error wraps
// tea.ErrProgramKilled and ctx.Err(). opts are added after Run's own
// options (ctx, no Bubble Tea renderer), so they can override them.
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) error {
	tty, err := screen.OpenTerminal(os.Stdin, os.Stdout)
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	defer tty.Close()
	p, scr := newProgram(ctx, cfg, os.Stdout, FrameRate, opts...)
	tty.WatchSize(func(w, h int) { p.Send(tea.WindowSizeMsg{Width: w, Height: h}) })
	_, err = p.Run()
	scr.Stop() // after p.Run, also when it panicked: the terminal is restored
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}

// newProgram is the program Run runs, drawing on out at most fps frames a
// second through a screen.Screen, which the caller stops after the
// program's Run returns.
func newProgram(ctx context.Context, cfg Config, out io.Writer, fps int, opts ...tea.ProgramOption) (*tea.Program, *screen.Screen) {
	scr := screen.New(out, fps)
	opts = append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(out), tea.WithoutRenderer()}, opts...)
	scr.Start()
	return tea.NewProgram(shownModel{Model: New(ctx, cfg), screen: scr}, opts...), scr
}

// shownModel is Model drawn by a screen.Screen instead of Bubble Tea's
// standard renderer, which wakes at its frame rate for the program's whole
// life (see package screen): after each message the frame goes to the
// screen, which writes it only when it changed.
type shownModel struct {
	Model
	screen *screen.Screen
}

// Update applies msg to the model and hands its new frame to the screen.
func (s shownModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if size, ok := msg.(tea.WindowSizeMsg); ok {
		s.screen.Resize(size.Width, size.Height)
	}
	var cmd tea.Cmd
	s.Model, cmd = s.Model.update(msg)
	s.screen.Show(s.Model.View())
	return s, cmd
}

// View is empty: the screen draws the frames.
func (s shownModel) View() string { return "" }
