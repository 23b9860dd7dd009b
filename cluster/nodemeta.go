package cluster

import (
	"maps"
	"sync/atomic"

	"github.com/docker/docker/api/types/system"
)

// NodeMeta is what swarm mode says of a node beyond what its engine reports: set by users (availability,
// labels) or by the managers (role). Placement reads it through the scheduler's node (Availability, NodeLabels,
// Role), so it binds every create, classic ones included.
type NodeMeta struct {
	Availability string // active (or ""), pause, drain
	Labels       map[string]string
	Role         string // manager or worker ("": worker)
}

// nodeMetas is every engine's NodeMeta by engine ID, replaced whole; gen moves with each replacement, so the
// engines' scheduler views are rebuilt.
type nodeMetas struct {
	m   atomic.Pointer[map[string]NodeMeta]
	gen atomic.Uint64
}

func (n *nodeMetas) of(id string) NodeMeta {
	if m := n.m.Load(); m != nil {
		return (*m)[id]
	}
	return NodeMeta{}
}

// SetNodeMeta replaces every node's NodeMeta (by engine ID); an engine not in m has none (active, no labels,
// worker). Placements made after it returns see it.
func (c *Cluster) SetNodeMeta(m map[string]NodeMeta) {
	if old := c.set.metas.m.Load(); old != nil && maps.EqualFunc(*old, m, sameMeta) {
		return
	}
	m = maps.Clone(m)
	c.set.metas.m.Store(&m)
	c.set.metas.gen.Add(1)
	for _, e := range c.pool.all() {
		c.set.dirty.mark(e)
	}
}

func sameMeta(a, b NodeMeta) bool {
	return a.Availability == b.Availability && a.Role == b.Role && maps.Equal(a.Labels, b.Labels)
}

// Description is what the engine said of itself at its last validation (docker info) and its labels as
// constraints read them (the daemon's and the built-in ones); ok is false while it is Pending.
func (e *Engine) Description() (info system.Info, labels map[string]string, ok bool) {
	s := e.conn.spec.Load()
	if s == nil {
		return system.Info{}, nil, false
	}
	return s.info, s.labels, true
}
