package secrets

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// fakeStore keeps records in memory with desired.Store's check-and-set, and remembers every secret it was
// given, as JSON, to show what the real store would hold.
type fakeStore struct {
	mu       sync.Mutex
	index    uint64
	secrets  map[string]swarm.Secret
	configs  map[string]swarm.Config
	services []swarm.Service
	received [][]byte
	// beforePut, if set, runs at the start of each PutSecret, outside the lock (a slow backend).
	beforePut func()
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{secrets: map[string]swarm.Secret{}, configs: map[string]swarm.Config{}}
}

func sortedValues[T any](m map[string]T, id func(T) string) []T {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	return out
}

func (f *fakeStore) Secrets() []swarm.Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sortedValues(f.secrets, func(s swarm.Secret) string { return s.ID })
}

func (f *fakeStore) Secret(id string) (swarm.Secret, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[id]
	return s, ok
}

func (f *fakeStore) PutSecret(_ context.Context, s swarm.Secret) (swarm.Secret, error) {
	if f.beforePut != nil {
		f.beforePut()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(s)
	f.received = append(f.received, b)
	if err := f.check(s.ID, s.Version.Index, f.secrets[s.ID].Version.Index); err != nil {
		return swarm.Secret{}, err
	}
	f.index++
	s.Version.Index = f.index
	f.secrets[s.ID] = s
	return s, nil
}

func (f *fakeStore) DeleteSecret(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.secrets[id]; !ok {
		return errdefs.NotFound(fmt.Errorf("secret %s not found", id))
	}
	delete(f.secrets, id)
	return nil
}

func (f *fakeStore) Configs() []swarm.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sortedValues(f.configs, func(c swarm.Config) string { return c.ID })
}

func (f *fakeStore) Config(id string) (swarm.Config, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.configs[id]
	return c, ok
}

func (f *fakeStore) PutConfig(_ context.Context, c swarm.Config) (swarm.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(c.ID, c.Version.Index, f.configs[c.ID].Version.Index); err != nil {
		return swarm.Config{}, err
	}
	f.index++
	c.Version.Index = f.index
	f.configs[c.ID] = c
	return c, nil
}

func (f *fakeStore) DeleteConfig(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.configs[id]; !ok {
		return errdefs.NotFound(fmt.Errorf("config %s not found", id))
	}
	delete(f.configs, id)
	return nil
}

func (f *fakeStore) Services() []swarm.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.services)
}

// check is the check-and-set: stored is the stored record's version, 0 when there is none.
func (f *fakeStore) check(id string, given, stored uint64) error {
	if id == "" {
		return errdefs.InvalidParameter(fmt.Errorf("empty ID"))
	}
	if given != stored {
		return errOutOfSequence
	}
	return nil
}

func (f *fakeStore) addService(name string, cs *swarm.ContainerSpec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services = append(f.services, swarm.Service{ID: newID(),
		Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name}, TaskTemplate: swarm.TaskSpec{ContainerSpec: cs}}})
}

func (f *fakeStore) putSecretRaw(s swarm.Secret) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	s.Version.Index = f.index
	f.secrets[s.ID] = s
}

func (f *fakeStore) putConfigRaw(c swarm.Config) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	c.Version.Index = f.index
	f.configs[c.ID] = c
}

// newTestAPI returns an API with a key over an empty fake store.
func newTestAPI(t *testing.T) (*API, *fakeStore) {
	t.Helper()
	st := newFakeStore()
	return New(Config{Store: st, Key: testKey(t, 9)}), st
}

func mustCreateSecret(t *testing.T, a *API, name, data string, labels map[string]string) string {
	t.Helper()
	id, err := a.CreateSecret(context.Background(), swarm.SecretSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}, Data: []byte(data)})
	if err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	return id
}

func mustCreateConfig(t *testing.T, a *API, name, data string, labels map[string]string) string {
	t.Helper()
	id, err := a.CreateConfig(context.Background(), swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}, Data: []byte(data)})
	if err != nil {
		t.Fatalf("create config %s: %v", name, err)
	}
	return id
}
