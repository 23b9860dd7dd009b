package cluster

import (
	"context"
	"net/http"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// Orphans: a create whose connection broke may still have made the container on the engine, while the client
// was told it failed. Such swarm IDs are "doomed" on that engine. The engine is asked for them at once, and
// whenever its containers are next seen (a refresh, an event, or when it comes back) a container carrying a
// doomed swarm ID is removed. A failed create thus never leaves a container behind. A later create with the
// same swarm ID that succeeds (a retry, a reschedule) is confirmed by its container ID and kept.

// doom marks a swarm ID as not to exist on e and removes any such container the engine already holds.
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
	go e.sweepDoomed(c.ctx, swarmID)
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

// sweepDoomed asks the engine itself for containers carrying swarmID, so an orphan goes even when its create
// event never reached the cache. When the engine cannot answer now, the refresh that next sees it removes it.
func (e *Engine) sweepDoomed(ctx context.Context, swarmID string) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", LabelSwarmID+"="+swarmID))
	list, err := e.client.ContainerList(cctx, container.ListOptions{All: true, Filters: f})
	e.checkErr(err)
	if err != nil {
		return
	}
	for _, s := range list {
		if s.Labels[LabelSwarmID] == swarmID && e.isDoomed(swarmID, s.ID) {
			e.removeOrphan(ctx, s.ID)
		}
	}
}

// removeDoomed removes cached containers carrying a doomed swarm ID; it runs after every full refresh.
func (e *Engine) removeDoomed(ctx context.Context) {
	e.mu.RLock()
	if len(e.doomed) == 0 {
		e.mu.RUnlock()
		return
	}
	var victims []string
	for _, ct := range e.containers {
		if e.isDoomedLocked(ct.SwarmID(), ct.ID) {
			victims = append(victims, ct.ID)
		}
	}
	e.mu.RUnlock()
	for _, id := range victims {
		e.removeOrphan(ctx, id)
	}
}

// isDoomed tells whether container id, carrying swarmID, is an orphan to remove.
func (e *Engine) isDoomed(swarmID, id string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.isDoomedLocked(swarmID, id)
}

func (e *Engine) isDoomedLocked(swarmID, id string) bool {
	keep, ok := e.doomed[swarmID]
	return ok && !keep[id] && e.inflight[swarmID] == 0
}

func (e *Engine) removeOrphan(ctx context.Context, id string) {
	q := map[string][]string{"force": {"1"}, "v": {"1"}}
	if _, err := e.Do(ctx, http.MethodDelete, "", "/containers/"+id, q, nil, nil, nil); err == nil || engineStatus(err) == http.StatusNotFound {
		e.forget(id)
	}
}
