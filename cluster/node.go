package cluster

import (
	"maps"
	"slices"
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
	e.changes++
	e.set.changes.Add(1)
	e.node.dirty = true
	e.index, e.tally = nil, nil // e.encoded is checked against e.changes: its unchanged entries are reused
	e.set.dirty.mark(e)
}

// changedBesideContainers is changed for a change that leaves the containers as they were (the engine's
// health, info or images): a cache that held the last container list still does, so the next refresh that
// lists the same containers need not decode them. With e.mu held for writing.
func (e *Engine) changedBesideContainers() {
	listed := e.listed == e.changes
	e.changed()
	if listed {
		e.listed = e.changes
	}
}

// byName finds one of the engine's containers by its name (without the leading slash).
func (e *Engine) byName(name string) *Container { return e.lookups().names[name] }

// byShortID finds the engine's container whose ID begins with the 12 characters of a short ID (as `docker ps`
// shows it); ambiguous when several do.
func (e *Engine) byShortID(short string) (c *Container, ambiguous bool) {
	c, ok := e.lookups().short[short]
	return c, ok && c == nil
}

// lookups are the engine's name and short-ID indexes, rebuilt on use after a change.
type lookups struct {
	names map[string]*Container
	short map[string]*Container // nil value: more than one container
}

func (e *Engine) lookups() *lookups {
	e.mu.RLock()
	l := e.index
	e.mu.RUnlock()
	if l != nil {
		return l
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.index == nil {
		l := &lookups{names: make(map[string]*Container, len(e.containers)), short: make(map[string]*Container, len(e.containers))}
		for id, c := range e.containers {
			l.names[c.Name()] = c
			if len(id) >= 12 {
				if _, dup := l.short[id[:12]]; dup {
					l.short[id[:12]] = nil
				} else {
					l.short[id[:12]] = c
				}
			}
		}
		e.index = l
	}
	return e.index
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
	c := &Container{Summary: s, Engine: e, seen: seen, times: timesOf(info)}
	if info != nil && info.ContainerJSONBase != nil {
		c.RunState = runState(info.State)
		if scheduler.ReschedulePolicy(s.Labels) == "on-node-failure" {
			c.spec = info
		}
	}
	c.sched = schedContainer(c, info, ncpu)
	return c
}

// relisted is a cached container with a newer list entry that shows no change of state: what was inspected
// stays.
func (c *Container) relisted(s container.Summary) *Container {
	n := *c
	if c.spec != nil && c.spec.Config != nil && maps.Equal(s.Labels, c.spec.Config.Labels) {
		s.Labels = c.spec.Config.Labels
	}
	n.Summary = s
	sc := *c.sched
	sc.ID, sc.Names, sc.Image, sc.Labels, sc.Running = s.ID, schedNames(s.Names), s.Image, s.Labels, n.Running()
	n.sched = &sc
	return &n
}

// runState is the state kept in the cache: the health probes' log (outputs of the last probes) is left out.
func runState(st *container.State) *container.State {
	if st == nil || st.Health == nil || len(st.Health.Log) == 0 {
		return st
	}
	c := *st
	c.Health = &container.Health{Status: st.Health.Status, FailingStreak: st.Health.FailingStreak}
	return &c
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

// schedContainer is the scheduler's view of a container: of its configuration only what the filters read
// (host ports bound or published, ports exposed in host network mode) and the resources it reserves.
func schedContainer(c *Container, info *container.InspectResponse, ncpu int64) *scheduler.Container {
	sc := &scheduler.Container{ID: c.ID, Names: schedNames(c.Names), Image: c.Image, Labels: c.Labels, Running: c.Running()}
	if info == nil || info.ContainerJSONBase == nil {
		return sc
	}
	if info.NetworkSettings != nil {
		sc.Ports = info.NetworkSettings.Ports
	}
	if hc := info.HostConfig; hc != nil {
		sc.Memory = hc.Memory
		sc.CPUs = sharesToCPUs(hc.CPUShares, ncpu)
		host := hc.NetworkMode == "host"
		if host || len(hc.PortBindings) > 0 {
			sc.HostConfig = &container.HostConfig{NetworkMode: hc.NetworkMode, PortBindings: hc.PortBindings}
		}
		if host && info.Config != nil && len(info.Config.ExposedPorts) > 0 {
			sc.Config = &container.Config{ExposedPorts: info.Config.ExposedPorts}
		}
	}
	return sc
}

func schedNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = trimSlash(n)
	}
	return out
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

// place picks a node for req (see scheduler.PlaceSorted) among the scheduler views of every validated engine.
func (c *Cluster) place(req *scheduler.Request) (*scheduler.Placement, error) {
	l := &c.nodes
	l.mu.Lock()
	defer l.mu.Unlock()
	return c.sched.PlaceSorted(req, c.nodesLocked())
}

// schedNodes is a copy of the scheduler's node list (see nodesLocked).
func (c *Cluster) schedNodes() []*scheduler.Node {
	l := &c.nodes
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(c.nodesLocked())
}

// nodesLocked returns the scheduler view of every validated engine, in Engines' order (by name, which
// PlaceSorted relies on). The list is kept and patched in place where engines changed since the last call, so a
// placement neither visits every engine's lock nor copies the list; it is read and changed under l.mu only.
func (c *Cluster) nodesLocked() []*scheduler.Node {
	engines := c.Engines()
	l := &c.nodes
	dirty := c.set.dirty.take()
	if len(l.from) != len(engines) || (len(engines) > 0 && &l.from[0] != &engines[0]) { // another engine list
		l.from, l.pos, l.byPos = engines, make(map[*Engine]int, len(engines)), make([]*scheduler.Node, len(engines))
		for i, e := range engines {
			l.pos[e], l.byPos[i] = i, e.schedNode()
		}
		l.compact()
		return l.list
	}
	compact := false
	for e := range dirty {
		i, ok := l.pos[e]
		if !ok {
			continue
		}
		n := e.schedNode()
		if (n == nil) != (l.byPos[i] == nil) {
			compact = true // an engine joined or left the list: positions move
		} else if n != nil {
			l.list[l.at[i]] = n
		}
		l.byPos[i] = n
	}
	if compact {
		l.compact()
	}
	return l.list
}

// nodeList is nodesLocked's state: the engine list it follows, each engine's node by position (nil while not
// validated), the list of the nodes there are and each engine's index in it.
type nodeList struct {
	mu    sync.Mutex
	from  []*Engine
	pos   map[*Engine]int
	byPos []*scheduler.Node
	list  []*scheduler.Node
	at    []int
}

func (l *nodeList) compact() {
	l.list, l.at = l.list[:0], make([]int, len(l.byPos))
	for i, n := range l.byPos {
		l.at[i] = len(l.list)
		if n != nil {
			l.list = append(l.list, n)
		}
	}
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
