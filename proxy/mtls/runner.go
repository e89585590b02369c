package mtls

import (
	"context"
	"time"
)

// Runner drives a Rotator on the wall clock: it sleeps until Rotator.Next,
// calls Tick, and repeats until its context ends. It is the only part of
// the rotation that reads the clock or waits; everything it decides comes
// from RotationPolicy.
type Runner struct {
	Rotator *Rotator
	// OnError, when set, receives each failed renewal (they are retried
	// after the policy's RetryInterval).
	OnError func(error)
}

// Run blocks until ctx is done, renewing the SVID when due; start it in
// its own goroutine and cancel ctx to stop it.
func (r *Runner) Run(ctx context.Context) {
	for {
		timer := time.NewTimer(time.Until(r.Rotator.Next(time.Now())))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if _, err := r.Rotator.Tick(time.Now()); err != nil && r.OnError != nil {
			r.OnError(err)
		}
	}
}
