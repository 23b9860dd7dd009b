package cluster

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/events"
)

// rereads is the store's queue of containers to read again after events, and its record of the re-reads under
// way or promised, which spare an event its own re-read. All of it is under the store's mu.
//
// An event marks its container dirty; after eventSettle a goroutine (one at a time: draining) re-reads the
// dirty containers, but not one that a re-read begun after the event already read (or is reading, or was
// promised to read: promised), nor one whose cache entry shows every event of its mark (alreadyCached). A mark
// that finds an earlier re-read under way waits for it: what that re-read finds decides.
type rereads struct {
	s          *store
	dirty      map[string]*dirtyMark // container ID -> why a re-read is pending
	draining   bool                  // a goroutine re-reads the dirty containers
	refreshing map[string]time.Time  // container ID -> start of the latest re-read under way
	promised   map[string]int        // container ID -> re-reads callers promised once their call is answered
}

// eventSettle is how long an event waits before its container is re-read: a call through the manager that
// caused the event re-reads the container itself right after the engine answers, and an event that arrived
// before that re-read began needs no second one.
const eventSettle = 10 * time.Millisecond

// dirtyMark is why a container waits for a re-read: when the latest cause arrived (a re-read covers the mark
// only if it began after that, not merely after the first), and the events (none when the cause was not an
// event).
type dirtyMark struct {
	last   time.Time
	events []events.Message
	other  bool // a cause that is not an event: re-read unless a read began since
}

// mark notes that a container changed (ev: the event that says so, nil for another cause).
func (r *rereads) mark(ctx context.Context, id string, ev *events.Message) {
	r.s.mu.Lock()
	if r.dirty == nil {
		r.dirty = map[string]*dirtyMark{}
	}
	now := time.Now()
	d := r.dirty[id]
	if d == nil {
		d = &dirtyMark{}
		r.dirty[id] = d
	}
	d.last = now
	if ev != nil {
		d.events = append(d.events, *ev)
	} else {
		d.other = true
	}
	start := !r.draining
	r.draining = true
	r.s.mu.Unlock()
	if start {
		go r.drain(ctx)
	}
}

// drain re-reads the dirty containers until none is left.
func (r *rereads) drain(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
		case <-time.After(eventSettle):
		}
		todo, more := r.next(ctx)
		if !more {
			return
		}
		for _, id := range todo {
			r.s.reread(ctx, id)
		}
	}
}

// next takes the dirty marks and returns the containers to re-read now; more is false when there were none
// (draining ends).
func (r *rereads) next(ctx context.Context) (todo []string, more bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	batch := r.dirty
	r.dirty = nil
	if len(batch) == 0 || ctx.Err() != nil {
		r.draining = false
		return nil, false
	}
	for id, d := range batch {
		switch {
		case r.readSinceLocked(id, d.last) || r.showsLocked(id, d):
		case r.refreshing[id] != (time.Time{}) && !d.other:
			// A re-read that began before the event (the engine's answer overtook its event) is under way: what
			// it finds decides, at the next round, by the engine's clock (alreadyCached).
			r.requeueLocked(id, d)
		default:
			todo = append(todo, id)
		}
	}
	return todo, true
}

// requeueLocked puts a dirty mark back for the next round, merged with any that arrived meanwhile.
func (r *rereads) requeueLocked(id string, d *dirtyMark) {
	if r.dirty == nil {
		r.dirty = map[string]*dirtyMark{}
	}
	if n := r.dirty[id]; n != nil {
		d.events = append(d.events, n.events...)
		d.other = d.other || n.other
		d.last = n.last
	}
	r.dirty[id] = d
}

// showsLocked tells whether the cached container shows every event of a dirty mark (see alreadyCached).
func (r *rereads) showsLocked(id string, d *dirtyMark) bool {
	if d.other {
		return false
	}
	ct := r.s.containers[id]
	for _, ev := range d.events {
		if !alreadyCached(ct, ev) {
			return false
		}
	}
	return true
}

// readSinceLocked tells whether a re-read of container id began after t (finished, or under way), or is
// promised (it will begin later still).
func (r *rereads) readSinceLocked(id string, t time.Time) bool {
	if ct := r.s.containers[id]; ct != nil && !ct.provisional && ct.seen.After(t) {
		return true
	}
	if r.promised[id] > 0 {
		return true
	}
	started, ok := r.refreshing[id]
	return ok && started.After(t)
}

// start records that a re-read of container id begins now; promised says it is the re-read a caller promised
// (see store.promise), whose promise it ends. The inspect answer kept for the container goes.
func (r *rereads) start(id string, promised bool) time.Time {
	r.s.e.kept.forget(id)
	now := time.Now()
	r.s.mu.Lock()
	if r.refreshing == nil {
		r.refreshing = map[string]time.Time{}
	}
	if now.After(r.refreshing[id]) {
		r.refreshing[id] = now
	}
	if promised {
		if r.promised[id]--; r.promised[id] <= 0 {
			delete(r.promised, id)
		}
	}
	r.s.mu.Unlock()
	return now
}

// end records that the re-read of container id begun at started is over.
func (r *rereads) end(id string, started time.Time) {
	r.s.mu.Lock()
	if r.refreshing[id].Equal(started) {
		delete(r.refreshing, id)
	}
	r.s.mu.Unlock()
}

// eventLag bounds how long after a container's start or exit the engine reports it.
const eventLag = 2 * time.Second

// alreadyCached tells whether the cached container already shows what the event reports, so it needs no
// re-read: a create through this manager (putCreated has the re-read in hand; any later read shows it), or a
// start or exit the cache holds with the engine's own time just before the event's (a call through the
// manager re-reads the container after the engine answered, often before the event arrives).
func alreadyCached(ct *Container, m events.Message) bool {
	if ct == nil || ct.RunState == nil {
		return false
	}
	at := time.Unix(0, m.TimeNano)
	near := func(t time.Time) bool { return !t.IsZero() && !t.After(at) && at.Sub(t) < eventLag }
	switch m.Action {
	case events.ActionCreate:
		return true
	case events.ActionStart:
		return !ct.provisional && ct.RunState.Running && near(ct.times.started)
	case events.ActionDie:
		return !ct.provisional && !ct.RunState.Running && near(ct.times.finished)
	}
	return false
}
