// Package ui is socktui's interactive Bubble Tea interface: a live list of
// socket units, a detail pane, an activity timeline with activation
// latencies, one-key probing and unit actions.
//
// It talks to systemd and to the prober only through the Manager and Prober
// interfaces declared here, so it runs against fakes in tests. Updates come
// only from Manager.Watch; nothing polls, and no timer runs while idle (the
// spinner ticks only while a job or probe is in flight). All unit text is
// sanitized before it is drawn.
package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/probe"
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
}

// Prober is what the UI needs to probe endpoints (probe.Prober satisfies
// it).
type Prober interface {
	// ProbeAll probes the targets concurrently and sends each result as it
	// finishes; the channel is closed when all are done.
	ProbeAll(ctx context.Context, ts []unit.Target) <-chan probe.Result
}

// Config is everything New needs. Manager is required; the rest is optional.
type Config struct {
	Manager Manager
	// Prober probes endpoints; nil disables p and P.
	Prober Prober
	// ManagerName is shown in the status line: "user", "system", "sandbox".
	ManagerName string
	// Select is the unit selected when it first appears.
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

// connState is the connection to the manager as the status line tells it.
type connState int

const (
	connConnecting connState = iota
	connConnected
	connReconnecting
	connEnded
	// connGone: reconnecting for longer than ManagerGoneAfter; Watch still
	// retries, the screen shows the last known state.
	connGone
)

func (c connState) String() string {
	return [...]string{"connecting", "connected", "reconnecting", "disconnected", "the manager is gone (retrying)"}[c]
}

// ManagerGoneAfter is how long the UI waits for a dropped connection to come
// back before it says the manager is gone. A re-executed or reloaded
// manager is back well within it.
const ManagerGoneAfter = 5 * time.Second

// managerGoneMsg fires ManagerGoneAfter after a disconnect; drops counts
// disconnects, so a tick from an earlier drop does nothing.
type managerGoneMsg struct{ drops int }

// checkManagerGone sends managerGoneMsg after d.
func checkManagerGone(d time.Duration, drops int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return managerGoneMsg{drops: drops} })
}

// probeRun is one p or P press.
type probeRun struct {
	start     time.Time
	total     int
	done, ok  int
	units     int
	remaining map[string]int // name -> results still expected
}

// statusModel is the status line: manager, connection, work in flight and
// the last error.
type statusModel struct {
	manager string
	conn    connState
	jobs    int // name actions in flight
	probes  int // probes in flight
	lastErr string
	// drops counts disconnects from the manager.
	drops   int
	spinner spinner.Model
	// spinning is true while a spinner tick is scheduled.
	spinning bool
}

func (s *statusModel) busy() bool { return s.jobs > 0 || s.probes > 0 }

func (s *statusModel) view(st Styles, w int) string {
	parts := []string{"manager: " + termtext.Clean(orDash(s.manager)), s.conn.String()}
	if s.busy() {
		var work []string
		if s.jobs > 0 {
			work = append(work, plural(s.jobs, "job"))
		}
		if s.probes > 0 {
			work = append(work, plural(s.probes, "probe"))
		}
		parts = append(parts, st.Spinner.Render(s.spinner.View())+" "+strings.Join(work, ", ")+" in flight")
	}
	line := strings.Join(parts, " · ")
	if s.lastErr != "" {
		line += " · " + st.Error.Render("error: "+s.lastErr)
	}
	return truncate(line, w)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Model is the root Bubble Tea model. Build it with New.
type Model struct {
	ctx    context.Context
	cfg    Config
	now    func() time.Time
	keys   keyMap
	styles Styles
	help   help.Model

	width, height int
	focus         pane
	showHelp      bool
	loaded        bool // the first Snapshot arrived

	units    unitStore
	list     listModel
	detail   detailModel
	timeline timelineModel
	status   statusModel

	nextRun int
	runs    map[int]*probeRun
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
	h := help.New()
	m := Model{
		ctx:    ctx,
		cfg:    cfg,
		now:    now,
		keys:   newKeyMap(cfg.InstallDemo != nil),
		styles: styles,
		help:   h,
		units:  unitStore{index: map[string]int{}},
		list:   listModel{selected: cfg.Select},
		status: statusModel{
			manager: cfg.ManagerName,
			spinner: spinner.New(spinner.WithSpinner(spinner.Line)),
		},
		runs: map[int]*probeRun{},
	}
	if cfg.Prober == nil {
		m.keys.Probe.SetEnabled(false)
		m.keys.ProbeAll.SetEnabled(false)
	}
	return m
}

// Init starts watching the manager.
func (m Model) Init() tea.Cmd {
	if m.cfg.Manager == nil {
		return func() tea.Msg { return watchEndedMsg{} }
	}
	return watchManager(m.ctx, m.cfg.Manager)
}

// Update applies one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	next.fixOffsets()
	return next, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	case watchStartedMsg:
		return m, waitForEvent(msg.events)
	case eventReceivedMsg:
		m.applyEvent(msg.ev)
		if msg.ev.Kind == unit.Disconnected && m.status.conn == connReconnecting {
			return m, tea.Batch(waitForEvent(msg.events), checkManagerGone(ManagerGoneAfter, m.status.drops))
		}
		return m, waitForEvent(msg.events)
	case managerGoneMsg:
		if msg.drops == m.status.drops && m.status.conn == connReconnecting {
			m.status.conn = connGone
			why := fmt.Sprintf("no answer for %s; units show their last known state; q quits", formatDuration(ManagerGoneAfter))
			m.status.lastErr = why
			m.timeline.add(m.now(), "the manager is gone: "+why+"; still retrying", true)
		}
		return m, nil
	case watchEndedMsg:
		m.status.conn = connEnded
		m.timeline.add(m.now(), "event stream ended", false)
		return m, nil
	case actionFinishedMsg:
		m.status.jobs--
		if msg.err != nil {
			m.fail(msg.err)
		} else {
			m.timeline.add(m.now(), msg.action+" "+termtext.Clean(strings.Join(msg.units, ", "))+": done", false)
		}
		return m, nil
	case probesStartedMsg:
		return m, waitForProbe(msg.run, msg.results)
	case probeFinishedMsg:
		m.applyProbe(msg.run, msg.result)
		return m, waitForProbe(msg.run, msg.results)
	case probeRunFinishedMsg:
		m.finishRun(msg.run)
		return m, nil
	case demoInstalledMsg:
		m.status.jobs--
		if msg.err != nil {
			m.fail(fmt.Errorf("install demo: %w", msg.err))
		} else {
			m.timeline.add(m.now(), "demo workload installed", false)
		}
		return m, nil
	case spinner.TickMsg:
		if !m.status.busy() {
			m.status.spinning = false // nothing in flight: let the ticks stop
			return m, nil
		}
		var cmd tea.Cmd
		m.status.spinner, cmd = m.status.spinner.Update(msg)
		return m, cmd
	}
	return m, nil
}

// FrameRate is the renderer's frames per second in Run. Bubble Tea v1's
// renderer wakes up on every frame even when nothing changed, so this sets
// both the idle CPU cost and the worst added latency of a screen update.
// Measured with 1,000 units on a shared 2-core VM (BenchmarkIdleCPU,
// BenchmarkEventToScreen): 60 fps idled at 0.8-1.2% of a core with an
// event-to-screen p50 of 8 ms; 40 fps at about 0.7% with a p50 of 13 ms.
const FrameRate = 40

// Run shows the UI on the terminal (alternate screen) until the user quits
// or ctx ends, and restores the terminal before it returns. It returns nil
// when the user quits; when ctx ends first the error wraps
// tea.ErrProgramKilled and ctx.Err(). opts are added after Run's own
// options (alternate screen, ctx, FrameRate), so they can override them.
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) error {
	opts = append([]tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithFPS(FrameRate)}, opts...)
	if _, err := tea.NewProgram(New(ctx, cfg), opts...).Run(); err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}
