package cluster

import (
	"maps"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"swarm/scheduler"
)

// nodeCache holds the engine's scheduler view; dirty means it must be rebuilt before use.
type nodeCache struct {
	dirty bool
	node  *scheduler.Node
}

// changed marks the views derived from the engine's state stale; call it with e.mu held for writing.
func (e *Engine) changed() {
	e.node.dirty = true
	e.names, e.tally = nil, nil
	e.set.dirty.mark(e)
}

// byName finds one of the engine's containers by its name (without the leading slash).
func (e *Engine) byName(name string) *Container {
	e.mu.RLock()
	names := e.names
	e.mu.RUnlock()
	if names == nil {
		e.mu.Lock()
		if e.names == nil {
			e.names = make(map[string]*Container, len(e.containers))
			for _, c := range e.containers {
				e.names[c.Name()] = c
			}
		}
		names = e.names
		e.mu.Unlock()
	}
	return names[name]
}

// byID finds one of the engine's containers by its full ID.
func (e *Engine) byID(id string) *Container {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.containers[id]
}

// schedNode returns the engine as the scheduler sees it, rebuilding the snapshot only after a change; nil for
// an engine not validated yet or gone from discovery.
func (e *Engine) schedNode() *scheduler.Node {
	e.mu.RLock()
	n, st := e.node.node, e.state
	if e.node.dirty {
		n = nil
	}
	e.mu.RUnlock()
	if st == StatePending || st == StateDisconnected {
		return nil
	}
	if n != nil {
		return n
	}
	health := e.healthIndicator()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.node.dirty && e.node.node != nil {
		return e.node.node
	}
	n = &scheduler.Node{
		ID: e.id, Name: e.name, Addr: e.addr, Labels: e.labels, HealthIndicator: health,
		TotalCPUs: int64(e.info.NCPU), TotalMemory: e.info.MemTotal,
		Containers: make([]*scheduler.Container, 0, len(e.containers)),
		Images:     make([]*scheduler.Image, 0, len(e.images)),
	}
	if n.Name == "" {
		n.Name = e.addr
	}
	for _, c := range e.containers {
		n.Containers = append(n.Containers, c.sched)
	}
	for _, im := range e.images {
		n.Images = append(n.Images, &scheduler.Image{ID: im.ID, RepoTags: im.RepoTags, RepoDigests: im.RepoDigests})
	}
	e.node = nodeCache{node: n}
	return n
}

// newContainer makes a cache entry for what the engine said about a container, with its scheduler view
// (ncpu: the engine's CPUs, which turn CpuShares into reserved CPUs).
func (e *Engine) newContainer(s container.Summary, info *container.InspectResponse, seen time.Time, ncpu int64) *Container {
	if info != nil && info.Config != nil && maps.Equal(s.Labels, info.Config.Labels) {
		s.Labels = info.Config.Labels // one copy of the labels per container, not two
	}
	if ns := s.NetworkSettings; info != nil && info.NetworkSettings != nil && ns != nil && sameKeys(ns.Networks, info.NetworkSettings.Networks) {
		s.NetworkSettings = &container.NetworkSettingsSummary{Networks: info.NetworkSettings.Networks}
	}
	c := &Container{Summary: s, Info: info, Engine: e, seen: seen, times: timesOf(info)}
	c.sched = schedContainer(c, ncpu)
	return c
}

func sameKeys[V any](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func schedContainer(c *Container, ncpu int64) *scheduler.Container {
	names := make([]string, len(c.Names))
	for i, n := range c.Names {
		names[i] = trimSlash(n)
	}
	sc := &scheduler.Container{ID: c.ID, Names: names, Image: c.Image, Labels: c.Labels, Running: c.Running()}
	if c.Info != nil {
		sc.Config, sc.HostConfig = c.Info.Config, c.Info.HostConfig
		if c.Info.NetworkSettings != nil {
			sc.Ports = c.Info.NetworkSettings.Ports
		}
		if hc := c.Info.HostConfig; hc != nil {
			sc.Memory = hc.Memory
			sc.CPUs = sharesToCPUs(hc.CPUShares, ncpu)
		}
	}
	return sc
}

// The original's meaning of CpuShares: at create it counts CPUs; the engine gets the matching share of its CPUs.
func cpusToShares(cpus, ncpu int64) int64 {
	if cpus <= 0 || ncpu <= 0 {
		return 0
	}
	return (cpus*1024 + ncpu - 1) / ncpu
}

func sharesToCPUs(shares, ncpu int64) int64 {
	if shares <= 0 || ncpu <= 0 {
		return 0
	}
	return shares * ncpu / 1024
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

// schedNodes returns the scheduler view of every validated engine, in Engines' order (by name, which
// PlaceSorted relies on). The list is kept and patched where engines changed since the last call, so a
// placement does not visit every engine's lock.
func (c *Cluster) schedNodes() []*scheduler.Node {
	engines := c.Engines()
	l := &c.nodes
	l.mu.Lock()
	defer l.mu.Unlock()
	dirty := c.set.dirty.take()
	switch {
	case len(l.from) != len(engines) || (len(engines) > 0 && &l.from[0] != &engines[0]): // another engine list
		l.from, l.pos, l.byPos = engines, make(map[*Engine]int, len(engines)), make([]*scheduler.Node, len(engines))
		for i, e := range engines {
			l.pos[e], l.byPos[i] = i, e.schedNode()
		}
	case len(dirty) > 0:
		for e := range dirty {
			if i, ok := l.pos[e]; ok {
				l.byPos[i] = e.schedNode()
			}
		}
	case l.list != nil:
		return l.list
	}
	list := make([]*scheduler.Node, 0, len(l.byPos))
	for _, n := range l.byPos {
		if n != nil {
			list = append(list, n)
		}
	}
	l.list = list
	return list
}

// nodeList is schedNodes' state: the engine list it follows, each engine's node by position (nil while not
// validated) and the list last handed out, which is never modified.
type nodeList struct {
	mu    sync.Mutex
	from  []*Engine
	pos   map[*Engine]int
	byPos []*scheduler.Node
	list  []*scheduler.Node
}

// dirtyEngines collects the engines whose scheduler view changed since schedNodes last looked.
type dirtyEngines struct {
	mu  sync.Mutex
	set map[*Engine]bool
}

func (d *dirtyEngines) mark(e *Engine) {
	d.mu.Lock()
	if d.set == nil {
		d.set = map[*Engine]bool{}
	}
	d.set[e] = true
	d.mu.Unlock()
}

func (d *dirtyEngines) take() map[*Engine]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.set
	d.set = nil
	return s
}

// engineByID maps a scheduler node back to its engine.
func (c *Cluster) engineForNode(n *scheduler.Node) *Engine {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.engines[n.Addr]
}
