// Package gcfloor sets the garbage collector's pace for the manager: a collection starts once the heap has
// grown by twice what is live (GOGC=200) or by a fixed number of bytes, whichever is more. Marking costs in
// proportion to the live heap, and a manager's live heap is its cache, large on a large fleet: collected less
// often, it holds requests back less often (assists). A small live heap churned through by requests gets the
// fixed headroom instead, so it is not collected several times a second. The cost is memory; BENCHMARKS.md
// has both sides. An operator's GOGC is left alone.
package gcfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Headroom is the floor the manager uses.
const Headroom = 256 << 20

const (
	minPercent = 200  // twice the live heap, at least
	maxPercent = 1000 // a nearly empty heap is not allowed to grow without bound in proportion
	interval   = time.Second
)

// Run keeps the collector's percentage at what gives headroom bytes over the live heap (at least 200), checking
// every second, until ctx ends. It does nothing when GOGC is set in the environment.
func Run(ctx context.Context, headroom uint64) {
	if os.Getenv("GOGC") != "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	last := minPercent
	for {
		last = adjust(headroom, last)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// adjust sets the collector's percentage for the live heap now if it differs from last, and returns it.
func adjust(headroom uint64, last int) int {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	var live uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = s[0].Value.Uint64()
	}
	if p := percent(live, headroom); p != last {
		debug.SetGCPercent(p)
		return p
	}
	return last
}

// percent is the GOGC value under which a heap with live bytes grows by headroom before the next collection,
// rounded down to a multiple of 10 (so small changes of the live heap change nothing) and kept in
// [minPercent, maxPercent].
func percent(live, headroom uint64) int {
	p := float64(headroom) * 100 / float64(max(live, 1))
	return int(max(minPercent, min(maxPercent, p))) / 10 * 10
}
