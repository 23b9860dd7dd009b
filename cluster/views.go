package cluster

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"swarm/scheduler"
)

// views are what is derived from an engine's parts for readers that would otherwise walk its containers: the
// scheduler's node, the name and short-ID index, /info's sums and lines (info.go), and the encoded list entries
// (list_json.go). Each is built on use and kept with the generations of the parts it was built from (its
// stamp); a reader that finds a part moved since builds it again. A built view is never changed, so readers use
// it without a lock; mu only keeps two readers from building the same view at once. Lock order: mu, then any
// part's lock.
type views struct {
	e      *Engine
	mu     sync.Mutex
	node   atomic.Pointer[nodeView]
	index  atomic.Pointer[lookups]
	tally  atomic.Pointer[tally]
	status atomic.Pointer[statusBlock]
	list   atomic.Pointer[listEntries]
}

// stamp is the generations of an engine's parts: the spec (replaced whole at each validation), the health, the
// containers and the images.
type stamp struct {
	spec                              *engineSpec
	health, containers, images, metas uint64
}

func (v *views) stamp() stamp {
	e := v.e
	return stamp{e.conn.spec.Load(), e.health.gen.Load(), e.store.gen.Load(), e.objects.imagesGen.Load(), e.set.metas.gen.Load()}
}

// built returns the view in p if keep says it is current, else builds it under mu (once for concurrent readers).
func built[T any](v *views, p *atomic.Pointer[T], keep func(*T) bool, build func() *T) *T {
	if x := p.Load(); x != nil && keep(x) {
		return x
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if x := p.Load(); x != nil && keep(x) {
		return x
	}
	x := build()
	p.Store(x)
	return x
}

// nodeView is the engine as the scheduler sees it, as of a stamp.
type nodeView struct {
	at   stamp
	node *scheduler.Node
}

// schedNode returns the engine as the scheduler sees it; nil for an engine not validated yet or gone from
// discovery.
func (v *views) schedNode() *scheduler.Node {
	if st := v.e.health.State(); st == StatePending || st == StateDisconnected {
		return nil
	}
	now := v.stamp()
	return built(v, &v.node, func(n *nodeView) bool { return n.at == now }, func() *nodeView {
		return &nodeView{at: now, node: v.buildNode(now.spec)}
	}).node
}

func (v *views) buildNode(spec *engineSpec) *scheduler.Node {
	e := v.e
	n := &scheduler.Node{ID: spec.id, Name: spec.name, Addr: e.conn.addr, Labels: spec.labels,
		HealthIndicator: e.health.indicator(), TotalCPUs: int64(spec.info.NCPU), TotalMemory: spec.info.MemTotal,
		IP: e.conn.ip, OS: spec.info.OSType, Arch: spec.info.Architecture}
	if n.Name == "" {
		n.Name = e.conn.addr
	}
	meta := e.set.metas.of(spec.id)
	n.Availability, n.NodeLabels, n.Role = meta.Availability, meta.Labels, meta.Role
	if n.Role == "" {
		n.Role = "worker"
	}
	e.store.mu.RLock()
	n.Containers = make([]*scheduler.Container, 0, len(e.store.containers))
	for _, c := range e.store.containers {
		n.Containers = append(n.Containers, c.sched)
	}
	e.store.mu.RUnlock()
	imgs := e.objects.Images()
	n.Images = make([]*scheduler.Image, 0, len(imgs))
	for _, im := range imgs {
		n.Images = append(n.Images, &scheduler.Image{ID: im.ID, RepoTags: im.RepoTags, RepoDigests: im.RepoDigests})
	}
	return n
}

// lookups are the engine's containers by name and by short ID, as of a generation of its containers.
type lookups struct {
	gen   uint64
	names map[string]*Container
	short map[string]*Container // nil value: more than one container
}

func (v *views) lookups() *lookups {
	gen := v.e.store.gen.Load()
	return built(v, &v.index, func(l *lookups) bool { return l.gen == gen }, func() *lookups {
		s := v.e.store
		s.mu.RLock()
		defer s.mu.RUnlock()
		l := &lookups{gen: s.gen.Load(), names: make(map[string]*Container, len(s.containers)),
			short: make(map[string]*Container, len(s.containers))}
		for id, c := range s.containers {
			l.names[c.Name()] = c
			if len(id) >= 12 {
				if _, dup := l.short[id[:12]]; dup {
					l.short[id[:12]] = nil
				} else {
					l.short[id[:12]] = c
				}
			}
		}
		return l
	})
}

// byName finds one of the engine's containers by its name (without the leading slash).
func (v *views) byName(name string) *Container { return v.lookups().names[name] }

// byShortID finds the engine's container whose ID begins with the 12 characters of a short ID (as `docker ps`
// shows it); ambiguous when several do.
func (v *views) byShortID(short string) (c *Container, ambiguous bool) {
	c, ok := v.lookups().short[short]
	return c, ok && c == nil
}

// tally is what /info sums over an engine's containers, as of their generation and the engine's spec.
type tally struct {
	gen                      uint64
	spec                     *engineSpec
	running, paused, stopped int
	cpus, mem                int64
	labels                   string // "k=v, ..." sorted
}

func (v *views) counts() *tally {
	gen, spec := v.e.store.gen.Load(), v.e.conn.spec.Load()
	return built(v, &v.tally, func(t *tally) bool { return t.gen == gen && t.spec == spec }, func() *tally {
		t := &tally{spec: spec}
		if spec != nil {
			labels := make([]string, 0, len(spec.labels))
			for k, val := range spec.labels {
				labels = append(labels, k+"="+val)
			}
			sort.Strings(labels)
			t.labels = strings.Join(labels, ", ")
		}
		s := v.e.store
		s.mu.RLock()
		defer s.mu.RUnlock()
		t.gen = s.gen.Load()
		for _, ct := range s.containers {
			switch ct.State {
			case "running", "restarting":
				t.running++
			case "paused":
				t.paused++
			default:
				t.stopped++
			}
			t.cpus += ct.sched.CPUs
			t.mem += ct.sched.Memory
		}
		return t
	})
}
