package cluster

import (
	"slices"
	"sync"

	"swarm/scheduler"
)

// placer runs placements on the scheduler's view of every validated engine. The node list follows the pool's
// sorted engine list (PlaceSorted relies on the order) and is patched in place where engines changed since the
// last placement (set.dirty), so a placement neither visits every engine nor copies the list; the list is read
// and changed under mu, and placements run under it.
type placer struct {
	sched *scheduler.Scheduler
	pool  *pool
	mu    sync.Mutex
	from  []*Engine       // the engine list the nodes follow
	pos   map[*Engine]int // each engine's position in from
	byPos []*scheduler.Node
	list  []*scheduler.Node // the nodes there are (byPos without the nils)
	at    []int             // each position's index in list
}

// place picks a node for req (see scheduler.PlaceSorted).
func (p *placer) place(req *scheduler.Request) (*scheduler.Placement, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sched.PlaceSorted(req, p.nodesLocked())
}

// nodes is a copy of the node list.
func (p *placer) nodes() []*scheduler.Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.nodesLocked())
}

func (p *placer) nodesLocked() []*scheduler.Node {
	engines := p.pool.all()
	dirty := p.pool.set.dirty.take()
	if len(p.from) != len(engines) || (len(engines) > 0 && &p.from[0] != &engines[0]) { // another engine list
		p.from, p.pos, p.byPos = engines, make(map[*Engine]int, len(engines)), make([]*scheduler.Node, len(engines))
		for i, e := range engines {
			p.pos[e], p.byPos[i] = i, e.views.schedNode()
		}
		p.compact()
		return p.list
	}
	compact := false
	for e := range dirty {
		i, ok := p.pos[e]
		if !ok {
			continue
		}
		n := e.views.schedNode()
		if (n == nil) != (p.byPos[i] == nil) {
			compact = true // an engine joined or left the list: positions move
		} else if n != nil {
			p.list[p.at[i]] = n
		}
		p.byPos[i] = n
	}
	if compact {
		p.compact()
	}
	return p.list
}

func (p *placer) compact() {
	p.list, p.at = p.list[:0], make([]int, len(p.byPos))
	for i, n := range p.byPos {
		p.at[i] = len(p.list)
		if n != nil {
			p.list = append(p.list, n)
		}
	}
}

// engineFor maps a chosen node back to its engine (nil if it left meanwhile).
func (p *placer) engineFor(n *scheduler.Node) *Engine { return p.pool.byAddr(n.Addr) }
