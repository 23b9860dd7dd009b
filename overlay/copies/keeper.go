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

// Networks lists the cluster networks (netstate.Store).
type Networks interface {
	List(ctx context.Context) ([]*netstate.Network, error)
}

// Keeper keeps every healthy engine's copies current, acting only while Primary says so.
type Keeper struct {
	Networks Networks
	Engines  func() []*cluster.Engine
	Primary  func() bool
	Logger   *slog.Logger

	kick   chan struct{}
	mu     sync.Mutex
	warned map[string]string // engine/network -> the error last logged, so each is logged once
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

// Pass gives each healthy engine the copies it lacks and removes those of networks that are gone.
func (k *Keeper) Pass(ctx context.Context) {
	nets, err := k.Networks.List(ctx)
	if err != nil {
		k.warn("", "", err)
		return
	}
	ids := make(map[string]bool, len(nets))
	for _, n := range nets {
		ids[n.ID] = true
	}
	cluster.FanOut(ctx, cluster.Healthy(k.Engines()), func(ctx context.Context, e *cluster.Engine) (struct{}, error) {
		for _, n := range nets {
			k.warn(e.Name(), n.Name, Ensure(ctx, e, n))
		}
		for _, nw := range e.Networks() {
			if id := Of(nw); id != "" && !ids[id] {
				k.warn(e.Name(), nw.Name, Remove(ctx, e, id))
			}
		}
		return struct{}{}, nil
	})
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
