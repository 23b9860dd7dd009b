package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"

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

type rescheduler struct {
	active  atomic.Bool
	mu      sync.Mutex
	moved   map[string]string     // swarm ID -> ID of the copy that replaced it
	retry   map[string]retryAt    // swarm ID -> when to try again
	orphans map[string]*Container // containers of engines that left discovery, waiting to move
}

type retryAt struct {
	next  time.Time
	delay time.Duration
}

func newRescheduler() *rescheduler {
	return &rescheduler{moved: map[string]string{}, retry: map[string]retryAt{}, orphans: map[string]*Container{}}
}

// SetPrimary turns the primary's duties (rescheduling, the lease sweep) on or off.
func (c *Cluster) SetPrimary(primary bool) { c.resched.active.Store(primary) }

// RunRescheduler watches for lost engines until ctx ends; it acts only while SetPrimary(true).
func (c *Cluster) RunRescheduler(ctx context.Context) {
	c.asPrimary(ctx, rescheduleTick, func() {}, func() {
		c.moveLost(ctx)
		c.removeStale(ctx)
	})
}

// asPrimary calls act every tick while this manager is the primary, and replica on the ticks it is not, until
// ctx ends.
func (c *Cluster) asPrimary(ctx context.Context, tick time.Duration, replica, act func()) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.resched.active.Load() {
			act()
		} else {
			replica()
		}
	}
}

// adoptOrphans keeps the rescheduling candidates of an engine that left discovery.
func (c *Cluster) adoptOrphans(e *Engine) {
	for _, ct := range e.Containers() {
		if scheduler.ReschedulePolicy(ct.Labels) == "on-node-failure" && ct.SwarmID() != "" {
			c.resched.mu.Lock()
			c.resched.orphans[ct.SwarmID()] = ct
			c.resched.mu.Unlock()
		}
	}
}

func (c *Cluster) moveLost(ctx context.Context) {
	var lost []*Container
	for _, e := range c.Engines() {
		if e.State() != StateUnhealthy {
			continue
		}
		for _, ct := range e.Containers() {
			if scheduler.ReschedulePolicy(ct.Labels) == "on-node-failure" && ct.SwarmID() != "" {
				lost = append(lost, ct)
			}
		}
	}
	c.resched.mu.Lock()
	for _, ct := range c.resched.orphans {
		lost = append(lost, ct)
	}
	c.resched.mu.Unlock()
	for _, ct := range lost {
		if c.dueForRetry(ct.SwarmID()) {
			c.moveOne(ctx, ct)
		}
	}
}

func (c *Cluster) dueForRetry(swarmID string) bool {
	c.resched.mu.Lock()
	defer c.resched.mu.Unlock()
	r, ok := c.resched.retry[swarmID]
	return !ok || time.Now().After(r.next)
}

// moveOne recreates one container elsewhere; on failure it is put back and retried later.
func (c *Cluster) moveOne(ctx context.Context, ct *Container) {
	from := ct.Engine
	c.swarmEventf("reschedule_start", ct, from.Name(), "")
	from.forget(ct.ID)
	body, err := recreateBody(ct, from.ncpu())
	var resp *CreateResponse
	if err == nil {
		resp, err = c.CreateContainer(ctx, CreateRequest{Name: ct.Name(), Body: body})
	}
	if err == nil && (ct.Running() || stoppedByOutage(ct)) {
		_, err = resp.Engine.Do(ctx, http.MethodPost, "", "/containers/"+resp.ID+"/start", nil, nil, nil, nil)
		resp.Engine.refreshContainer(ctx, resp.ID)
	}
	c.resched.mu.Lock()
	defer c.resched.mu.Unlock()
	if err != nil {
		from.remember(ct)
		r := c.resched.retry[ct.SwarmID()]
		r.delay = min(max(2*r.delay, time.Second), rescheduleBackoff)
		r.next = time.Now().Add(r.delay)
		c.resched.retry[ct.SwarmID()] = r
		c.log.Warn("reschedule failed; will retry", "container", ct.Name(), "from", from.Name(), "retry_in", r.delay, "err", err)
		c.swarmEventf("reschedule_failed", ct, from.Name(), err.Error())
		c.cfg.Metrics.Reschedule("failed")
		return
	}
	delete(c.resched.retry, ct.SwarmID())
	delete(c.resched.orphans, ct.SwarmID())
	c.resched.moved[ct.SwarmID()] = resp.ID
	c.log.Info("container rescheduled", "container", ct.Name(), "from", from.Name(), "to", resp.Engine.Name(), "id", resp.ID)
	c.swarmEventf("reschedule_done", ct, from.Name(), resp.Engine.Name())
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
func (c *Cluster) removeStale(ctx context.Context) {
	c.resched.mu.Lock()
	moved := make(map[string]string, len(c.resched.moved))
	for k, v := range c.resched.moved {
		moved[k] = v
	}
	c.resched.mu.Unlock()
	if len(moved) == 0 {
		return
	}
	for _, e := range c.Engines() {
		if !e.Healthy() {
			continue
		}
		for _, ct := range e.Containers() {
			if newID, ok := moved[ct.SwarmID()]; ok && ct.ID != newID {
				q := map[string][]string{"force": {"1"}, "v": {"1"}}
				_, err := e.Do(ctx, http.MethodDelete, "", "/containers/"+ct.ID, q, nil, nil, nil)
				if err == nil {
					e.forget(ct.ID)
					c.log.Info("removed stale copy of a rescheduled container", "container", ct.Name(), "node", e.Name())
					c.swarmEventf("reschedule_cleanup", ct, e.Name(), "")
					c.cfg.Metrics.Reschedule("cleanup")
				}
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

// forget drops a container from the cache (its engine is gone or it was removed).
func (e *Engine) forget(id string) {
	e.mu.Lock()
	delete(e.containers, id)
	e.markRemoved(id)
	e.changed()
	e.mu.Unlock()
}

// remember puts a container back into the cache.
func (e *Engine) remember(ct *Container) {
	e.mu.Lock()
	if _, ok := e.containers[ct.ID]; !ok && e.state != StateDisconnected {
		e.containers[ct.ID] = ct
		e.changed()
	}
	e.mu.Unlock()
}

// swarmEventf emits one reschedule step as a swarm event.
func (c *Cluster) swarmEventf(action string, ct *Container, node, detail string) {
	now := time.Now()
	attrs := map[string]string{"name": ct.Name(), "com.docker.swarm.id": ct.SwarmID(), "node.name": node}
	if detail != "" {
		attrs["detail"] = detail
	}
	c.events.publish(Event{Message: events.Message{Type: "swarm", Action: events.Action(action), Status: action,
		From: "swarm", ID: ct.ID, Actor: events.Actor{ID: ct.ID, Attributes: attrs}, Time: now.Unix(), TimeNano: now.UnixNano()}})
}
