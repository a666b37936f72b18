package wire

import (
	"context"
	"testing"
	"time"

	"github.com/socktui/socktui/sandbox"
	"github.com/socktui/socktui/sandbox/sandboxtest"
)

// TestDialAnswersTheFirstCall: a lone call sent at once after Dial is
// answered (systemd 252 and 257 strand a message that arrives together
// with BEGIN until more bytes come; Dial settles that), on a real manager
// of each stack.
func TestDialAnswersTheFirstCall(t *testing.T) { sandboxtest.OnStacks(t, testDialAnswersTheFirstCall) }

func testDialAnswersTheFirstCall(t *testing.T, s *sandbox.Sandbox) {
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w, err := Dial(ctx, s.PrivateSocket())
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		b := w.NewBatch(ctx)
		got := -1
		var unitsErr error
		b.Units("ListUnitsByPatterns", func(u []UnitStatus, err error) { got, unitsErr = len(u), err }, []string{}, []string{"*.socket"})
		err = b.Wait()
		w.Close()
		cancel()
		if err != nil || unitsErr != nil || got < 0 {
			t.Fatalf("connection %d: the first call got %d units, %v, %v", i, got, err, unitsErr)
		}
	}
}
