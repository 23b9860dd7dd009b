package cluster

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// refresher runs an engine's periodic refresh: at a random moment between the min and max intervals (so
// thousands of engines do not refresh together), or at once when nudged. No goroutine waits in between (a
// timer fires the refresh), refreshes never overlap (ticking is held by the one under way), and nudges while
// one is due are coalesced. It stops with the context given to start.
type refresher struct {
	min, max time.Duration
	refresh  func(ctx context.Context, tick int, nudged bool) // one refresh; tick counts them from 1
	timer    atomic.Pointer[time.Timer]                       // nil until started
	ticking  sync.Mutex
	ticks    int         // under ticking
	nudged   atomic.Bool // a refresh was asked for and has not begun
}

// start arms the timer; refreshes run until ctx ends.
func (r *refresher) start(ctx context.Context) {
	t := time.AfterFunc(time.Hour, func() { r.tick(ctx) })
	t.Stop()
	r.timer.Store(t)
	context.AfterFunc(ctx, func() { t.Stop() })
	t.Reset(r.wait())
}

func (r *refresher) wait() time.Duration {
	wait := r.min
	if spread := r.max - r.min; spread > 0 {
		wait += rand.N(spread)
	}
	return wait
}

func (r *refresher) tick(ctx context.Context) {
	r.ticking.Lock()
	defer r.ticking.Unlock()
	nudged := r.nudged.Swap(false)
	if ctx.Err() != nil {
		return
	}
	r.ticks++
	r.refresh(ctx, r.ticks, nudged)
	if ctx.Err() == nil && !r.nudged.Load() {
		r.timer.Load().Reset(r.wait())
	}
}

// nudge asks for a refresh now (after the one under way, if any); before start it does nothing.
func (r *refresher) nudge() {
	if t := r.timer.Load(); t != nil && r.nudged.CompareAndSwap(false, true) {
		t.Reset(0)
	}
}
