package copies

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"swarm/cluster"
	"swarm/overlay/netstate"
)

// Interval is how often a Keeper looks when nothing kicks it.
const Interval = 10 * time.Second

// Networks lists the cluster networks and those removed, and the hosts holding state on them (netstate.Store).
type Networks interface {
	List(ctx context.Context) ([]*netstate.Network, error)
	Removed(ctx context.Context) (map[string]bool, error)
	Hosts(ctx context.Context) (map[string]bool, error)
	PurgeHost(ctx context.Context, host string) error
	PruneRemoved(ctx context.Context, now time.Time) error
}

// PurgeAfter is how long a host stays out of the cluster (gone from discovery, so past its TTL already)
// before the state it left on the networks (endpoints, addresses, engine networks) is removed. It outlasts a
// join's restart, and counts from when this manager first saw the host missing.
const PurgeAfter = 2 * time.Minute

// Keeper keeps every healthy engine's copies current, acting only while Primary says so.
type Keeper struct {
	Networks Networks
	Engines  func() []*cluster.Engine
	Primary  func() bool
	Logger   *slog.Logger

	kick    chan struct{}
	mu      sync.Mutex
	warned  map[string]string    // engine/network -> the error last logged, so each is logged once
	missing map[string]time.Time // host -> when first seen holding state while not in the cluster
}

// Kick asks for a pass now (a network was created or removed).
func (k *Keeper) Kick() {
	select {
	case k.kicks() <- struct{}{}:
	default:
	}
}

func (k *Keeper) kicks() chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.kick == nil {
		k.kick = make(chan struct{}, 1)
	}
	return k.kick
}

// Run passes every Interval and at every Kick until ctx ends.
func (k *Keeper) Run(ctx context.Context) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	kick := k.kicks()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
		if k.Primary == nil || k.Primary() {
			k.Pass(ctx)
		}
	}
}

// Pass gives each healthy engine the copies it lacks and removes those of networks that were removed (never of
// one that is merely not listed: Consul may have lost its data, and the hosts are putting it back).
func (k *Keeper) Pass(ctx context.Context) {
	nets, err := k.Networks.List(ctx)
	if err != nil {
		k.warn("", "", err)
		return
	}
	removed, err := k.Networks.Removed(ctx)
	if err != nil {
		k.warn("", "", err)
		return
	}
	cluster.FanOut(ctx, cluster.Healthy(k.Engines()), func(ctx context.Context, e *cluster.Engine) (struct{}, error) {
		for _, n := range nets {
			k.warn(e.Name(), n.Name, Ensure(ctx, e, n))
		}
		for _, nw := range e.Networks() {
			if id := Of(nw); id != "" && removed[id] {
				k.warn(e.Name(), nw.Name, Remove(ctx, e, id))
			}
		}
		return struct{}{}, nil
	})
	present := map[string]bool{}
	for _, e := range k.Engines() {
		present[e.Addr()] = true
	}
	k.purgeGone(ctx, time.Now(), present)
	k.warn("", "removals", k.Networks.PruneRemoved(ctx, time.Now()))
}

// purgeGone removes the state of hosts out of the cluster (not in present) for longer than PurgeAfter.
func (k *Keeper) purgeGone(ctx context.Context, now time.Time, present map[string]bool) {
	hosts, err := k.Networks.Hosts(ctx)
	if err != nil {
		k.warn("", "", err)
		return
	}
	k.mu.Lock()
	if k.missing == nil {
		k.missing = map[string]time.Time{}
	}
	var gone []string
	for h := range k.missing {
		if !hosts[h] || present[h] {
			delete(k.missing, h)
		}
	}
	for h := range hosts {
		switch since, ok := k.missing[h]; {
		case present[h]:
		case !ok:
			k.missing[h] = now
		case now.Sub(since) >= PurgeAfter:
			gone = append(gone, h)
			delete(k.missing, h)
		}
	}
	k.mu.Unlock()
	for _, h := range gone {
		if err := k.Networks.PurgeHost(ctx, h); err != nil {
			k.warn(h, "", err)
			continue
		}
		if k.Logger != nil {
			k.Logger.Info("cluster networks: removed what a host that left held", "host", h)
		}
	}
}

// warn logs err once per engine and network while it stays the same; nil clears it.
func (k *Keeper) warn(engine, name string, err error) {
	key := engine + "/" + name
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.warned == nil {
		k.warned = map[string]string{}
	}
	if err == nil {
		delete(k.warned, key)
		return
	}
	if k.warned[key] == err.Error() {
		return
	}
	k.warned[key] = err.Error()
	if k.Logger != nil {
		k.Logger.Warn("cluster networks: cannot keep an engine's copy", "node", engine, "network", name, "err", err)
	}
}
