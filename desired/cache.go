package desired

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/swarm"
	"github.com/hashicorp/consul/api"
)

// cache is the Consul store's memory of the records: full answers of Consul (a List at an index) and this
// process's own writes, merged so that it never moves backwards. Every entry carries the ModifyIndex it is
// known at; an answer never replaces an entry with an older version, and an answer older than the newest one
// applied is dropped whole. It is not safe for concurrent use (the store holds a lock).
type cache struct {
	layout   layout
	log      *slog.Logger
	view     uint64 // the index of the newest full answer applied
	loaded   bool   // a full answer was applied
	services table[swarm.Service]
	nodes    table[swarm.Node]
	secrets  table[swarm.Secret]
	configs  table[swarm.Config]
}

func newCache(l layout, log *slog.Logger) *cache {
	return &cache{layout: l, log: log, services: table[swarm.Service]{}, nodes: table[swarm.Node]{},
		secrets: table[swarm.Secret]{}, configs: table[swarm.Config]{}}
}

// apply merges Consul's full answer at index at and reports whether a record changed. reset takes the answer
// as the whole truth, whatever the cache knew: for when Consul's index went backwards (a restarted or
// restored Consul), where versions known before mean nothing any more.
func (c *cache) apply(pairs api.KVPairs, at uint64, reset bool) bool {
	if !reset && c.loaded && at < c.view {
		return false // an older answer than one already applied (a Load and the watch racing)
	}
	hadRecords := c.size() > 0
	if reset {
		c.forget()
	}
	c.view, c.loaded = at, true
	snap := c.split(pairs)
	changed := c.services.merge(snap[kindServices], at, decoder(c.log, serviceFields, nil))
	changed = c.nodes.merge(snap[kindNodes], at, decoder(c.log, nodeFields, nodeRecord)) || changed
	changed = c.secrets.merge(snap[kindSecrets], at, decoder(c.log, secretFields, nil)) || changed
	changed = c.configs.merge(snap[kindConfigs], at, decoder(c.log, configFields, nil)) || changed
	return changed || (reset && hadRecords)
}

// split sorts the record keys of an answer by kind (kind → ID → pair); other keys are ignored.
func (c *cache) split(pairs api.KVPairs) map[string]map[string]*api.KVPair {
	snap := map[string]map[string]*api.KVPair{}
	for _, p := range pairs {
		kind, id, ok := c.layout.parse(p.Key)
		if !ok {
			continue
		}
		if snap[kind] == nil {
			snap[kind] = map[string]*api.KVPair{}
		}
		snap[kind][id] = p
	}
	return snap
}

// size counts the entries of every table, versions known to be gone included.
func (c *cache) size() int { return len(c.services) + len(c.nodes) + len(c.secrets) + len(c.configs) }

// forget empties every table.
func (c *cache) forget() {
	clear(c.services)
	clear(c.nodes)
	clear(c.secrets)
	clear(c.configs)
}

// entry is what this process knows of one key: the record at the key's ModifyIndex, or (gone) that the
// version at index is no record: deleted by this process, or unreadable.
type entry[T any] struct {
	rec   T
	index uint64
	gone  bool
}

type table[T any] map[string]entry[T]

func (t table[T]) get(id string) (T, bool) {
	e, ok := t[id]
	if !ok || e.gone {
		var zero T
		return zero, false
	}
	return e.rec, true
}

func (t table[T]) list(id func(T) string) []T {
	out := make([]T, 0, len(t))
	for _, e := range t {
		if !e.gone {
			out = append(out, e.rec)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return out
}

// put records a version written by this process, unless a newer one is known already.
func (t table[T]) put(id string, rec T, index uint64) bool {
	if e, ok := t[id]; ok && e.index >= index {
		return false
	}
	t[id] = entry[T]{rec: rec, index: index}
	return true
}

// remove records that the version at index was deleted, unless a newer one is known already (created again
// after the delete); it reports whether a record disappeared.
func (t table[T]) remove(id string, index uint64) bool {
	e, ok := t[id]
	if ok && e.index > index {
		return false
	}
	t[id] = entry[T]{index: index, gone: true}
	return ok && !e.gone
}

// merge applies one kind's part of a full answer at index at (snap: ID → pair; nil when the answer has none).
func (t table[T]) merge(snap map[string]*api.KVPair, at uint64, decode func(string, *api.KVPair) (T, bool)) bool {
	changed := false
	for id, p := range snap {
		e, ok := t[id]
		if ok && e.index >= p.ModifyIndex {
			continue // known already, or older than what this process wrote or deleted
		}
		rec, readable := decode(id, p)
		t[id] = entry[T]{rec: rec, index: p.ModifyIndex, gone: !readable}
		changed = changed || readable || (ok && !e.gone)
	}
	for id, e := range t {
		if _, ok := snap[id]; ok || e.index > at {
			continue // still there, or written by this process after the answer
		}
		delete(t, id)
		changed = changed || !e.gone
	}
	return changed
}

// fields gives a record's ID and version to the generic code.
type fields[T any] func(*T) (*string, *swarm.Version)

func serviceFields(s *swarm.Service) (*string, *swarm.Version) { return &s.ID, &s.Version }

func nodeFields(n *swarm.Node) (*string, *swarm.Version) { return &n.ID, &n.Version }

func secretFields(s *swarm.Secret) (*string, *swarm.Version) { return &s.ID, &s.Version }

func configFields(c *swarm.Config) (*string, *swarm.Version) { return &c.ID, &c.Version }

// id is rec's ID.
func (f fields[T]) id(rec T) string {
	id, _ := f(&rec)
	return *id
}

// encode is the value kept in Consul: the record as JSON, without its version (the key's ModifyIndex is).
func encode[T any](rec T, f fields[T]) ([]byte, error) {
	_, v := f(&rec)
	*v = swarm.Version{}
	return json.Marshal(rec)
}

// decode reads a value back: the record must name the ID its key does; its version is the key's ModifyIndex.
func decode[T any](p *api.KVPair, id string, f fields[T]) (T, error) {
	var rec T
	if err := json.Unmarshal(p.Value, &rec); err != nil {
		return rec, err
	}
	recID, v := f(&rec)
	if *recID != id {
		return rec, fmt.Errorf("the record's ID is %q, not its key's", *recID)
	}
	*v = swarm.Version{Index: p.ModifyIndex}
	return rec, nil
}

// decodeLogged is decode for answers: an unreadable value is skipped with a warning (once per version, as
// the cache does not read a version twice); trim, when given, drops what the store does not keep.
func decodeLogged[T any](log *slog.Logger, p *api.KVPair, id string, f fields[T], trim func(T) T) (T, bool) {
	rec, err := decode(p, id, f)
	if err != nil {
		log.Warn("desired state store: skipping an unreadable record in Consul; fix or delete the key",
			"key", p.Key, "modify_index", p.ModifyIndex, "err", err)
		return rec, false
	}
	if trim != nil {
		rec = trim(rec)
	}
	return rec, true
}

// decoder is decodeLogged for one kind, as merge takes it.
func decoder[T any](log *slog.Logger, f fields[T], trim func(T) T) func(string, *api.KVPair) (T, bool) {
	return func(id string, p *api.KVPair) (T, bool) { return decodeLogged(log, p, id, f, trim) }
}
