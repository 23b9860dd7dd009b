package agent

import (
	"context"
	"time"

	"swarm/overlay/netstate"
)

// HealthChange is a container's health as its engine reports it: starting, healthy or unhealthy.
type HealthChange struct {
	Container string // its name
	Health    string
}

// failing tells whether a container in health has a health check that has not passed (yet, or any more); one
// without a check ("", or "none") never has.
func failing(health string) bool {
	return health != "" && health != "none" && health != "healthy"
}

// inService tells whether the mesh and the service's names count endpoint e: not being stopped (Draining) and
// not failing its health check (Unhealthy).
func inService(e netstate.Endpoint) bool { return !e.Draining && !e.Unhealthy }

// heard is the last health the engine's events gave a container: seq orders it among them, at is when.
type heard struct {
	health string
	seq    uint64
	at     time.Time
}

// heardFor is how long a health heard is kept for learnNames: past nameWait no naming that started before it
// is still running.
const heardFor = 2 * nameWait

// followHealth keeps the Unhealthy flag of this host's endpoints to their containers' health, as the engine
// reports it, until ctx ends.
func (a *Agent) followHealth(ctx context.Context) {
	if a.cfg.Engine == nil {
		return
	}
	a.cfg.Engine.FollowHealth(ctx, func(c HealthChange) { a.healthChanged(ctx, c) })
}

// healthChanged records c (for a naming under way: unhealthySince) and sets the flag of every endpoint of this
// host whose container is c's, in a.mine and then in Consul.
func (a *Agent) healthChanged(ctx context.Context, c HealthChange) {
	unhealthy := failing(c.Health)
	now := time.Now()
	var changed []netstate.Endpoint
	a.mu.Lock()
	a.healthSeq++
	a.heard[c.Container] = heard{health: c.Health, seq: a.healthSeq, at: now}
	for name, h := range a.heard {
		if now.Sub(h.at) > heardFor {
			delete(a.heard, name)
		}
	}
	for id, e := range a.mine {
		if e.Container == c.Container && e.Unhealthy != unhealthy {
			e.Unhealthy = unhealthy
			a.mine[id] = e
			changed = append(changed, e)
		}
	}
	a.mu.Unlock()
	for _, e := range changed {
		a.publishHealth(ctx, e)
	}
}

// healthHeard is where the health events stand: a naming reads it before it asks the engine.
func (a *Agent) healthHeard() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.healthSeq
}

// unhealthySince is the flag of a container the engine named as n: its health then, unless an event heard
// after asked (healthHeard) says more recent news, which found no named endpoint to update. A container with no
// health check is never unhealthy. Called with a.mu held.
func (a *Agent) unhealthySince(n Naming, asked uint64) bool {
	if n.Health == "" {
		return false
	}
	if h, ok := a.heard[n.Container]; ok && h.seq > asked {
		return failing(h.health)
	}
	return failing(n.Health)
}

// publishHealth writes e's flag into its record in Consul, changing nothing else there. A write that fails, or
// that a naming overwrote, is made again from a.mine at the next read of the endpoints (correctHealth).
func (a *Agent) publishHealth(ctx context.Context, e netstate.Endpoint) {
	if _, err := a.cfg.State.SetUnhealthy(ctx, e, e.Unhealthy); err != nil && ctx.Err() == nil {
		a.log.Warn("cluster networks: cannot publish a container's health; retrying at the next change of the endpoints",
			"container", e.Container, "unhealthy", e.Unhealthy, "err", err)
	}
}

// correctHealth writes again the flag of this host's endpoints whose record in a read differs from a.mine,
// which holds the last health heard: a write lost, or overwritten by the naming that raced with it.
func (a *Agent) correctHealth(ctx context.Context, eps []netstate.Endpoint) {
	var wrong []netstate.Endpoint
	a.mu.Lock()
	for _, e := range eps {
		if m, ok := a.mine[e.ID]; ok && e.Host == a.cfg.Host && m.Unhealthy != e.Unhealthy {
			wrong = append(wrong, m)
		}
	}
	a.mu.Unlock()
	for _, e := range wrong {
		a.publishHealth(ctx, e)
	}
}
