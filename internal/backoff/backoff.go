// Package backoff is how the project waits between attempts: Sleep, a wait that ends early when its context
// does, and Delay, a doubling delay with a cap and optional jitter. Nothing here starts a goroutine.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d, or less if ctx ends first; it reports whether the whole of d passed (false: ctx ended).
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Delay is a delay that doubles at each Next, from Min up to Max. With Jitter, each delay Next returns is taken at
// random from its upper half, so that many waiters do not retry together. The zero Delay waits nothing; a Delay
// is not safe for concurrent use.
type Delay struct {
	Min, Max time.Duration
	Jitter   bool
	cur      time.Duration
}

// Next returns the delay to wait now and doubles the next one (up to Max).
func (d *Delay) Next() time.Duration {
	if d.cur < d.Min {
		d.cur = d.Min
	}
	wait := d.cur
	d.cur = min(2*d.cur, max(d.Max, d.Min))
	if d.Jitter && wait > 1 {
		wait = wait/2 + rand.N(wait/2+1)
	}
	return wait
}

// Wait sleeps the delay Next returns (see Sleep).
func (d *Delay) Wait(ctx context.Context) bool { return Sleep(ctx, d.Next()) }

// Reset makes the next delay Min again (after a success).
func (d *Delay) Reset() { d.cur = 0 }
