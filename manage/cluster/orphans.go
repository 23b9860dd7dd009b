package cluster

import (
	"context"
	"net/http"
)

// Orphans: a create whose connection broke may still have made the container on the engine, while the client
// was told it failed. Such swarm IDs are "doomed" on that engine; whenever the engine's containers are next
// seen (now, or when it comes back), a container carrying a doomed swarm ID is removed. A failed create thus
// never leaves a container behind. A later create with the same swarm ID that succeeds (a retry, a
// reschedule) is confirmed by its container ID and kept.

// doom marks a swarm ID as not to exist on e and removes it at once if it is already there.
func (c *Cluster) doom(e *Engine, swarmID string) {
	if swarmID == "" {
		return
	}
	e.mu.Lock()
	if e.doomed == nil {
		e.doomed = map[string]map[string]bool{}
	}
	if e.doomed[swarmID] == nil {
		e.doomed[swarmID] = map[string]bool{}
	}
	e.mu.Unlock()
	go e.removeDoomed(c.ctx)
}

// creating marks a create of swarmID in flight on e: its container is not judged until done is called.
func (e *Engine) creating(swarmID string) (done func(id string)) {
	e.mu.Lock()
	if e.inflight == nil {
		e.inflight = map[string]int{}
	}
	e.inflight[swarmID]++
	e.mu.Unlock()
	return func(id string) {
		e.mu.Lock()
		if keep := e.doomed[swarmID]; keep != nil && id != "" {
			keep[id] = true // the API reported it created: it stays
		}
		e.inflight[swarmID]--
		if e.inflight[swarmID] == 0 {
			delete(e.inflight, swarmID)
		}
		e.mu.Unlock()
	}
}

// removeDoomed removes cached containers carrying a doomed swarm ID; it runs after every full refresh.
func (e *Engine) removeDoomed(ctx context.Context) {
	e.mu.RLock()
	if len(e.doomed) == 0 {
		e.mu.RUnlock()
		return
	}
	var victims []*Container
	for _, ct := range e.containers {
		if keep, ok := e.doomed[ct.SwarmID()]; ok && !keep[ct.ID] && e.inflight[ct.SwarmID()] == 0 {
			victims = append(victims, ct)
		}
	}
	e.mu.RUnlock()
	for _, ct := range victims {
		q := map[string][]string{"force": {"1"}, "v": {"1"}}
		if _, err := e.Do(ctx, http.MethodDelete, "", "/containers/"+ct.ID, q, nil, nil, nil); err == nil {
			e.forget(ct.ID)
		}
	}
}
