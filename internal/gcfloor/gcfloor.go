// Package gcfloor sets the garbage collector's pace for the manager: a collection starts once the heap has
// grown by twice what is live (GOGC=200) or by a fixed number of bytes, whichever is more. Marking costs in
// proportion to the live heap, and a manager's live heap is its cache: at 10,000 engines x 30 containers
// ~600 MB that took ~1.5 s of CPU to mark, which under GOGC's default of 100 happened every ~20 s of create
// load and held back every request meanwhile (assists). A small live heap (1,000 engines: ~100 MB) churned
// through by requests gets the fixed headroom instead, so it is not collected several times a second. The cost
// is memory: peak RSS at 10,000 x 30 ~1.7 -> ~2.6 GiB, at 1,000 x 30 ~0.2 -> ~0.37 GiB (BENCHMARKS.md).
// An operator's GOGC is left alone.
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
