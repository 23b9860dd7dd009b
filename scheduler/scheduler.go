package scheduler

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// Node is one engine as the scheduler sees it: a read-only snapshot built by the manager.
type Node struct {
	ID, Name, Addr  string
	Labels          map[string]string // engine labels, built-ins (storagedriver, kernelversion, ...) included
	HealthIndicator int64             // 0 = unhealthy .. 100 = perfect
	TotalCPUs       int64             // NCPU, before overcommit
	TotalMemory     int64             // MemTotal bytes, before overcommit
	Containers      []*Container      // every container, all states
	Images          []*Image

	// Swarm mode's view of the node (constraint keys node.*): its availability (active, or "" for it; pause
	// and drain take no new containers, whatever asks), the labels set on the node (node.labels.K, as opposed
	// to the engine's), its role (manager or worker), address and platform.
	Availability string
	NodeLabels   map[string]string
	Role         string
	IP           string
	OS, Arch     string

	lazy lazyIndex // built on first placement; a Node must not change once handed to Place
}

// Container is a container on a node, as the filters need it.
type Container struct {
	ID         string
	Names      []string // without the leading "/"
	Image      string
	Labels     map[string]string
	Config     *container.Config
	HostConfig *container.HostConfig
	Ports      nat.PortMap // NetworkSettings.Ports
	Running    bool
	CPUs       int64 // reserved whole CPUs: CpuShares as the original counts them, or NanoCPUs rounded up
	Memory     int64 // reserved memory, bytes

	group string // a placement in flight: its request's Group
}

// Image is an image on a node.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
}

// Config configures a Scheduler.
type Config struct {
	Strategy   string   // spread (default), binpack ("binpacking"), random
	Filters    []string // nil: health, port, containerslots, dependency, affinity, constraint, whitelist
	Overcommit float64  // swarm.overcommit: 0.05 lets 5% more be reserved than a node has
	Seed       int64    // random strategy seed; 0 = time-based
}

// Scheduler places containers. It is safe for concurrent use.
type Scheduler struct {
	filters  []filter
	strategy string
	pct      int64 // overcommit as the original's integer percent

	mu       sync.Mutex
	rng      *rand.Rand
	slots    map[nodeID]*nodeSlot // each node's in-flight placements, across snapshots of the node
	inflight int                  // placements not yet Done
	plain    *plainIndex          // ranks the last node list for plain requests (plain.go)
	noIndex  bool                 // tests: every request takes the pass over every node
}

// Request is one container to place.
type Request struct {
	Name       string
	Config     *container.Config
	HostConfig *container.HostConfig
	// Group, when set, is the label (key=value) of the container's peers, e.g. the tasks of one service: the
	// nodes holding the fewest peers come first, before the strategy ranks the rest (swarm mode's spreading of
	// a service's tasks). Peers are the running containers with that label and the placements in flight with
	// that label or the same Group; stopped containers and other groups' do not count.
	Group string
	// Spread are swarm mode's placement preferences, in order (e.g. "node.labels.zone"): the peers are spread
	// evenly over the values of each, before Group's spreading over nodes. Each names a node attribute as swarm
	// mode's constraint keys do (node.labels.K, engine.labels.K, node.role, ...); it is ignored without Group.
	Spread []string
}

// New validates the configuration. It starts nothing.
func New(cfg Config) (*Scheduler, error) {
	s := &Scheduler{strategy: cfg.Strategy, pct: int64(cfg.Overcommit * 100), slots: map[nodeID]*nodeSlot{}}
	switch s.strategy {
	case "":
		s.strategy = "spread"
	case "binpacking":
		s.strategy = "binpack"
	case "spread", "binpack", "random":
	default:
		return nil, fmt.Errorf("strategy %q not supported: use spread, binpack or random", cfg.Strategy)
	}
	names := cfg.Filters
	if names == nil {
		names = filterOrder
	}
	for _, n := range names {
		f, ok := filtersByName[n]
		if !ok {
			return nil, fmt.Errorf("filter %q not supported: use %s", n, strings.Join(filterOrder, ", "))
		}
		s.filters = append(s.filters, f)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	s.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed>>1)))
	return s, nil
}

// Placement is a chosen node with the request reserved on it until Done.
type Placement struct {
	Node *Node
	s    *Scheduler
	slot *nodeSlot
	c    *Container
	once sync.Once
}

// Done releases the reservation; call it once the container is in the manager's cache or the create failed.
func (p *Placement) Done() {
	p.once.Do(func() {
		p.s.mu.Lock()
		defer p.s.mu.Unlock()
		list := p.slot.pending
		for i, c := range list {
			if c == p.c {
				p.slot.pending = append(list[:i:i], list[i+1:]...)
				p.s.inflight--
				if p.s.plain != nil {
					p.s.plain.reserved(p.slot)
				}
				break
			}
		}
	})
}

// nodeSlot holds the placements in flight on one node (guarded by the scheduler's lock). Each Node snapshot
// remembers its slot, so a placement finds it without hashing the node's key.
type nodeSlot struct {
	owner   *Scheduler
	pending []*Container
}

// slotOf returns n's slot; call it with s.mu held.
func (s *Scheduler) slotOf(n *Node) *nodeSlot {
	if sl := n.lazy.slot.Load(); sl != nil && sl.owner == s {
		return sl
	}
	key := nodeKey(n)
	sl := s.slots[key]
	if sl == nil {
		sl = &nodeSlot{owner: s}
		s.slots[key] = sl
	}
	n.lazy.slot.Store(sl)
	return sl
}

// nodeID tells nodes apart across snapshots: an address and the engine ID seen there (free to build).
type nodeID struct{ addr, id string }

func nodeKey(n *Node) nodeID { return nodeID{n.Addr, n.ID} }

// Place picks a node for req and reserves it there (see the package doc). A *NoNodeError explains a failure;
// an *ExprError reports a malformed expression.
func (s *Scheduler) Place(req *Request, nodes []*Node) (*Placement, error) {
	return s.place(req, nodes, false)
}

// PlaceSorted is Place for nodes already sorted by name: ties then go by position alone, which spares reading
// every node's name (on a large fleet, most of a placement's time).
func (s *Scheduler) PlaceSorted(req *Request, nodes []*Node) (*Placement, error) {
	return s.place(req, nodes, true)
}

func (s *Scheduler) place(req *Request, nodes []*Node, sorted bool) (*Placement, error) {
	r, err := newRequest(req)
	if err != nil {
		return nil, err
	}
	r.sortedNodes = sorted
	r.filters = s.active(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var chosen *Node
	if !s.noIndex && s.isPlain(r) {
		chosen = s.pickPlain(nodes, r.group)
	}
	if chosen == nil { // not plain, or no node passes: pick also says why
		n, err := s.pick(r, nodes, true)
		if err != nil && r.hasSoft {
			n, err = s.pick(r, nodes, false)
		}
		if err != nil {
			return nil, err
		}
		chosen = n.Node
	}
	slot := s.slotOf(chosen)
	c := r.pendingContainer()
	slot.pending = append(slot.pending, c)
	s.inflight++
	if s.plain != nil {
		s.plain.reserved(slot)
	}
	return &Placement{Node: chosen, s: s, slot: slot, c: c}, nil
}

// pick runs the filters, then the strategy over the nodes that pass (see before); soft says whether soft
// expressions count. It makes one pass, looks at one node at a time (with its in-flight placements) and keeps
// no list of candidates (but for the random strategy and spread preferences, see choose): nothing is
// allocated per node.
func (s *Scheduler) pick(r *request, nodes []*Node, soft bool) (*nodeView, error) {
	if len(nodes) == 0 {
		return nil, &NoNodeError{Original: msgNoNodes, Reasons: []string{"no nodes in the cluster"}}
	}
	r.soft = soft
	var rej rejections
	last := unfilteredStage // the stage where the original's filters, one after the other, left no node
	var top weighted
	var pool []weighted // the candidates of choose
	collect := s.strategy == "random" || (len(r.spread) > 0 && r.group != nil)
	n := &nodeView{}
	for _, node := range nodes {
		n.Node, n.pending = node, nil
		if s.inflight > 0 {
			n.pending = s.slotOf(node).pending
		}
		if stage, reason := s.check(r, n); reason != "" {
			rej.add(stage, reason)
			last = max(last, stage)
			continue
		}
		w, reason := s.weigh(r, n)
		switch {
		case reason != "":
			rej.add(len(s.filters), reason)
			last = resourcesStage
		case collect:
			pool = append(pool, w)
		case top.n.Node == nil || s.before(w, top, r.sortedNodes):
			top = w
		}
	}
	if len(pool) > 0 {
		return s.choose(r, pool), nil
	}
	if top.n.Node != nil {
		return &top.n, nil
	}
	e := rej.err()
	e.Original = s.originalText(r, last)
	return nil, e
}

// check returns the first filter (its stage) that rejects the node, and why.
func (s *Scheduler) check(r *request, n *nodeView) (int, string) {
	for _, sf := range r.filters {
		if reason := sf.f.check(r, n); reason != "" {
			return sf.stage, reason
		}
	}
	return 0, ""
}
