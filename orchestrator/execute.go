package orchestrator

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
	"swarm/scheduler"
)

// step is one action on a slot; a slot's steps run in order, one slot's at a time.
type step func(ctx context.Context, m *memory) error

// act runs steps for slot k in the background, marking the slot busy until they end (the first failing step
// ends them); the reconciler leaves busy slots alone.
func (o *reconciler) act(ctx context.Context, m *memory, k slotKey, steps ...step) {
	if len(steps) == 0 {
		return
	}
	m.mu.Lock()
	if m.busy[k] {
		m.mu.Unlock()
		return
	}
	m.busy[k] = true
	m.mu.Unlock()
	go func() {
		defer func() {
			m.mu.Lock()
			delete(m.busy, k)
			m.mu.Unlock()
			o.Kick()
		}()
		select {
		case o.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-o.slots }()
		for _, st := range steps {
			if err := st(ctx, m); err != nil {
				o.log.Debug("orchestrator: slot action failed", "service", k.service, "slot", k.slot, "node", k.node, "err", err)
				return
			}
		}
	}()
}

// retryLoose is how long a task that could not be placed or was rejected waits before another try.
const retryLoose = 5 * time.Second

// create makes a new task for slot k of s: a container placed by the scheduler (on node k.node for global
// slots; avoiding the node in avoid when another fits), started. A task that cannot be placed stays pending
// with the scheduler's explanation, one the engine refuses is rejected with its error; both are tried again.
func (o *reconciler) create(s swarm.Service, k slotKey, avoid string) step {
	return func(ctx context.Context, m *memory) error {
		id := newID()
		var extra []string
		if k.node != "" {
			extra = append(extra, "node=="+k.node)
		}
		if avoid != "" {
			extra = append(extra, "node!=~"+avoid)
		}
		name := containerName(s.Spec.Name, k.slot, k.node, id) // unique: it holds the task's random ID
		nets, err := o.attachments(ctx, s)
		if err != nil {
			o.loose(m, s, k, id, err)
			return err
		}
		resp, err := o.cl.CreateContainer(ctx, cluster.CreateRequest{Name: name, UniqueName: true,
			Parsed: containerRequest(s, id, k.slot, k.node, extra, nets), RegistryAuth: o.authOf(s.ID),
			Group: LabelServiceID + "=" + s.ID, Spread: spreadKeys(s.Spec.TaskTemplate.Placement), NodeLabel: LabelNodeID})
		if err != nil {
			o.loose(m, s, k, id, err)
			return err
		}
		start := cluster.Call{Method: http.MethodPost, Path: "/containers/" + resp.ID + "/start", Changes: cluster.Changes{Container: resp.ID}}
		err = connectRest(ctx, resp.Engine, resp.ID, nets)
		if err == nil {
			err = o.giveFiles(ctx, s, resp.Engine, resp.ID)
		}
		if err == nil {
			err = resp.Engine.Do(ctx, start, nil)
		}
		if err != nil {
			o.loose(m, s, k, id, err)
			o.removeContainer(ctx, resp.Engine, resp.ID)
			return err
		}
		m.mu.Lock()
		delete(m.loose, k)
		m.mu.Unlock()
		return nil
	}
}

// loose records a task of slot k that has no container: pending when no node fits, rejected otherwise.
func (o *reconciler) loose(m *memory, s swarm.Service, k slotKey, id string, err error) {
	t := &task{ID: id, ServiceID: s.ID, ServiceName: s.Spec.Name, Slot: k.slot, NodeID: k.node, Hash: curHash(s),
		created: time.Now(), state: swarm.TaskStateRejected, message: "rejected", err: err.Error()}
	var nn *scheduler.NoNodeError
	if errors.As(err, &nn) {
		t.state, t.message, t.err = swarm.TaskStatePending, "pending task scheduling", nn.Explanation() // one line, for service ps
	}
	if k.node != "" && errors.As(err, &nn) { // a global slot whose node does not fit: no task at all
		m.mu.Lock()
		m.skip[k] = time.Now().Add(skipUnfit)
		m.mu.Unlock()
		return
	}
	m.mu.Lock()
	m.loose[k] = t
	m.mu.Unlock()
	o.log.Info("orchestrator: task not started", "service", s.Spec.Name, "task", t.ID, "state", t.state, "err", err)
}

// skipUnfit is how long a node that does not fit a global service is not tried again (unless nodes change).
const skipUnfit = 30 * time.Second

// stop stops a task's container (its grace period is the container's own stop timeout), remembering that the
// manager shut it down.
func (o *reconciler) stop(t *task) step {
	return func(ctx context.Context, m *memory) error {
		m.mu.Lock()
		m.shut[t.ID] = true
		m.mu.Unlock()
		o.drain(ctx, t)
		return stopContainer(ctx, t)
	}
}

// stopContainer stops a task's container, giving its process the container's grace period (its stop timeout)
// before it is killed; one already stopped or gone is no error.
func stopContainer(ctx context.Context, t *task) error {
	call := cluster.Call{Method: http.MethodPost, Path: "/containers/" + t.ct.ID + "/stop", Changes: cluster.Changes{Container: t.ct.ID}}
	err := t.ct.Engine.Do(ctx, call, nil)
	var ee *cluster.EngineError
	if errors.As(err, &ee) && (ee.Status == http.StatusNotModified || ee.Status == http.StatusNotFound) {
		return nil
	}
	return err
}

// stopUnhealthy stops a task whose health check failed, which then counts as failed (swarm's rule).
func (o *reconciler) stopUnhealthy(t *task) step {
	stop := o.stop(t)
	return func(ctx context.Context, m *memory) error {
		m.mu.Lock()
		m.unhealthy[t.ID] = true
		m.mu.Unlock()
		o.log.Info("orchestrator: stopping a task whose health check fails", "service", t.ServiceName, "task", t.ID)
		return stop(ctx, m)
	}
}

// remove removes a task's container (and its anonymous volumes); one that runs is taken out of the mesh and
// stopped first, with its grace period, as swarm shuts tasks down (scale-down, a removed service, a stale copy).
func (o *reconciler) remove(t *task) step {
	return func(ctx context.Context, m *memory) error {
		if t.ct == nil {
			m.mu.Lock()
			if m.loose[t.key()] == t {
				delete(m.loose, t.key())
			}
			m.mu.Unlock()
			return nil
		}
		m.mu.Lock()
		m.shut[t.ID] = true
		m.mu.Unlock()
		if t.ct.State == "running" {
			o.drain(ctx, t)
			if err := stopContainer(ctx, t); err != nil {
				o.log.Debug("orchestrator: stopping a task before removing it", "task", t.ID, "err", err)
			}
		}
		return o.removeContainer(ctx, t.ct.Engine, t.ct.ID)
	}
}

func (o *reconciler) removeContainer(ctx context.Context, e *cluster.Engine, id string) error {
	call := cluster.Call{Method: http.MethodDelete, Path: "/containers/" + id, Query: "force=1&v=1",
		Changes: cluster.Changes{Container: id}}
	err := e.Do(ctx, call, nil)
	var ee *cluster.EngineError
	if errors.As(err, &ee) && ee.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// drainPause is how long a task taken out of the routing mesh keeps running before it is told to stop: the
// hosts' joins read the change from Consul and re-program within milliseconds.
const drainPause = 500 * time.Millisecond

// drain takes a running task of a service that uses the routing mesh (a virtual IP or an ingress port) out of
// it on every host before it is stopped, so it gets no new connection while it shuts down (as swarm does).
// Failing to is logged: the task is stopped anyway.
func (o *reconciler) drain(ctx context.Context, t *task) {
	s, ok := o.store.Service(t.ServiceID)
	if o.cfg.Networks == nil || !ok || (len(s.Endpoint.VirtualIPs) == 0 && len(ingressPorts(s.Endpoint.Ports)) == 0) {
		return
	}
	n, err := o.cfg.Networks.DrainContainer(ctx, containerLabel(t.ct))
	if err != nil {
		o.log.Warn("routing mesh: cannot take a task out before stopping it", "task", t.ID, "err", err)
	}
	if n > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(drainPause):
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
