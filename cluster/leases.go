package cluster

import (
	"context"
	"net"
	"time"

	"swarm/lease"
)

// LeaseStore keeps the fixed container addresses cluster-wide (lease.Store, on Consul).
type LeaseStore interface {
	Claim(ip net.IP, h lease.Holder) error
	ClaimFromPool(pool string, h lease.Holder) (net.IP, *lease.Pool, error)
	Release(ip net.IP, swarmID string) error
	Leases() ([]lease.Lease, error)
}

// A lease is released when its container's destroy event is seen. A container removed while no manager watched
// (its engine's events missed: every manager down, an engine wiped) would keep its address for ever, so the
// primary also sweeps: a lease whose holder exists on no engine, found so in two sweeps in a row, is released.
const leaseSweepTick = 30 * time.Second

// RunLeaseSweeper sweeps the leases until ctx ends; it acts only while SetPrimary(true).
func (c *Cluster) RunLeaseSweeper(ctx context.Context) {
	if c.cfg.Leases == nil {
		return
	}
	var suspects map[string]bool
	c.asPrimary(ctx, leaseSweepTick, func() { suspects = nil }, func() { suspects = c.sweepLeases(suspects) })
}

// sweepLeases releases the leases found orphaned now and by the previous sweep (prev), and returns this sweep's
// orphans. It judges only from a complete view: at least one engine, every engine Healthy, and never a holder
// whose create is under way.
func (c *Cluster) sweepLeases(prev map[string]bool) map[string]bool {
	engines := c.Engines()
	if len(engines) == 0 || len(Healthy(engines)) != len(engines) {
		return nil
	}
	leases, err := c.cfg.Leases.Leases()
	if err != nil {
		c.log.Warn("cannot sweep the fixed-address leases", "err", err)
		return nil
	}
	held := map[string]bool{}
	for _, x := range c.Containers() {
		held[x.SwarmID()] = true
	}
	orphans := map[string]bool{}
	for _, l := range leases {
		id := l.Holder.SwarmID
		if held[id] || c.creator.creatingSwarmID(id) {
			continue
		}
		key := l.IP.String() + " " + id
		orphans[key] = true
		if !prev[key] {
			continue
		}
		if err := c.cfg.Leases.Release(l.IP, id); err != nil {
			c.log.Warn("releasing the address of a container that is gone", "ip", l.IP, "err", err)
			continue
		}
		c.log.Info("address released: its container is gone", "ip", l.IP, "container", l.Holder.Name)
	}
	return orphans
}
