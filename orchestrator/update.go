package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// rollout paces the replacement of a service's out-of-date tasks, as its update (or rollback) config says:
// Parallelism slots at a time (0: all), each replacer resting Delay after its slot's new task runs (or failed)
// before it takes the next, each new task watched for Monitor; failures beyond MaxFailureRatio trigger the
// FailureAction. It lives in the primary's memory: a new primary starts a
// fresh one from what the store and the engines say (the slots already done are no longer out of date).
type rollout struct {
	hash     string    // the spec rolled out
	at       time.Time // the service's UpdatedAt its config was read at (a user's update changes it)
	cfg      swarm.UpdateConfig
	rollback bool
	batch    map[slotKey]time.Time // slots being replaced, since when
	resting  []time.Time           // replacers done with a slot: until when each rests (Delay)
	watch    map[slotKey]time.Time // slots whose new task is watched, until when
	done     int                   // slots replaced
	failures int
	failed   string // the last failed task's ID
	halted   bool   // paused (or rolled back): no more replacements
}

// rollout returns the service's rollout: a fresh one if the spec its tasks run changed; the same one, with
// the service's update config read again, after an update that changed only that (or the replicas), so the
// slots under way still count against the pace. A rollout is never dropped by the update itself: a pass
// that read the new spec may already have started its first slots.
func (p *pass) rollout(s swarm.Service) *rollout {
	hash := curHash(s)
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	r := p.m.updates[s.ID]
	switch {
	case r == nil || r.hash != hash:
		r = &rollout{hash: hash, batch: map[slotKey]time.Time{}, watch: map[slotKey]time.Time{}}
		r.configure(s)
		p.m.updates[s.ID] = r
	case !r.at.Equal(s.UpdatedAt):
		r.configure(s)
	}
	return r
}

// configure reads the rollout's config and state from the service as last updated.
func (r *rollout) configure(s swarm.Service) {
	st := s.UpdateStatus
	r.at = s.UpdatedAt
	r.rollback = st != nil && (st.State == swarm.UpdateStateRollbackStarted || st.State == swarm.UpdateStateRollbackPaused)
	cfg := s.Spec.UpdateConfig
	if r.rollback {
		cfg = s.Spec.RollbackConfig
	}
	r.cfg = swarm.UpdateConfig{}
	if cfg != nil {
		r.cfg = *cfg
	}
	r.halted = st != nil && (st.State == swarm.UpdateStatePaused || st.State == swarm.UpdateStateRollbackPaused)
}

func (o *shared) forgetRollout(id string) {
	m := o.memo()
	m.mu.Lock()
	delete(m.updates, id)
	m.mu.Unlock()
}

// replace gives slot k the service's current spec, if the rollout's pace allows it now: stop-first stops the
// old task before the new one starts; start-first starts the new one first (the old is stopped once the new
// one runs, see stale).
func (r *rollout) replace(p *pass, s swarm.Service, k slotKey, cur *task) []step {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	r.resting = slices.DeleteFunc(r.resting, func(until time.Time) bool { return !p.now.Before(until) })
	if r.halted || (r.cfg.Parallelism > 0 && uint64(len(r.batch)+len(r.resting)) >= r.cfg.Parallelism) {
		return nil
	}
	r.batch[k] = p.now
	r.done++
	create := p.o.create(s, k, "")
	if cur.running() && r.cfg.Order != swarm.UpdateOrderStartFirst && cur.ct != nil {
		return []step{p.o.stop(cur), create}
	}
	return []step{create}
}

// settle follows the slots being replaced: one whose new task runs is done (and watched for Monitor); one whose
// new task failed counts as a failure; either way its replacer rests Delay. It writes the service's
// UpdateStatus when the rollout pauses, rolls back or completes.
func (r *rollout) settle(p *pass, s swarm.Service) {
	hash := curHash(s)
	p.m.mu.Lock()
	for k := range r.batch {
		cur := p.v.current(k)
		switch {
		case cur != nil && cur.Hash == hash && cur.state == swarm.TaskStateRunning:
			r.slotDone(p, k)
			r.watch[k] = p.now.Add(r.monitor())
		case cur != nil && cur.Hash == hash && cur.ended():
			r.slotDone(p, k)
			r.failures++
			r.failed = cur.ID
		}
	}
	for k, until := range r.watch {
		cur := p.v.current(k)
		switch {
		case cur != nil && cur.Hash == hash && cur.ended() && cur.state != swarm.TaskStateShutdown:
			delete(r.watch, k)
			r.failures++
			r.failed = cur.ID
		case p.now.After(until):
			delete(r.watch, k)
		}
	}
	failing := r.failures > 0 && float32(r.failures)/float32(max(r.done, 1)) > r.cfg.MaxFailureRatio
	complete := len(r.batch) == 0 && len(r.watch) == 0 && !p.outdated(s)
	halted := r.halted
	p.m.mu.Unlock()
	switch {
	case failing && !halted && r.cfg.FailureAction != swarm.UpdateFailureActionContinue:
		p.fail(s, r)
	case complete && updating(s.UpdateStatus):
		p.writeStatus(s, r.finished())
	}
}

// slotDone ends slot k's replacement; its replacer rests Delay before the next.
func (r *rollout) slotDone(p *pass, k slotKey) {
	delete(r.batch, k)
	if r.cfg.Delay > 0 {
		r.resting = append(r.resting, p.now.Add(r.cfg.Delay))
	}
}

func (r *rollout) monitor() time.Duration {
	if r.cfg.Monitor > 0 {
		return r.cfg.Monitor
	}
	return defaultMonitor
}

func updating(st *swarm.UpdateStatus) bool {
	return st != nil && (st.State == swarm.UpdateStateUpdating || st.State == swarm.UpdateStateRollbackStarted)
}

func (r *rollout) finished() swarm.UpdateStatus {
	if r.rollback {
		return swarm.UpdateStatus{State: swarm.UpdateStateRollbackCompleted, Message: "rollback completed"}
	}
	return swarm.UpdateStatus{State: swarm.UpdateStateCompleted, Message: "update completed"}
}

// outdated tells whether any wanted slot's current task runs another spec, or is still to be made.
func (p *pass) outdated(s swarm.Service) bool {
	hash := curHash(s)
	for _, k := range p.v.bySvc[s.ID] {
		if ts := p.v.slots[k]; p.v.wanted(s, k) && (ts[0].Hash != hash || ts[0].state != swarm.TaskStateRunning) {
			return true
		}
	}
	return false
}

// fail applies the failure action: pause, or roll back to the previous spec.
func (p *pass) fail(s swarm.Service, r *rollout) {
	p.m.mu.Lock()
	r.halted = true
	p.m.mu.Unlock()
	cause := fmt.Sprintf("due to failure or early termination of task %s", r.failed)
	if r.cfg.FailureAction == swarm.UpdateFailureActionRollback && !r.rollback && s.PreviousSpec != nil {
		now := time.Now().UTC()
		prev := s.Spec
		s.Spec, s.PreviousSpec, s.UpdatedAt = *s.PreviousSpec, &prev, now
		s.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateStateRollbackStarted, StartedAt: &now, Message: "update rolled back " + cause}
		if written, ok := p.put(s); ok {
			p.o.specs.wrote(written)
		}
		return
	}
	st := swarm.UpdateStatus{State: swarm.UpdateStatePaused, Message: "update paused " + cause}
	if r.rollback {
		st = swarm.UpdateStatus{State: swarm.UpdateStateRollbackPaused, Message: "rollback paused " + cause}
	}
	p.writeStatus(s, st)
}

func (p *pass) writeStatus(s swarm.Service, st swarm.UpdateStatus) {
	now := time.Now().UTC()
	if s.UpdateStatus != nil {
		st.StartedAt = s.UpdateStatus.StartedAt
	}
	st.CompletedAt = &now
	if st.State == swarm.UpdateStatePaused || st.State == swarm.UpdateStateRollbackPaused {
		st.CompletedAt = nil
	}
	s.UpdateStatus = &st
	p.put(s)
}

// put writes the service back; a conflict (a user's update came first) is left to the next pass.
func (p *pass) put(s swarm.Service) (swarm.Service, bool) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	written, err := p.o.store.PutService(ctx, s)
	if err != nil {
		p.o.log.Info("orchestrator: writing a service's update status", "service", s.Spec.Name, "err", err)
		return s, false
	}
	return written, true
}
