package cluster

import (
	"net"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"

	"swarm/lease"
)

// memLeases is a LeaseStore in memory.
type memLeases struct {
	mu sync.Mutex
	m  map[string]lease.Holder
}

func (s *memLeases) Claim(ip net.IP, h lease.Holder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[ip.String()] = h
	return nil
}

func (s *memLeases) ClaimFromPool(string, lease.Holder) (net.IP, *lease.Pool, error) {
	return nil, nil, &lease.PoolError{}
}

func (s *memLeases) Release(ip net.IP, swarmID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[ip.String()].SwarmID == swarmID {
		delete(s.m, ip.String())
	}
	return nil
}

func (s *memLeases) Leases() ([]lease.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lease.Lease
	for ip, h := range s.m {
		out = append(out, lease.Lease{IP: net.ParseIP(ip), Holder: h})
	}
	return out, nil
}

func (s *memLeases) held(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[ip]
	return ok
}

// A lease whose container exists nowhere is released by the second sweep that finds it so; a lease whose
// container exists, or whose create is under way, is kept; nothing is judged while an engine is not Healthy.
func TestSweepReleasesOnlyLeasesOfGoneContainers(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary("aaaa1111", "web", "running", 1, map[string]string{LabelSwarmID: "alive"})},
		"node-1": {},
	})
	store := &memLeases{m: map[string]lease.Holder{
		"10.0.0.10": {SwarmID: "alive", Name: "web"},
		"10.0.0.11": {SwarmID: "gone", Name: "old"},
		"10.0.0.12": {SwarmID: "creating", Name: "new"},
	}}
	c.cfg.Leases = store
	done := c.creator.createUnderWay("creating")
	defer done()
	suspects := c.sweepLeases(nil)
	if !store.held("10.0.0.11") || len(suspects) != 1 {
		t.Fatalf("first sweep: released at once or suspects %v; want only the gone one suspected", suspects)
	}
	forceState(c.Engines()[1], StateUnhealthy)
	if s := c.sweepLeases(suspects); s != nil || !store.held("10.0.0.11") {
		t.Fatalf("sweep with an Unhealthy engine judged: %v", s)
	}
	forceState(c.Engines()[1], StateHealthy)
	c.sweepLeases(suspects)
	if store.held("10.0.0.11") || !store.held("10.0.0.10") || !store.held("10.0.0.12") {
		t.Fatalf("after the second sweep: %v; want only 10.0.0.11 released", store.m)
	}
}
