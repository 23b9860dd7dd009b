package scheduler

import "container/heap"

// plainIndex places plain requests (see isPlain) without weighing every node: for them a node either passes
// (available, and healthy and with a container slot left where those filters run) or not, and the spread and
// binpack strategies rank the nodes that pass by the request's Group's peers when it has one, then by health,
// then by container count (in-flight placements included), then by position. The index is for one Group (or
// none) at a time: a request of another is indexed afresh, a burst of one service's tasks is not. The index keeps those keys for the node list it last saw, with the best node at
// the top of a heap; a placement compares the list's pointers with the ones it holds (nodes are immutable
// snapshots, so a new pointer is the only change there is: a node paused or drained comes as a new snapshot)
// and re-keys the positions that changed, and reservations re-key their node as they come and go. It is
// guarded by the scheduler's lock.
type plainIndex struct {
	s      *Scheduler
	nodes  []*Node           // the list the keys were taken from, by position
	keys   []plainKey        // by position
	at     []int             // position -> place in heap, -1 when the node does not pass
	heap   []int             // positions of the nodes that pass, best first
	slotAt map[*nodeSlot]int // a node's reservations -> its position, to re-key it when they change
	group  *group            // the Group the keys count peers of, nil for none
}

type plainKey struct {
	peers  int // of the index's group, in-flight placements included
	health int64
	count  int // containers, in-flight ones included
	pass   bool
}

// isPlain says whether r can be placed by the index: a strategy that ranks (not random), nodes in name order,
// nothing to reserve but a container slot, no spread preferences, and no filter but availability, health and
// containerslots that can reject it.
func (s *Scheduler) isPlain(r *request) bool {
	if s.strategy == "random" || !r.sortedNodes || r.cpus > 0 || r.memory > 0 || r.hasSoft || len(r.spread) > 0 {
		return false
	}
	for _, sf := range r.filters {
		switch sf.f.(type) {
		case availabilityFilter, healthFilter, slotsFilter:
		default:
			return false
		}
	}
	return true
}

// uses says whether the scheduler runs filter f.
func (s *Scheduler) uses(f filter) bool {
	for _, g := range s.filters {
		if g == f {
			return true
		}
	}
	return false
}

// pickPlain returns the node pick would choose for a plain request of Group g (nil for none), or nil when no
// node passes (pick then explains why). Call it with s.mu held.
func (s *Scheduler) pickPlain(nodes []*Node, g *group) *Node {
	x := s.plain
	if x == nil || len(x.nodes) != len(nodes) || !sameGroup(x.group, g) {
		x = s.buildPlain(nodes, g)
	} else {
		for i, n := range nodes {
			if n != x.nodes[i] {
				x.nodes[i] = n
				x.rekey(i)
			}
		}
	}
	if len(x.heap) == 0 {
		return nil
	}
	return x.nodes[x.heap[0]]
}

func sameGroup(a, b *group) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.text == b.text)
}

// buildPlain indexes a node list from scratch, for Group g.
func (s *Scheduler) buildPlain(nodes []*Node, g *group) *plainIndex {
	x := &plainIndex{s: s, nodes: append([]*Node(nil), nodes...), keys: make([]plainKey, len(nodes)),
		at: make([]int, len(nodes)), slotAt: make(map[*nodeSlot]int, len(nodes)), group: g}
	for i := range nodes {
		x.keys[i] = x.keyOf(i)
		x.at[i] = -1
		if x.keys[i].pass {
			x.at[i] = len(x.heap)
			x.heap = append(x.heap, i)
		}
	}
	heap.Init(x)
	s.plain = x
	return x
}

// keyOf reads position i's node (with its reservations) as the availability, health and containerslots filters
// and the strategy see it.
func (x *plainIndex) keyOf(i int) plainKey {
	n := x.nodes[i]
	sl := x.s.slotOf(n)
	x.slotAt[sl] = i
	k := plainKey{health: n.HealthIndicator, count: len(n.Containers) + len(sl.pending)}
	if x.group != nil {
		k.peers = (&request{group: x.group}).peers(&nodeView{Node: n, pending: sl.pending})
	}
	slots := n.slots()
	k.pass = available(n) && (!x.s.uses(healthFilter{}) || k.health > 0) &&
		(!x.s.uses(slotsFilter{}) || slots < 0 || k.count < slots)
	return k
}

// rekey re-reads position i and moves it in (or into, or out of) the heap.
func (x *plainIndex) rekey(i int) {
	k := x.keyOf(i)
	x.keys[i] = k
	switch h := x.at[i]; {
	case h >= 0 && k.pass:
		heap.Fix(x, h)
	case h >= 0:
		heap.Remove(x, h)
	case k.pass:
		heap.Push(x, i)
	}
}

// reserved re-keys the node whose reservations changed, if the index holds it.
func (x *plainIndex) reserved(sl *nodeSlot) {
	if i, ok := x.slotAt[sl]; ok && i < len(x.nodes) && x.s.slotOf(x.nodes[i]) == sl {
		x.rekey(i)
	}
}

// heap.Interface over positions; Less is pick's ranking for a plain request.
func (x *plainIndex) Len() int { return len(x.heap) }

func (x *plainIndex) Less(a, b int) bool {
	i, j := x.heap[a], x.heap[b]
	ki, kj := x.keys[i], x.keys[j]
	if ki.peers != kj.peers {
		return ki.peers < kj.peers
	}
	if ki.health != kj.health {
		return ki.health > kj.health
	}
	if ki.count != kj.count {
		return (ki.count < kj.count) != (x.s.strategy == "binpack")
	}
	return i < j
}

func (x *plainIndex) Swap(a, b int) {
	x.heap[a], x.heap[b] = x.heap[b], x.heap[a]
	x.at[x.heap[a]], x.at[x.heap[b]] = a, b
}

func (x *plainIndex) Push(v any) {
	i := v.(int)
	x.at[i] = len(x.heap)
	x.heap = append(x.heap, i)
}

func (x *plainIndex) Pop() any {
	i := x.heap[len(x.heap)-1]
	x.heap = x.heap[:len(x.heap)-1]
	x.at[i] = -1
	return i
}
