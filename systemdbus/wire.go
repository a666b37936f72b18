package systemdbus

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/socktui/socktui/systemdbus/internal/wire"
)

// wireBatch is the propBatch on the hand-written codec (internal/wire): a
// one-shot listing's bulk reads, pipelined on a second connection to the
// manager's private socket, at systemd's pace. Its values are godbus's, so
// the code that stores them is shared with batch.
type wireBatch struct {
	ctx      context.Context
	b        *wire.Batch
	unitsErr error // the first error a units call returned
}

func newWireBatch(ctx context.Context, w *wire.Conn) *wireBatch {
	return &wireBatch{ctx: ctx, b: w.NewBatch(ctx)}
}

func (b *wireBatch) get(p dbus.ObjectPath, iface, prop string, store func(dbus.Variant)) {
	b.b.Get(p, iface, prop, store)
}

// units stores the units with sequence 0: the codec's connection carries
// no signals to order them against.
func (b *wireBatch) units(method string, store func([]unitStatus, dbus.Sequence), args ...[]string) {
	b.b.Units(method, func(units []unitStatus, err error) {
		if err != nil {
			if b.unitsErr == nil {
				b.unitsErr = err
			}
			return
		}
		store(units, 0)
	}, args...)
}

func (b *wireBatch) wait() error {
	err := b.b.Wait()
	unitsErr := b.unitsErr
	b.unitsErr = nil
	if err != nil {
		return fmt.Errorf("systemdbus: reading properties: %w", explain(err, "", ""))
	}
	if unitsErr != nil {
		return fmt.Errorf("systemdbus: listing units: %w", explain(unitsErr, "", ""))
	}
	return nil
}
