package desired

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/swarm"
)

// Memory is a Store in this process only.
type Memory struct {
	mu       sync.Mutex
	index    uint64
	services map[string]swarm.Service
	nodes    map[string]swarm.Node
	changed  chan struct{}
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{services: map[string]swarm.Service{}, nodes: map[string]swarm.Node{}, changed: make(chan struct{}, 1)}
}

func (m *Memory) Services() []swarm.Service {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedCopies(m.services, func(s swarm.Service) string { return s.ID }, copyService)
}

func (m *Memory) Service(id string) (swarm.Service, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.services[id]
	return copyService(s), ok
}

func (m *Memory) PutService(_ context.Context, s swarm.Service) (swarm.Service, error) {
	if err := validID(s.ID); err != nil {
		return swarm.Service{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkVersion(m.services[s.ID].Version, s.Version, hasKey(m.services, s.ID)); err != nil {
		return swarm.Service{}, err
	}
	m.index++
	s.Version.Index = m.index
	m.services[s.ID] = copyService(s)
	m.signal()
	return copyService(s), nil
}

func (m *Memory) DeleteService(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !hasKey(m.services, id) {
		return notFound("service", id)
	}
	delete(m.services, id)
	m.signal()
	return nil
}

func (m *Memory) Nodes() []swarm.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedCopies(m.nodes, func(n swarm.Node) string { return n.ID }, copyNode)
}

func (m *Memory) Node(id string) (swarm.Node, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[id]
	return copyNode(n), ok
}

func (m *Memory) PutNode(_ context.Context, n swarm.Node) (swarm.Node, error) {
	if err := validID(n.ID); err != nil {
		return swarm.Node{}, err
	}
	n = nodeRecord(n)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkVersion(m.nodes[n.ID].Version, n.Version, hasKey(m.nodes, n.ID)); err != nil {
		return swarm.Node{}, err
	}
	m.index++
	n.Version.Index = m.index
	m.nodes[n.ID] = copyNode(n)
	m.signal()
	return copyNode(n), nil
}

func (m *Memory) DeleteNode(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if hasKey(m.nodes, id) {
		delete(m.nodes, id)
		m.signal()
	}
	return nil
}

func (m *Memory) Changed() <-chan struct{} { return m.changed }

func (m *Memory) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

// checkVersion is the check-and-set rule: a write names the version it read (0 for none).
func checkVersion(stored, given swarm.Version, exists bool) error {
	if (!exists && given.Index != 0) || (exists && given.Index != stored.Index) {
		return ErrOutOfSequence
	}
	return nil
}

func sortedCopies[V any](m map[string]V, id func(V) string, cp func(V) V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, cp(v))
	}
	slices.SortFunc(out, func(a, b V) int { return strings.Compare(id(a), id(b)) })
	return out
}
