package cluster

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"

	"swarm/internal/backoff"
	"swarm/scheduler"
)

// Rescheduling (primary only): containers asking for "on-node-failure" are recreated on another node, with
// the same config and swarm ID, when their engine becomes Unhealthy or leaves discovery; they are started if
// they were running. A failed attempt is retried with backoff (not only on the next disconnect, unlike the
// original). When the lost engine comes back, its stale copies are removed so exactly one copy remains.

const (
	rescheduleTick    = time.Second
	rescheduleBackoff = 30 * time.Second
)

// rescheduler's maps are under mu.
type rescheduler struct {
	c       *Cluster
	mu      sync.Mutex
	moved   map[string]string     // swarm ID -> ID of the copy that replaced it
	retry   map[string]retryAt    // swarm ID -> when to try again
	orphans map[string]*Container // containers of engines that left discovery, waiting to move
}

type retryAt struct {
	next  time.Time
	delay time.Duration
}

func newRescheduler(c *Cluster) *rescheduler {
	return &rescheduler{c: c, moved: map[string]string{}, retry: map[string]retryAt{}, orphans: map[string]*Container{}}
}

// RunRescheduler watches for lost engines until ctx ends; it acts only while SetPrimary(true).
func (c *Cluster) RunRescheduler(ctx context.Context) {
	r := c.resched
	c.asPrimary(ctx, rescheduleTick, func() {}, func() {
		r.moveLost(ctx)
		r.removeStale(ctx)
	})
}

// asPrimary calls act every tick while this manager is the primary, and replica on the ticks it is not, until
// ctx ends.
func (c *Cluster) asPrimary(ctx context.Context, tick time.Duration, replica, act func()) {
	for backoff.Sleep(ctx, tick) {
		if c.primary.Load() {
			act()
		} else {
			replica()
		}
	}
}

// adoptOrphans keeps the rescheduling candidates of an engine that left discovery.
func (r *rescheduler) adoptOrphans(e *Engine) {
	for _, ct := range e.Containers() {
		if scheduler.ReschedulePolicy(ct.Labels) == "on-node-failure" && ct.SwarmID() != "" {
			r.mu.Lock()
			r.orphans[ct.SwarmID()] = ct
			r.mu.Unlock()
		}
	}
}

func (r *rescheduler) moveLost(ctx context.Context) {
	var lost []*Container
	for _, e := range r.c.Engines() {
		if e.State() != StateUnhealthy {
			continue
		}
		for _, ct := range e.Containers() {
			if scheduler.ReschedulePolicy(ct.Labels) == "on-node-failure" && ct.SwarmID() != "" {
				lost = append(lost, ct)
			}
		}
	}
	r.mu.Lock()
	for _, ct := range r.orphans {
		lost = append(lost, ct)
	}
	r.mu.Unlock()
	for _, ct := range lost {
		if r.dueForRetry(ct.SwarmID()) {
			r.moveOne(ctx, ct)
		}
	}
}

func (r *rescheduler) dueForRetry(swarmID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.retry[swarmID]
	return !ok || time.Now().After(at.next)
}

// moveOne recreates one container elsewhere; on failure it is put back and retried later.
func (r *rescheduler) moveOne(ctx context.Context, ct *Container) {
	from := ct.Engine
	r.event("reschedule_start", ct, from.Name(), "")
	from.store.forget(ct.ID)
	resp, err := r.recreate(ctx, ct)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed(ct, err)
		return
	}
	delete(r.retry, ct.SwarmID())
	delete(r.orphans, ct.SwarmID())
	r.moved[ct.SwarmID()] = resp.ID
	r.c.log.Info("container rescheduled", "container", ct.Name(), "from", from.Name(), "to", resp.Engine.Name(), "id", resp.ID)
	r.event("reschedule_done", ct, from.Name(), resp.Engine.Name())
}

// recreate creates ct again through the scheduler, and starts it if it was running (or stopped by the outage).
func (r *rescheduler) recreate(ctx context.Context, ct *Container) (*CreateResponse, error) {
	body, err := recreateBody(ct, ct.Engine.ncpu())
	if err != nil {
		return nil, err
	}
	resp, err := r.c.CreateContainer(ctx, CreateRequest{Name: ct.Name(), Body: body})
	if err != nil || !(ct.Running() || stoppedByOutage(ct)) {
		return resp, err
	}
	e := resp.Engine
	err = e.conn.typed(e.conn.client.ContainerStart(ctx, resp.ID, container.StartOptions{}))
	e.store.reread(ctx, resp.ID)
	return resp, err
}

// failed puts back a container that could not be moved and schedules the next try. Callers hold mu.
func (r *rescheduler) failed(ct *Container, err error) {
	from := ct.Engine
	if from.State() != StateDisconnected {
		from.store.remember(ct)
	}
	at := r.retry[ct.SwarmID()]
	at.delay = min(max(2*at.delay, time.Second), rescheduleBackoff)
	at.next = time.Now().Add(at.delay)
	r.retry[ct.SwarmID()] = at
	r.c.log.Warn("reschedule failed; will retry", "container", ct.Name(), "from", from.Name(), "retry_in", at.delay, "err", err)
	r.event("reschedule_failed", ct, from.Name(), err.Error())
	r.c.cfg.Metrics.Reschedule("failed")
}

// stoppedByOutage tells a container that was stopped by its engine going down (SIGTERM or SIGKILL from a
// stopping daemon, shortly before the engine was lost) from one that had exited by itself: the former was
// running as far as its owner is concerned and is started again elsewhere.
func stoppedByOutage(ct *Container) bool {
	st := ct.RunState
	if st == nil {
		return false
	}
	finished, err := time.Parse(time.RFC3339Nano, st.FinishedAt)
	return err == nil && (st.ExitCode == 143 || st.ExitCode == 137) && time.Since(finished) < outageWindow
}

// outageWindow bounds how long before its rescheduling a container may have been stopped by the outage.
const outageWindow = 2 * time.Minute

// removeStale removes, from engines that came back, copies of containers that were moved elsewhere.
func (r *rescheduler) removeStale(ctx context.Context) {
	r.mu.Lock()
	moved := maps.Clone(r.moved)
	r.mu.Unlock()
	if len(moved) == 0 {
		return
	}
	for _, e := range Healthy(r.c.Engines()) {
		for _, ct := range e.Containers() {
			if newID, ok := moved[ct.SwarmID()]; ok && ct.ID != newID && e.removeContainer(ctx, ct.ID) == nil {
				e.store.forget(ct.ID)
				r.c.log.Info("removed stale copy of a rescheduled container", "container", ct.Name(), "node", e.Name())
				r.event("reschedule_cleanup", ct, e.Name(), "")
				r.c.cfg.Metrics.Reschedule("cleanup")
			}
		}
	}
}

// recreateBody is the create request that gives the same container again: config, host config and networks.
func recreateBody(ct *Container, ncpu int64) ([]byte, error) {
	spec := ct.spec
	if spec == nil || spec.ContainerJSONBase == nil || spec.Config == nil || spec.HostConfig == nil {
		return nil, errNoConfig
	}
	hc := *spec.HostConfig
	hc.CPUShares = sharesToCPUs(hc.CPUShares, ncpu)
	req := container.CreateRequest{Config: spec.Config, HostConfig: &hc, NetworkingConfig: &network.NetworkingConfig{}}
	if ns := spec.NetworkSettings; ns != nil && len(ns.Networks) > 0 {
		req.NetworkingConfig.EndpointsConfig = map[string]*network.EndpointSettings{}
		for name, ep := range ns.Networks {
			if ep == nil {
				continue
			}
			req.NetworkingConfig.EndpointsConfig[name] = &network.EndpointSettings{Aliases: ep.Aliases, IPAMConfig: ep.IPAMConfig, Links: ep.Links}
		}
	}
	return json.Marshal(req)
}

type errString string

func (e errString) Error() string { return string(e) }

const errNoConfig = errString("container has no cached config to recreate it from")

// event emits one reschedule step as a swarm event.
func (r *rescheduler) event(action string, ct *Container, node, detail string) {
	now := time.Now()
	attrs := map[string]string{"name": ct.Name(), "com.docker.swarm.id": ct.SwarmID(), "node.name": node}
	if detail != "" {
		attrs["detail"] = detail
	}
	r.c.events.publish(Event{Message: events.Message{Type: "swarm", Action: events.Action(action), Status: action,
		From: "swarm", ID: ct.ID, Actor: events.Actor{ID: ct.ID, Attributes: attrs}, Time: now.Unix(), TimeNano: now.UnixNano()}})
}
