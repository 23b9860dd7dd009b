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
	services records[swarm.Service]
	nodes    records[swarm.Node]
	secrets  records[swarm.Secret]
	configs  records[swarm.Config]
	changed  chan struct{}
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{
		services: newRecords(serviceFields, nil),
		nodes:    newRecords(nodeFields, nodeRecord),
		secrets:  newRecords(secretFields, nil),
		configs:  newRecords(configFields, nil),
		changed:  make(chan struct{}, 1),
	}
}

func (m *Memory) Services() []swarm.Service { return memList(m, m.services) }

func (m *Memory) Service(id string) (swarm.Service, bool) { return memGet(m, m.services, id) }

func (m *Memory) PutService(_ context.Context, s swarm.Service) (swarm.Service, error) {
	return memPut(m, m.services, s)
}

func (m *Memory) DeleteService(_ context.Context, id string) error {
	return orMissing(nil, memDelete(m, m.services, id), kindServices, id)
}

func (m *Memory) Nodes() []swarm.Node { return memList(m, m.nodes) }

func (m *Memory) Node(id string) (swarm.Node, bool) { return memGet(m, m.nodes, id) }

func (m *Memory) PutNode(_ context.Context, n swarm.Node) (swarm.Node, error) {
	return memPut(m, m.nodes, n)
}

func (m *Memory) DeleteNode(_ context.Context, id string) error {
	memDelete(m, m.nodes, id)
	return nil
}

func (m *Memory) Secrets() []swarm.Secret { return memList(m, m.secrets) }

func (m *Memory) Secret(id string) (swarm.Secret, bool) { return memGet(m, m.secrets, id) }

func (m *Memory) PutSecret(_ context.Context, s swarm.Secret) (swarm.Secret, error) {
	return memPut(m, m.secrets, s)
}

func (m *Memory) DeleteSecret(_ context.Context, id string) error {
	return orMissing(nil, memDelete(m, m.secrets, id), kindSecrets, id)
}

func (m *Memory) Configs() []swarm.Config { return memList(m, m.configs) }

func (m *Memory) Config(id string) (swarm.Config, bool) { return memGet(m, m.configs, id) }

func (m *Memory) PutConfig(_ context.Context, c swarm.Config) (swarm.Config, error) {
	return memPut(m, m.configs, c)
}

func (m *Memory) DeleteConfig(_ context.Context, id string) error {
	return orMissing(nil, memDelete(m, m.configs, id), kindConfigs, id)
}

func (m *Memory) Changed() <-chan struct{} { return m.changed }

func (m *Memory) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// records is one kind of record in a Memory, by ID; the Memory's lock guards it.
type records[T any] struct {
	recs map[string]T
	f    fields[T]
	keep func(T) T // what the store keeps of a record (nodeRecord); nil: all of it
}

func newRecords[T any](f fields[T], keep func(T) T) records[T] {
	return records[T]{recs: map[string]T{}, f: f, keep: keep}
}

func memList[T any](m *Memory, r records[T]) []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]T, 0, len(r.recs))
	for _, rec := range r.recs {
		out = append(out, deepCopy(rec))
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(r.f.id(a), r.f.id(b)) })
	return out
}

func memGet[T any](m *Memory, r records[T], id string) (T, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := r.recs[id]
	return deepCopy(rec), ok
}

// memPut is the check-and-set write of every kind (Store.PutService).
func memPut[T any](m *Memory, r records[T], rec T) (T, error) {
	var zero T
	if r.keep != nil {
		rec = r.keep(rec)
	}
	id, v := r.f(&rec)
	if err := validID(*id); err != nil {
		return zero, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, exists := r.recs[*id]
	_, storedVersion := r.f(&stored)
	if err := checkVersion(*storedVersion, *v, exists); err != nil {
		return zero, err
	}
	m.index++
	*v = swarm.Version{Index: m.index}
	r.recs[*id] = deepCopy(rec)
	m.signal()
	return deepCopy(rec), nil
}

// memDelete removes the record of id, if there is one (found).
func memDelete[T any](m *Memory, r records[T], id string) (found bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, found = r.recs[id]; found {
		delete(r.recs, id)
		m.signal()
	}
	return found
}

// checkVersion is the check-and-set rule: a write names the version it read (0 for none).
func checkVersion(stored, given swarm.Version, exists bool) error {
	if (!exists && given.Index != 0) || (exists && given.Index != stored.Index) {
		return ErrOutOfSequence
	}
	return nil
}
