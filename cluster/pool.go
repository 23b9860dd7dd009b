package cluster

import (
	"context"
	"log/slog"
	"sort"
	"sync"
)

// pool is the set of engines discovery reports, by address, with the list of them sorted by name then address
// (kept while the set and every engine's identity stay the same: set.identities). Each engine runs until it
// leaves the set or ctx ends. Fields under mu.
type pool struct {
	set     *shared
	log     *slog.Logger
	ctx     context.Context // parent of every engine's goroutines
	mu      sync.RWMutex
	engines map[string]*Engine // by address
	sorted  *sortedEngines
	ids     map[string]string // engine ID -> address of the first engine seen with it (duplicate-ID warning)
}

// sortedEngines is the sorted list for one generation of engine identities. Callers share the slice: they must
// not modify it.
type sortedEngines struct {
	gen  uint64
	list []*Engine
}

// update makes the set equal to addrs: new addresses are started, missing ones taken out and returned (the
// caller stops them).
func (p *pool) update(addrs []string) (gone []*Engine) {
	want := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		want[a] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, e := range p.engines {
		if !want[addr] {
			gone = append(gone, e)
			delete(p.engines, addr)
			p.sorted = nil
			p.set.identities.Add(1)
		}
	}
	p.set.engines.Store(int64(len(want))) // before any new engine opens its stream (streamTransport)
	for addr := range want {
		if p.engines[addr] == nil {
			p.start(addr)
		}
	}
	p.set.engines.Store(int64(len(p.engines))) // without the addresses that were ignored
	return gone
}

// start adds and runs the engine at addr. Callers hold mu.
func (p *pool) start(addr string) {
	e, err := newEngine(addr, p.set)
	if err != nil {
		p.log.Warn("ignoring engine address", "addr", addr, "err", err)
		return
	}
	p.engines[addr] = e
	p.sorted = nil
	p.set.identities.Add(1)
	p.log.Info("engine added", "addr", addr)
	e.life.start(p.ctx)
}

// all returns every engine, sorted by name then address. The slice is shared: do not modify it.
func (p *pool) all() []*Engine {
	gen := p.set.identities.Load()
	p.mu.RLock()
	s := p.sorted
	p.mu.RUnlock()
	if s != nil && s.gen == gen {
		return s.list
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	type named struct {
		e    *Engine
		name string
	}
	byName := make([]named, 0, len(p.engines))
	for _, e := range p.engines {
		byName = append(byName, named{e, e.Name()}) // the name once per engine, not once per comparison
	}
	sort.Slice(byName, func(i, j int) bool {
		if byName[i].name != byName[j].name {
			return byName[i].name < byName[j].name
		}
		return byName[i].e.Addr() < byName[j].e.Addr()
	})
	out := make([]*Engine, len(byName))
	for i, n := range byName {
		out[i] = n.e
	}
	p.sorted = &sortedEngines{gen: gen, list: out}
	return out
}

// byRef finds an engine by name, ID or address.
func (p *pool) byRef(ref string) *Engine {
	for _, e := range p.all() {
		if e.Name() == ref || e.ID() == ref || e.Addr() == ref {
			return e
		}
	}
	return nil
}

// byAddr is the engine at addr, nil if none.
func (p *pool) byAddr(addr string) *Engine {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.engines[addr]
}

// member tells whether e is still the engine at its address (not one that left or was replaced).
func (p *pool) member(e *Engine) bool { return p.byAddr(e.Addr()) == e }

// connected warns about engines sharing an ID (cloned VMs): both keep working, told apart by address.
func (p *pool) connected(e *Engine) {
	id, addr := e.ID(), e.Addr()
	p.log.Info("engine connected", "name", e.Name(), "addr", addr, "id", id)
	p.mu.Lock()
	other, seen := p.ids[id]
	shared := seen && other != addr && p.engines[other] != nil && p.engines[other].ID() == id
	if !shared {
		p.ids[id] = addr
	}
	p.mu.Unlock()
	if shared && id != "" {
		p.log.Warn("two engines share one engine ID (cloned machine?); both are used, told apart by address",
			"id", id, "addr", addr, "other", other)
	}
}

// stateCounts counts engines and containers by state, for the metrics.
func (p *pool) stateCounts() (engines, containers map[string]int) {
	engines, containers = map[string]int{}, map[string]int{}
	p.mu.RLock()
	all := make([]*Engine, 0, len(p.engines))
	for _, e := range p.engines {
		all = append(all, e)
	}
	p.mu.RUnlock()
	for _, e := range all { // order does not matter: no sort, no copies of the containers
		engines[e.State().String()]++
		e.store.countStates(containers)
	}
	return engines, containers
}
