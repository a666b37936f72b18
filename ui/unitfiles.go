package ui

import (
	"context"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/socktui/socktui/internal/termtext"
	"github.com/socktui/socktui/unit"
)

// enableSocket is e: enable the socket's unit file (Manager.EnableUnitFiles).
// A transient or generated socket has no unit file of its own to enable:
// that is said at once, without asking the manager.
func enableSocket(ctx context.Context, m Manager, sk unit.Socket) (tea.Cmd, error) {
	if err := unitFileEditable("enable", sk); err != nil {
		return nil, err
	}
	return runAction(ctx, "enable", func(ctx context.Context, u string) error {
		return m.EnableUnitFiles(ctx, []string{u})
	}, []string{sk.Unit}), nil
}

// disableSocket is E: disable the socket's unit file.
func disableSocket(ctx context.Context, m Manager, sk unit.Socket) (tea.Cmd, error) {
	if err := unitFileEditable("disable", sk); err != nil {
		return nil, err
	}
	return runAction(ctx, "disable", func(ctx context.Context, u string) error {
		return m.DisableUnitFiles(ctx, []string{u})
	}, []string{sk.Unit}), nil
}

// unitFileEditable refuses enable and disable of a socket whose unit file
// state says they cannot work.
func unitFileEditable(verb string, sk unit.Socket) error {
	switch sk.UnitFileState {
	case "transient", "generated":
		return fmt.Errorf("%s: %s is %s: it has no unit file of its own to %s", verb,
			termtext.Clean(sk.Unit), sk.UnitFileState, verb)
	case "masked", "masked-runtime":
		return fmt.Errorf("%s: %s is masked; unmask it first (systemctl unmask)", verb, termtext.Clean(sk.Unit))
	}
	return nil
}

// fileStatePart is the detail pane's "  file enabled" (systemd's
// UnitFileState of the socket), or nothing when the socket has no unit
// file state.
func fileStatePart(sk unit.Socket) string {
	if sk.UnitFileState == "" {
		return ""
	}
	return "  file " + termtext.Clean(sk.UnitFileState)
}
