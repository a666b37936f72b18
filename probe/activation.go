package probe

import (
	"context"
	"errors"
	"time"
)

// ActivationState is where the activation of a socket unit's service
// stands, as far as a cold probe needs to know it.
type ActivationState int

// The activation states an ActivationWatcher reports.
const (
	// ActivationIdle: no service of the socket is running or starting.
	ActivationIdle ActivationState = iota
	// ActivationStarting: a service of the socket is starting or
	// restarting (systemd's start job has not finished): not settled.
	ActivationStarting
	// ActivationUp: a service of the socket is running.
	ActivationUp
	// ActivationFailed: the activation failed: a service of the socket
	// failed, or the socket itself did (it hit a start or trigger limit,
	// say). Activation.Reason says which and why.
	ActivationFailed
)

// Activation is one state of a socket unit's activation.
type Activation struct {
	State ActivationState
	// Reason says why, for ActivationFailed ("service echo.service:
	// exit-code", "socket: service-start-limit-hit").
	Reason string
}

// ActivationWatcher follows the activation of socket units' services, for
// cold probes. The probe package knows no systemd: socktui's cli implements
// it from systemd's signals and hands it to the Prober.
type ActivationWatcher interface {
	// FollowActivation follows the activation of unit (a socket unit) until
	// ctx ends. The channel delivers the current state first, then every
	// change in the order systemd made them, without dropping any; it is
	// closed when ctx ends, or early when the watcher loses the unit (the
	// probe then judges by its exchange alone). ActivationFailed is
	// delivered only for a failure that happens after the call: a service
	// still failed from an earlier activation is reported as
	// ActivationIdle. An error means the unit cannot be followed (not a
	// socket the watcher knows, or an Accept=yes socket, whose
	// per-connection services are not followed).
	FollowActivation(ctx context.Context, unit string) (<-chan Activation, error)
}

// DefaultSettle is how long a connect probe of a cold target waits, holding
// its connection, for the service it started to stay up (Prober.Settle).
const DefaultSettle = time.Second

// activationError is an activation that failed while a probe waited for it.
type activationError struct{ reason string }

func (e *activationError) Error() string { return "activation failed: " + e.reason }

// verdictGrace is how long a cold probe whose exchange failed keeps
// following the activation for a failure that explains the error.
const verdictGrace = time.Second

// errNotUp is a cold probe whose exchange went through while the service
// never came up (or never stayed up for Settle) before the timeout.
var errNotUp = errors.New("the service did not come up and stay up")

// coldRun is one cold probe that follows its unit's activation while the
// exchange runs.
type coldRun struct {
	x      *exchange
	acts   <-chan Activation
	settle time.Duration // 0: settled as soon as the service is up
	// exchanged, when set, is told the exchange's error once it ended.
	exchanged func(error)

	cur       Activation
	seenAny   bool      // a state came: cur is the watcher's
	seenStart bool      // the service was seen starting or up
	upAt      time.Time // when the service was first seen up, or settled
}

// run runs the exchange and follows the activation until both tell the
// same story, or ctx ends. It returns the exchange's error or, when the
// activation failed, an *activationError; up is when the service came up
// (zero when it never did). The connection stays open until run returns,
// so a service that takes it and dies is caught.
func (c *coldRun) run(ctx context.Context) (err error, up time.Time) {
	xctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	release := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		closeConn, err := c.x.open(xctx)
		defer closeConn()
		done <- err
		if err == nil {
			select {
			case <-release:
			case <-xctx.Done():
			}
		}
	}()
	defer func() {
		close(release)
		cancel()
		<-finished
	}()

	var (
		exDone  bool
		exErr   error
		settled <-chan time.Time
		timer   *time.Timer
	)
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer, settled = nil, nil
		}
	}
	defer stopTimer()
	acts := c.acts
	for {
		select {
		case a, ok := <-acts:
			if !ok {
				// The watcher lost the unit: the exchange decides.
				acts = nil
				if exDone {
					return exErr, c.upAt
				}
				continue
			}
			c.observe(a)
			if a.State == ActivationFailed {
				return &activationError{reason: a.Reason}, time.Time{}
			}
			if a.State == ActivationStarting {
				stopTimer() // restarting: the window starts again once settled
			}
		case exErr = <-done:
			exDone = true
			done = nil
			if c.exchanged != nil {
				c.exchanged(exErr)
			}
		case <-settled:
			return exErr, c.upAt
		case <-ctx.Done():
			if !exDone {
				exErr = <-done
			}
			if exErr == nil {
				// The exchange went through, the activation never
				// settled: not ok (classify says cancelled or timeout).
				return errNotUp, c.upAt
			}
			return exErr, c.upAt
		}
		if !exDone {
			continue
		}
		if acts == nil {
			return exErr, c.upAt
		}
		if !c.seenAny {
			// The watcher delivers the current state first: decide
			// nothing before it.
			continue
		}
		steady := c.cur.State != ActivationStarting
		switch {
		case exErr != nil && steady && timer == nil:
			// The exchange failed with no start under way. A socket
			// that gave up on its service resets the connections it
			// holds a moment before systemd's signal says so: give the
			// activation verdictGrace to explain the error.
			timer = time.NewTimer(verdictGrace)
			settled = timer.C
		case exErr != nil:
			// Starting (its failure, if it comes, is the better
			// answer), or the grace is running.
		case !steady || !c.cameUp():
		case c.settle <= 0:
			return nil, c.upAt
		case timer == nil:
			timer = time.NewTimer(c.settle)
			settled = timer.C
		}
	}
}

// observe records one activation state.
func (c *coldRun) observe(a Activation) {
	c.cur, c.seenAny = a, true
	switch a.State {
	case ActivationStarting:
		c.seenStart = true
	case ActivationUp:
		c.seenStart = true
		if c.upAt.IsZero() {
			c.upAt = time.Now()
		}
	case ActivationIdle:
		if c.seenStart && c.upAt.IsZero() {
			// Started and already gone without failing (a service that
			// exits when done): it came up.
			c.upAt = time.Now()
		}
	}
}

// cameUp reports whether the service came up since the probe began.
func (c *coldRun) cameUp() bool {
	return c.cur.State == ActivationUp || c.cur.State == ActivationIdle && c.seenStart
}
