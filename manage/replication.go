package manage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"swarm/cluster"
	"swarm/internal/metrics"
	"swarm/manage/leader"
	"swarm/proxy"
)

// roleState is this manager's current role, read by the API on every request.
type roleState struct {
	mu       sync.RWMutex
	role     proxy.Role
	onChange func() // told after each change (set before the role can change)
}

func (r *roleState) get() proxy.Role { r.mu.RLock(); defer r.mu.RUnlock(); return r.role }

func (r *roleState) set(f func(*proxy.Role)) {
	r.mu.Lock()
	f(&r.role)
	r.mu.Unlock()
	if r.onChange != nil {
		r.onChange()
	}
}

// leaderKey is classic swarm's election key under the discovery prefix.
func leaderKey(prefix string) string {
	return strings.TrimSuffix(strings.TrimPrefix(prefix, "/"), "/") + "/docker/swarm/leader"
}

// replicate runs the election until ctx ends: while this manager holds the lock it is primary (the
// rescheduler acts); when the lock is lost it becomes a replica that follows the elected primary. On the
// way out it resigns, so a replica takes over within a second.
func replicate(ctx context.Context, cfg Config, back backends, cl *cluster.Cluster, role *roleState, m *metrics.Metrics, log *slog.Logger) error {
	client := back.consul
	if client == nil {
		return fmt.Errorf("leader election is only supported with consul:// discovery, not %q", cfg.Discovery)
	}
	key := leaderKey(back.prefix)
	cand, err := leader.New(leader.Options{Client: client, Key: key, Value: cfg.Advertise, SessionTTL: cfg.ReplicationTTL, Logger: log})
	if err != nil {
		return err
	}
	go cand.Run(ctx)
	go followPrimary(ctx, client, key, role, log)
	defer cand.Resign()
	for ctx.Err() == nil {
		lost, err := cand.Campaign(ctx)
		if err != nil {
			continue // ctx ended
		}
		log.Info("elected primary", "advertise", cfg.Advertise)
		role.set(func(r *proxy.Role) { r.Primary, r.PrimaryAddr = true, cfg.Advertise })
		cl.SetPrimary(true)
		m.LeaderChange()
		<-lost
		m.LeaderChange()
		cl.SetPrimary(false)
		role.set(func(r *proxy.Role) { r.Primary = false })
		if ctx.Err() == nil {
			log.Warn("lost primary role; now a replica")
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// followPrimary keeps the known primary address current.
func followPrimary(ctx context.Context, client *api.Client, key string, role *roleState, log *slog.Logger) {
	for addr := range leader.Watch(ctx, client, key) {
		log.Info("primary manager", "addr", addr)
		role.set(func(r *proxy.Role) {
			if !r.Primary {
				r.PrimaryAddr = addr
			}
		})
	}
}
