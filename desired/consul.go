package desired

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
	"github.com/hashicorp/consul/api"

	"swarm/internal/backoff"
)

// Timing of the watch and of requests.
const (
	watchWait      = 5 * time.Minute        // a blocking query's longest wait
	requestTimeout = 10 * time.Second       // a write or a Load that Consul does not answer in this time fails
	retryMin       = 250 * time.Millisecond // the watch's first wait after a failed query
	retryMax       = 5 * time.Second        // and its longest, so a manager catches up soon after an outage
)

// Consul is a Store kept in Consul KV (the package doc gives the layout). Reads answer from a cache that a
// full read fills (Load, or Run's first query) and that Run's blocking query keeps current; this process's
// own writes reach the cache when they return. The cache never moves backwards: every record carries its
// key's ModifyIndex and an older answer never replaces a newer version. With Consul unreachable, reads keep
// serving the last state known and writes fail with an errdefs.Unavailable that says so.
type Consul struct {
	kv      *api.KV
	layout  layout
	log     *slog.Logger
	retry   backoff.Delay // between failed watch queries
	running atomic.Bool

	mu        sync.Mutex
	cache     *cache
	changed   chan struct{}
	ready     chan struct{}
	readyOnce sync.Once
}

var _ Store = (*Consul)(nil)

// NewConsul returns the store under the discovery prefix (as discovery.ConsulClient returns it; "" is the
// root) on client, which must not be nil. It does no I/O and starts nothing: call Run, and Load or wait for
// Ready before trusting reads.
func NewConsul(client *api.Client, prefix string, log *slog.Logger) *Consul {
	if log == nil {
		log = slog.Default()
	}
	l := newLayout(prefix)
	return &Consul{kv: client.KV(), layout: l, log: log, retry: backoff.Delay{Min: retryMin, Max: retryMax, Jitter: true},
		cache: newCache(l, log), changed: make(chan struct{}, 1), ready: make(chan struct{})}
}

// Ready is closed once a full read of Consul is in the cache (Load's or Run's first). Until then reads answer
// as an empty store.
func (c *Consul) Ready() <-chan struct{} { return c.ready }

// Load reads Consul's current state (a consistent read) into the cache: when it returns nil, reads are at
// least as new as Consul was when Load was called. A manager that becomes primary calls it before acting on
// the desired state, as the watch may lag or be cut off. Load does not need Run.
func (c *Consul) Load(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	pairs, meta, err := c.kv.List(c.layout.dir, (&api.QueryOptions{RequireConsistent: true}).WithContext(rctx))
	if err != nil {
		return c.failed(ctx, "reading "+c.layout.dir, err)
	}
	c.apply(pairs, meta.LastIndex, false)
	return nil
}

// Run follows Consul with a blocking query on <prefix>/swarm/ until ctx ends, so that other managers'
// changes reach the cache (and Changed) as soon as Consul has them. A failing query is retried with backoff
// (up to retryMax) and logged once per outage; when Consul's index goes backwards (a Consul restarted without
// its data, or restored), the next answer replaces the whole cache. Run returns nil when ctx ends, and an
// error only when called a second time.
func (c *Consul) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("desired state store: Run called twice")
	}
	var last, wait uint64 // the index of the last answer, and the one the next query waits on
	failing := false
	for ctx.Err() == nil {
		q := (&api.QueryOptions{WaitIndex: wait, WaitTime: watchWait}).WithContext(ctx)
		pairs, meta, err := c.kv.List(c.layout.dir, q)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if !failing {
				failing = true
				c.log.Warn("desired state store: cannot watch Consul; serving the last known state and retrying",
					"dir", c.layout.dir, "err", err)
			}
			wait = 0
			c.retry.Wait(ctx)
			continue
		}
		if failing {
			failing = false
			c.log.Info("desired state store: watching Consul again", "dir", c.layout.dir)
		}
		c.retry.Reset()
		backwards := meta.LastIndex < last
		if backwards {
			c.log.Warn("desired state store: Consul's index went backwards (restarted without its data, or restored); reloading everything",
				"dir", c.layout.dir, "index", meta.LastIndex, "was", last)
		}
		c.apply(pairs, meta.LastIndex, backwards)
		last, wait = meta.LastIndex, max(meta.LastIndex, 1) // Consul's docs: never wait on index 0
		if backwards {
			wait = 0 // and start over when it went backwards
		}
	}
	return nil
}

func (c *Consul) apply(pairs api.KVPairs, at uint64, reset bool) {
	c.mu.Lock()
	changed := c.cache.apply(pairs, at, reset)
	c.mu.Unlock()
	c.readyOnce.Do(func() { close(c.ready) })
	if changed {
		c.signal()
	}
}

func (c *Consul) Services() []swarm.Service { return cachedList(c, c.cache.services, serviceFields) }

func (c *Consul) Service(id string) (swarm.Service, bool) { return cachedGet(c, c.cache.services, id) }

func (c *Consul) PutService(ctx context.Context, s swarm.Service) (swarm.Service, error) {
	return writeRecord(ctx, c, kindServices, s, serviceFields, c.cache.services)
}

func (c *Consul) DeleteService(ctx context.Context, id string) error {
	found, err := deleteRecord(ctx, c, kindServices, id, c.cache.services)
	return orMissing(err, found, kindServices, id)
}

func (c *Consul) Nodes() []swarm.Node { return cachedList(c, c.cache.nodes, nodeFields) }

func (c *Consul) Node(id string) (swarm.Node, bool) { return cachedGet(c, c.cache.nodes, id) }

func (c *Consul) PutNode(ctx context.Context, n swarm.Node) (swarm.Node, error) {
	return writeRecord(ctx, c, kindNodes, nodeRecord(n), nodeFields, c.cache.nodes)
}

func (c *Consul) DeleteNode(ctx context.Context, id string) error {
	_, err := deleteRecord(ctx, c, kindNodes, id, c.cache.nodes)
	return err
}

func (c *Consul) Secrets() []swarm.Secret { return cachedList(c, c.cache.secrets, secretFields) }

func (c *Consul) Secret(id string) (swarm.Secret, bool) { return cachedGet(c, c.cache.secrets, id) }

func (c *Consul) PutSecret(ctx context.Context, s swarm.Secret) (swarm.Secret, error) {
	return writeRecord(ctx, c, kindSecrets, s, secretFields, c.cache.secrets)
}

func (c *Consul) DeleteSecret(ctx context.Context, id string) error {
	found, err := deleteRecord(ctx, c, kindSecrets, id, c.cache.secrets)
	return orMissing(err, found, kindSecrets, id)
}

func (c *Consul) Configs() []swarm.Config { return cachedList(c, c.cache.configs, configFields) }

func (c *Consul) Config(id string) (swarm.Config, bool) { return cachedGet(c, c.cache.configs, id) }

func (c *Consul) PutConfig(ctx context.Context, cfg swarm.Config) (swarm.Config, error) {
	return writeRecord(ctx, c, kindConfigs, cfg, configFields, c.cache.configs)
}

func (c *Consul) DeleteConfig(ctx context.Context, id string) error {
	found, err := deleteRecord(ctx, c, kindConfigs, id, c.cache.configs)
	return orMissing(err, found, kindConfigs, id)
}

func (c *Consul) Changed() <-chan struct{} { return c.changed }

func (c *Consul) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// cachedList lists the records of t, a table of the cache, sorted by ID.
func cachedList[T any](c *Consul, t table[T], f fields[T]) []T {
	c.mu.Lock()
	list := t.list(f.id)
	c.mu.Unlock()
	for i := range list { // records in the cache are replaced, never changed: copy outside the lock
		list[i] = deepCopy(list[i])
	}
	return list
}

func cachedGet[T any](c *Consul, t table[T], id string) (T, bool) {
	c.mu.Lock()
	rec, ok := t.get(id)
	c.mu.Unlock()
	return deepCopy(rec), ok
}

// writeRecord writes (a copy of) rec with a check-and-set on its version, then keeps it in t (a table of the
// cache) at the version Consul gave it.
func writeRecord[T any](ctx context.Context, c *Consul, kind string, rec T, f fields[T], t table[T]) (T, error) {
	var zero T
	rec = deepCopy(rec)
	id, v := f(&rec)
	if err := validID(*id); err != nil {
		return zero, err
	}
	what := "writing " + noun(kind) + " " + *id
	value, err := encode(rec, f)
	if err != nil {
		return zero, fmt.Errorf("desired state store: %s: %w", what, err)
	}
	index, err := c.cas(ctx, what, c.layout.key(kind, *id), value, v.Index)
	if err != nil {
		return zero, err
	}
	*v = swarm.Version{Index: index}
	c.mu.Lock()
	changed := t.put(*id, rec, index)
	c.mu.Unlock()
	if changed {
		c.signal()
	}
	return deepCopy(rec), nil
}

// cas writes value at key if the key's ModifyIndex is index (0: if there is no key) and returns the new
// ModifyIndex. It is a transaction, not KV().CAS, because a transaction's answer carries that index.
func (c *Consul) cas(ctx context.Context, what, key string, value []byte, index uint64) (uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	op := &api.KVTxnOp{Verb: api.KVCAS, Key: key, Value: value, Index: index}
	ok, resp, _, err := c.kv.Txn(api.KVTxnOps{op}, (&api.QueryOptions{}).WithContext(rctx))
	if err != nil {
		return 0, c.failed(ctx, what, err)
	}
	if !ok {
		// The check failed, or Consul refused the write for another reason (an ACL): the transaction's
		// errors are text for people, so the key's version says which.
		p, _, err := c.kv.Get(key, (&api.QueryOptions{}).WithContext(rctx))
		if err != nil {
			return 0, c.failed(ctx, what, err)
		}
		if (p == nil && index != 0) || (p != nil && p.ModifyIndex != index) {
			return 0, ErrOutOfSequence
		}
		return 0, refused(what, resp.Errors)
	}
	if len(resp.Results) == 0 || resp.Results[0] == nil {
		return 0, fmt.Errorf("desired state store: %s: Consul's answer has no result", what)
	}
	return resp.Results[0].ModifyIndex, nil
}

// deleteRecord deletes the key of id (if there is one: found) and forgets the record in t.
func deleteRecord[T any](ctx context.Context, c *Consul, kind, id string, t table[T]) (found bool, err error) {
	if validID(id) != nil {
		return false, nil // no such key can exist
	}
	what := "deleting " + noun(kind) + " " + id
	key := c.layout.key(kind, id)
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	// The get fails (and rolls the delete back) when the key is missing, and gives the version deleted.
	ops := api.KVTxnOps{{Verb: api.KVGet, Key: key}, {Verb: api.KVDelete, Key: key}}
	ok, resp, _, err := c.kv.Txn(ops, (&api.QueryOptions{}).WithContext(rctx))
	if err != nil {
		return false, c.failed(ctx, what, err)
	}
	c.mu.Lock()
	known, cached := t[id]
	c.mu.Unlock()
	index := known.index // missing: what the cache holds is gone at its version
	if ok {
		if len(resp.Results) == 0 || resp.Results[0] == nil {
			return false, fmt.Errorf("desired state store: %s: Consul's answer has no result", what)
		}
		index = resp.Results[0].ModifyIndex
	} else {
		p, _, err := c.kv.Get(key, (&api.QueryOptions{}).WithContext(rctx))
		if err != nil {
			return false, c.failed(ctx, what, err)
		}
		if p != nil {
			return false, refused(what, resp.Errors)
		}
		if !cached {
			return false, nil
		}
	}
	c.mu.Lock()
	changed := t.remove(id, index)
	c.mu.Unlock()
	if changed {
		c.signal()
	}
	return ok, nil
}

// failed wraps an error of a request to Consul: the caller's ctx ending, Consul not answering (an
// errdefs.Unavailable), or Consul failing the request.
func (c *Consul) failed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("desired state store: %s: %w", what, ctx.Err())
	}
	var uerr *url.Error
	if errors.As(err, &uerr) || errors.Is(err, context.DeadlineExceeded) {
		return errdefs.Unavailable(fmt.Errorf("desired state store: Consul is unreachable: %s: %w", what, err))
	}
	return errdefs.System(fmt.Errorf("desired state store: Consul failed %s: %w", what, err))
}

func refused(what string, errs api.TxnErrors) error {
	var reasons []string
	for _, e := range errs {
		reasons = append(reasons, e.What)
	}
	return errdefs.System(fmt.Errorf("desired state store: Consul refused %s: %s", what, strings.Join(reasons, "; ")))
}
