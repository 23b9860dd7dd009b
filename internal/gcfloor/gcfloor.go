// Package gcfloor gives the garbage collector a floor of headroom: a collection starts once the heap has grown
// by GOGC percent of what is live or by a fixed number of bytes, whichever is more. A manager of a small or
// middling cluster has a small live heap that its request load churns through quickly; with the default
// GOGC=100 it collects several times a second under load, each collection costing CPU the requests need. With
// the floor, such a manager collects a few times less often for at most that many more bytes; a large heap
// (where the floor is under GOGC's own headroom) is collected as before. An operator's GOGC is left alone.
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
	minPercent = 100  // GOGC's default: the floor only ever raises it
	maxPercent = 1000 // a nearly empty heap is not allowed to grow without bound in proportion
	interval   = time.Second
)

// Run keeps the collector's percentage at what gives headroom bytes over the live heap (at least 100), checking
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
