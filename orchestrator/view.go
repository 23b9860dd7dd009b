package orchestrator

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

// view is one reading of desired and actual state: the services, and every task grouped by slot, newest
// first (the newest task of a slot is its current one).
type view struct {
	services map[string]swarm.Service
	order    []string // service IDs, sorted
	slots    map[slotKey][]*task
	bySvc    map[string][]slotKey // each service's slots (keys of slots)
	orphans  []*task              // task containers of services that no longer exist
}

// view reads every service and task (scope nil), or only the services whose IDs are in scope and their tasks
// (an API call about some services need not build the slots of all).
func (o *shared) view(m *memory, scope map[string]bool) *view {
	v := &view{services: map[string]swarm.Service{}, slots: map[slotKey][]*task{}, bySvc: map[string][]slotKey{}}
	for _, s := range o.scopedServices(scope) {
		v.services[s.ID] = s
		v.order = append(v.order, s.ID)
	}
	in := func(t *task) bool { return scope == nil || scope[t.ServiceID] }
	m.mu.Lock()
	o.observed.each(o.cl.Engines(), func(t *task) {
		if !in(t) {
			return
		}
		if m.shut[t.ID] && t.ended() {
			t, _ = observe(t.ct, true)
			if m.unhealthy[t.ID] {
				t.failedUnhealthy()
			}
		}
		v.add(t)
	})
	for _, t := range m.loose {
		if in(t) && !slices.ContainsFunc(v.slots[t.key()], func(x *task) bool { return x.ID == t.ID }) {
			v.add(t)
		}
	}
	m.mu.Unlock()
	for k, ts := range v.slots {
		slices.SortFunc(ts, newestFirst)
		v.slots[k] = ts
	}
	return v
}

// scopedServices are the stored services, all (scope nil) or those in scope, sorted by ID.
func (o *shared) scopedServices(scope map[string]bool) []swarm.Service {
	if scope == nil {
		return o.store.Services()
	}
	var out []swarm.Service
	for id := range scope {
		if s, ok := o.store.Service(id); ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b swarm.Service) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// observedTasks keeps each engine's task containers, read as tasks (as if this primary had shut none down),
// with the generation of the engine's containers they were read at: a view reads again only the engines whose
// containers changed since the last one.
type observedTasks struct {
	mu  sync.Mutex
	per map[*cluster.Engine]engineTasks
}

type engineTasks struct {
	gen   uint64
	tasks []*task
}

// each calls f with every task container of engines (tasks are shared: f must not change them).
func (x *observedTasks) each(engines []*cluster.Engine, f func(*task)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	next := make(map[*cluster.Engine]engineTasks, len(engines))
	for _, e := range engines {
		et, ok := x.per[e]
		if gen := e.ContainersGen(); !ok || et.gen != gen {
			et = engineTasks{gen: gen}
			for _, ct := range e.Containers() {
				if t, ok := observe(ct, false); ok {
					et.tasks = append(et.tasks, t)
				}
			}
		}
		next[e] = et
		for _, t := range et.tasks {
			f(t)
		}
	}
	x.per = next
}

// each calls f with every task of the view, orphans included.
func (v *view) each(f func(*task)) {
	for _, ts := range v.slots {
		for _, t := range ts {
			f(t)
		}
	}
	for _, t := range v.orphans {
		f(t)
	}
}

func (v *view) add(t *task) {
	if _, ok := v.services[t.ServiceID]; !ok {
		v.orphans = append(v.orphans, t)
		return
	}
	k := t.key()
	ts, ok := v.slots[k]
	if !ok {
		v.bySvc[k.service] = append(v.bySvc[k.service], k)
	}
	v.slots[k] = append(ts, t)
}

func newestFirst(a, b *task) int {
	if c := b.created.Compare(a.created); c != 0 {
		return c
	}
	if a.ct == nil || b.ct == nil { // a task without a container was made after the one with
		return boolCmp(a.ct == nil, b.ct == nil)
	}
	return strings.Compare(b.ID, a.ID)
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// current is the slot's current task, nil for none.
func (v *view) current(k slotKey) *task {
	if ts := v.slots[k]; len(ts) > 0 {
		return ts[0]
	}
	return nil
}

// wanted tells whether the service still wants a slot: replicated slots up to Replicas, and global slots
// whose node exists (whether the node fits is the reconciler's business).
func (v *view) wanted(s swarm.Service, k slotKey) bool {
	if s.Spec.Mode.Global != nil {
		return k.slot == 0
	}
	return k.slot >= 1 && s.Spec.Mode.Replicated != nil && uint64(k.slot) <= *s.Spec.Mode.Replicated.Replicas
}

// desiredState is what the manager wants of a task: running for the current task of a wanted slot (unless it
// ended and is not to be restarted, which the API does not tell apart), shutdown otherwise.
func (v *view) desiredState(t *task) swarm.TaskState {
	s, ok := v.services[t.ServiceID]
	if !ok || !v.wanted(s, t.key()) || v.current(t.key()) != t || t.state == swarm.TaskStateShutdown {
		return swarm.TaskStateShutdown
	}
	return swarm.TaskStateRunning
}

// publish adds a swarm-scope event of the orchestrator's to the cluster's stream.
func (o *shared) publish(typ events.Type, action events.Action, id string, attrs map[string]string) {
	now := time.Now()
	o.cl.Publish(cluster.Event{Message: events.Message{Type: typ, Action: action, Scope: "swarm",
		Actor: events.Actor{ID: id, Attributes: attrs}, Time: now.Unix(), TimeNano: now.UnixNano()}})
}

func (o *shared) saveAuth(id, auth string) {
	if auth != "" {
		o.auths.Store(id, auth)
	}
}

func (o *shared) authOf(id string) string {
	if a, ok := o.auths.Load(id); ok {
		return a.(string)
	}
	return ""
}
