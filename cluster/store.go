package cluster

import (
	"sync"
	"sync/atomic"
	"time"
)

// store is the cache of one engine's containers. It is kept current three ways: calls through the manager
// re-read what they change (store_reread.go), the engine's events mark containers for a re-read unless the
// cache already shows them (rereads.go), and a periodic list catches anything missed (store_list.go).
//
// Invariants, all under mu:
//   - containers holds the newest entry the manager has of each of the engine's containers; an entry is never
//     changed once stored (a change stores a new one), so readers use entries without the lock;
//   - removed holds the containers removed since the last list was taken, so that list (read before the
//     removal) does not bring them back;
//   - gen moves at every change of containers (written under mu, read without it by the views); listed is gen
//     as of the last list taken in, listSum that list's hash: a refresh that lists the same on an unchanged
//     cache decodes nothing;
//   - execs maps the exec instances made through the manager to their container, and goes with it.
type store struct {
	e          *Engine
	mu         sync.RWMutex
	containers map[string]*Container // by full ID
	removed    map[string]time.Time
	execs      map[string]string // exec ID -> container ID
	gen        atomic.Uint64
	listed     uint64
	listSum    uint64
	rereads    rereads
	orphans    orphans
}

func newStore(e *Engine) *store {
	s := &store{e: e, containers: map[string]*Container{}, execs: map[string]string{}}
	s.rereads.s, s.orphans.s = s, s
	return s
}

// get is the cached container with full ID id, nil if none.
func (s *store) get(id string) *Container {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.containers[id]
}

// all is every cached container.
func (s *store) all() []*Container { return s.appendTo(make([]*Container, 0, s.count())) }

// appendTo appends every cached container to out.
func (s *store) appendTo(out []*Container) []*Container {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.containers {
		out = append(out, c)
	}
	return out
}

func (s *store) count() int { s.mu.RLock(); defer s.mu.RUnlock(); return len(s.containers) }

// changedLocked records a change of containers: the views, the cluster's sorted list and the scheduler's node
// list follow gen. Callers hold mu for writing.
func (s *store) changedLocked() {
	s.gen.Add(1)
	s.e.set.containers.Add(1)
	s.e.set.dirty.mark(s.e)
}

// removeLocked drops a container the engine no longer has, and what goes with it. Callers hold mu for writing.
func (s *store) removeLocked(id string) {
	delete(s.containers, id)
	delete(s.rereads.dirty, id)
	if s.removed == nil {
		s.removed = map[string]time.Time{}
	}
	s.removed[id] = time.Now()
	for x, cid := range s.execs {
		if cid == id {
			delete(s.execs, x)
		}
	}
	s.changedLocked()
}

// forget drops a container from the cache (it was removed, or moved elsewhere).
func (s *store) forget(id string) {
	s.mu.Lock()
	s.removeLocked(id)
	s.mu.Unlock()
}

// remember puts a container back (a reschedule that failed), unless one with its ID is cached.
func (s *store) remember(ct *Container) {
	s.mu.Lock()
	if _, ok := s.containers[ct.ID]; !ok {
		s.containers[ct.ID] = ct
		s.changedLocked()
	}
	s.mu.Unlock()
}

// recordExec remembers the container of an exec instance.
func (s *store) recordExec(execID, containerID string) {
	s.mu.Lock()
	s.execs[execID] = containerID
	s.mu.Unlock()
}

// hasExec tells whether an exec instance is known to run on the engine.
func (s *store) hasExec(execID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.execs[execID]
	return ok
}

// countStates adds the cached containers to into, by state (for the metrics).
func (s *store) countStates(into map[string]int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ct := range s.containers {
		into[ct.State]++
	}
}
