package orchestrator

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// pass is one reconciling pass: what it read, and the memory of the primary's term.
type pass struct {
	o   *reconciler
	ctx context.Context
	m   *memory
	v   *view
	ns  nodes
	now time.Time
}

// reconcile makes one pass over every service, then removes the tasks of services that are gone.
func (o *reconciler) reconcile(ctx context.Context) {
	m := o.memo()
	p := &pass{o: o, ctx: ctx, m: m, v: o.view(m, nil), ns: o.nodes(), now: time.Now()}
	for _, id := range p.v.order {
		s := p.v.services[id]
		r := p.rollout(s)
		if s.Spec.Mode.Global != nil {
			p.global(s, r)
		} else {
			p.replicated(s, r)
		}
		p.dropUnwanted(s)
		r.settle(p, s)
	}
	for _, t := range p.v.orphans {
		if t.ct != nil {
			o.act(ctx, m, t.key(), o.remove(t))
		}
	}
	o.syncRecords(ctx, m, p.v.services)
}

// replicated keeps slots 1..Replicas.
func (p *pass) replicated(s swarm.Service, r *rollout) {
	for slot := 1; slot <= int(*s.Spec.Mode.Replicated.Replicas); slot++ {
		p.slot(s, slotKey{s.ID, slot, ""}, r)
	}
}

// global keeps one slot per node that accepts tasks and fits the service; a drained node's task is shut down.
func (p *pass) global(s swarm.Service, r *rollout) {
	for _, n := range p.ns.list {
		k := slotKey{s.ID, 0, n.ID}
		cur := p.v.current(k)
		switch {
		case !n.ready:
			continue // its task stays; global tasks do not move
		case n.availability == swarm.NodeAvailabilityDrain:
			if cur != nil && cur.ct != nil && cur.running() {
				p.o.act(p.ctx, p.m, k, p.o.stop(cur))
			}
			continue
		case cur == nil && (n.availability != swarm.NodeAvailabilityActive || p.skipped(k)):
			continue
		}
		p.slot(s, k, r)
	}
}

func (p *pass) skipped(k slotKey) bool {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	return p.now.Before(p.m.skip[k])
}

// dropUnwanted removes the tasks of slots the service no longer wants (scaled down), and of global slots
// whose node left.
func (p *pass) dropUnwanted(s swarm.Service) {
	for _, k := range p.v.bySvc[s.ID] {
		ts := p.v.slots[k]
		if p.v.wanted(s, k) && (k.node == "" || p.ns.byID[k.node] != nil) {
			continue
		}
		var steps []step
		for _, t := range ts {
			steps = append(steps, p.o.remove(t))
		}
		p.o.act(p.ctx, p.m, k, steps...)
	}
}

// slot decides what one slot needs: a first task, a replacement (its node is down or drained, or its task
// ended and the restart policy says so), the service's new spec (at the update's pace), the removal of stale
// copies and of history beyond the limit.
func (p *pass) slot(s swarm.Service, k slotKey, r *rollout) {
	if p.busy(k) {
		return
	}
	ts := p.v.slots[k]
	cur := p.v.current(k)
	if cur != nil && cur.ct == nil { // a task that could not start: moot if an older copy runs where it may
		if alt := p.runningKept(ts); alt != nil {
			p.m.mu.Lock()
			delete(p.m.loose, k)
			p.m.mu.Unlock()
			cur = alt
		}
	}
	hash := curHash(s)
	var steps []step
	switch {
	case cur == nil:
		steps = append(steps, p.o.create(s, k, ""))
	case cur.ct == nil: // pending or rejected
		if p.now.Sub(cur.created) >= retryLoose {
			steps = append(steps, p.o.create(s, k, ""))
		}
	case cur.running() && !p.keeps(cur):
		steps = append(steps, p.o.create(s, k, ""))
		if p.reachable(cur) {
			steps = append([]step{p.o.stop(cur)}, steps...)
		}
	case cur.running() && cur.Hash != hash:
		steps = r.replace(p, s, k, cur)
	case cur.unhealthy && p.reachable(cur):
		steps = append(steps, p.o.stopUnhealthy(cur)) // then restarted as a failed task, by the policy
	case cur.ended():
		steps = p.restart(s, k, cur, r)
	}
	steps = append(steps, p.stale(k, ts, cur)...)
	p.o.act(p.ctx, p.m, k, steps...)
}

func (p *pass) runningKept(ts []*task) *task {
	for _, t := range ts {
		if t.ct != nil && t.running() && p.keeps(t) {
			return t
		}
	}
	return nil
}

func (p *pass) busy(k slotKey) bool {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	return p.m.busy[k]
}

// keeps tells whether the task's node keeps it: up, and not drained.
func (p *pass) keeps(t *task) bool {
	n := p.ns.byID[t.NodeID]
	return n != nil && n.keepsTasks()
}

// reachable tells whether calls can reach the task's node.
func (p *pass) reachable(t *task) bool {
	n := p.ns.byID[t.NodeID]
	return n != nil && n.ready
}

// stale handles the slot's tasks other than the current one: a copy still running is stopped once the current
// task runs (the old task of a start-first update) or removed (a copy replaced while its node was down: never
// two tasks in one slot); ended ones beyond the history limit are removed.
func (p *pass) stale(k slotKey, ts []*task, cur *task) []step {
	var steps []step
	ended := 0
	if cur == nil || cur.ct == nil {
		return nil
	}
	for _, t := range ts {
		if t == cur || (t.ct != nil && !p.reachable(t)) {
			continue
		}
		switch {
		case t.unhealthy:
			steps = append(steps, p.o.stopUnhealthy(t))
		case t.running() && t.ct != nil && t.Hash == cur.Hash:
			steps = append(steps, p.o.remove(t))
		case t.running() && t.ct != nil && (cur.state == swarm.TaskStateRunning || !cur.running()):
			steps = append(steps, p.o.stop(t))
		case t.ended():
			if ended++; ended > p.o.cfg.HistoryLimit {
				steps = append(steps, p.o.remove(t))
			}
		}
	}
	return steps
}

// restart applies the restart policy to a slot whose current task ended: a new task after the policy's delay,
// while the attempts in the window allow; a failed task's node is avoided when another fits. A task of an old
// spec is replaced at the update's pace instead (an update stopped it, perhaps under an earlier primary).
func (p *pass) restart(s swarm.Service, k slotKey, cur *task, r *rollout) []step {
	if cur.Hash != curHash(s) && !r.halted {
		return r.replace(p, s, k, cur)
	}
	rp := s.Spec.TaskTemplate.RestartPolicy
	cond, delay := swarm.RestartPolicyConditionAny, defaultRestartDelay
	if rp != nil {
		if rp.Condition != "" {
			cond = rp.Condition
		}
		if rp.Delay != nil {
			delay = *rp.Delay
		}
	}
	switch {
	case cond == swarm.RestartPolicyConditionNone,
		cond == swarm.RestartPolicyConditionOnFailure && cur.state == swarm.TaskStateComplete:
		return nil
	case p.now.Sub(p.endedAt(cur)) < delay || !p.attemptAllowed(k, rp):
		return nil
	}
	avoid := ""
	if cur.state == swarm.TaskStateFailed {
		avoid = cur.NodeID
	}
	p.m.mu.Lock()
	p.m.restarts[k] = append(p.m.restarts[k], p.now)
	p.m.mu.Unlock()
	return []step{p.o.create(s, k, avoid)}
}

// endedAt is when the task ended, as the engine said or as this primary first saw it.
func (p *pass) endedAt(t *task) time.Time {
	if t.ct != nil && t.ct.RunState != nil {
		if ts, err := time.Parse(time.RFC3339Nano, t.ct.RunState.FinishedAt); err == nil && ts.Year() > 1 {
			return ts
		}
	}
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	at, ok := p.m.endedAt[t.ID]
	if !ok {
		at = p.now
		p.m.endedAt[t.ID] = at
	}
	return at
}

// attemptAllowed counts the restarts of the slot in the policy's window against its maximum.
func (p *pass) attemptAllowed(k slotKey, rp *swarm.RestartPolicy) bool {
	if rp == nil || rp.MaxAttempts == nil || *rp.MaxAttempts == 0 {
		return true
	}
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	n := 0
	for _, at := range p.m.restarts[k] {
		if rp.Window == nil || *rp.Window == 0 || p.now.Sub(at) <= *rp.Window {
			n++
		}
	}
	return uint64(n) < *rp.MaxAttempts
}
