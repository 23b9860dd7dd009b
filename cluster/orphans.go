package cluster

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"

	"swarm/internal/backoff"
)

// orphans make sure a create whose outcome is unknown leaves no container behind. A create whose connection
// broke (or that the engine failed on its side) may still have made the container while the client was told it
// failed: its swarm ID is then doomed on that engine. The engine is asked for such containers at once, and
// whenever its containers are next seen (a refresh, a re-read, its return) one carrying a doomed swarm ID is
// removed. A later create with the same swarm ID that succeeds (a retry, a reschedule) is confirmed by its
// container ID and kept. Fields under the store's mu.
type orphans struct {
	s        *store
	doomed   map[string]map[string]bool // swarm ID of a failed create -> container IDs confirmed since
	inflight map[string]int             // swarm ID -> creates in flight on this engine
	retrying map[string]bool            // container IDs whose removal is being tried again
}

// removeRetries is how many more times the removal of an orphan the engine refused is tried, removeRetry the
// first pause between tries (doubling up to 8 s: about a minute in all). An engine can refuse to remove a
// container for a while after making it, or after its own restart ("device or resource busy" from its storage
// driver); a refresh that sees the orphan again after that tries once more.
const (
	removeRetries = 8
	removeRetry   = 500 * time.Millisecond
)

// creating marks a create of swarmID in flight: its container is not judged until done is called with the
// container's ID ("" when the create failed).
func (o *orphans) creating(swarmID string) (done func(id string)) {
	o.s.mu.Lock()
	if o.inflight == nil {
		o.inflight = map[string]int{}
	}
	o.inflight[swarmID]++
	o.s.mu.Unlock()
	return func(id string) {
		o.s.mu.Lock()
		if keep := o.doomed[swarmID]; keep != nil && id != "" {
			keep[id] = true // the API reported it created: it stays
		}
		if o.inflight[swarmID]--; o.inflight[swarmID] <= 0 {
			delete(o.inflight, swarmID)
		}
		o.s.mu.Unlock()
	}
}

// inFlight tells whether a create of swarmID through this manager is in flight on the engine.
func (o *orphans) inFlight(swarmID string) bool {
	o.s.mu.RLock()
	defer o.s.mu.RUnlock()
	return o.inflight[swarmID] > 0
}

// doom marks swarmID as not to exist on the engine and removes any such container it already holds.
func (o *orphans) doom(ctx context.Context, swarmID string) {
	if swarmID == "" {
		return
	}
	o.s.mu.Lock()
	if o.doomed == nil {
		o.doomed = map[string]map[string]bool{}
	}
	if o.doomed[swarmID] == nil {
		o.doomed[swarmID] = map[string]bool{}
	}
	o.s.mu.Unlock()
	go o.sweep(ctx, swarmID)
}

// sweep asks the engine itself for containers carrying swarmID, so an orphan goes even when its create event
// never reached the cache. When the engine cannot answer now, the refresh that next sees it removes it.
func (o *orphans) sweep(ctx context.Context, swarmID string) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	conn := o.s.e.conn
	f := filters.NewArgs(filters.Arg("label", LabelSwarmID+"="+swarmID))
	list, err := conn.client.ContainerList(cctx, container.ListOptions{All: true, Filters: f})
	if conn.typed(err) != nil {
		return
	}
	for _, s := range list {
		if s.Labels[LabelSwarmID] == swarmID && o.isDoomed(swarmID, s.ID) {
			o.remove(ctx, swarmID, s.ID)
		}
	}
}

// removeDoomed removes the cached containers carrying a doomed swarm ID; it runs after every full refresh.
func (o *orphans) removeDoomed(ctx context.Context) {
	o.s.mu.RLock()
	if len(o.doomed) == 0 {
		o.s.mu.RUnlock()
		return
	}
	var victims []*Container
	for _, ct := range o.s.containers {
		if o.isDoomedLocked(ct.SwarmID(), ct.ID) {
			victims = append(victims, ct)
		}
	}
	o.s.mu.RUnlock()
	for _, ct := range victims {
		o.remove(ctx, ct.SwarmID(), ct.ID)
	}
}

func (o *orphans) isDoomed(swarmID, id string) bool {
	o.s.mu.RLock()
	defer o.s.mu.RUnlock()
	return o.isDoomedLocked(swarmID, id)
}

// isDoomedLocked tells whether container id, carrying swarmID, is an orphan to remove.
func (o *orphans) isDoomedLocked(swarmID, id string) bool {
	keep, ok := o.doomed[swarmID]
	return ok && !keep[id] && o.inflight[swarmID] == 0
}

// remove removes orphan id (carrying swarmID); when the engine refuses, it is tried again in the background
// (see removeRetries) while it is still an orphan.
func (o *orphans) remove(ctx context.Context, swarmID, id string) {
	if o.removed(ctx, id) {
		return
	}
	o.s.mu.Lock()
	busy := o.retrying[id]
	if !busy {
		if o.retrying == nil {
			o.retrying = map[string]bool{}
		}
		o.retrying[id] = true
	}
	o.s.mu.Unlock()
	if !busy {
		go o.retry(o.s.e.lifeCtx(ctx), swarmID, id)
	}
}

func (o *orphans) retry(ctx context.Context, swarmID, id string) {
	defer func() {
		o.s.mu.Lock()
		delete(o.retrying, id)
		o.s.mu.Unlock()
	}()
	d := backoff.Delay{Min: removeRetry, Max: 8 * time.Second, Jitter: true}
	for range removeRetries {
		if !d.Wait(ctx) || !o.isDoomed(swarmID, id) || o.removed(ctx, id) {
			return
		}
	}
}

// removed removes container id from the engine and the cache; it reports whether the container is gone.
func (o *orphans) removed(ctx context.Context, id string) bool {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := o.s.e.removeContainer(cctx, id); err != nil && !errdefs.IsNotFound(err) {
		return false
	}
	o.s.forget(id)
	return true
}
