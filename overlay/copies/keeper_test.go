package copies

import (
	"context"
	"testing"
	"time"

	"swarm/overlay/netstate"
)

// fakeNetworks holds state for some hosts and records the purges.
type fakeNetworks struct {
	hosts  map[string]bool
	purged []string
}

var _ Networks = (*fakeNetworks)(nil)

func (f *fakeNetworks) List(context.Context) ([]*netstate.Network, error) { return nil, nil }
func (f *fakeNetworks) Removed(context.Context) (map[string]bool, error)  { return nil, nil }
func (f *fakeNetworks) Hosts(context.Context) (map[string]bool, error)    { return f.hosts, nil }
func (f *fakeNetworks) PruneRemoved(context.Context, time.Time) error     { return nil }
func (f *fakeNetworks) PurgeHost(_ context.Context, h string) error {
	f.purged = append(f.purged, h)
	delete(f.hosts, h)
	return nil
}

func TestAHostIsPurgedOnlyAfterStayingOutOfTheCluster(t *testing.T) {
	f := &fakeNetworks{hosts: map[string]bool{"a:2375": true, "b:2375": true, "c:2375": true}}
	k := &Keeper{Networks: f}
	t0 := time.Now()
	present := map[string]bool{"a:2375": true}
	k.purgeGone(context.Background(), t0, present) // b and c first seen missing
	k.purgeGone(context.Background(), t0.Add(PurgeAfter/2), map[string]bool{"a:2375": true, "c:2375": true})
	if len(f.purged) != 0 {
		t.Fatalf("purged %v before PurgeAfter", f.purged)
	}
	k.purgeGone(context.Background(), t0.Add(PurgeAfter), present) // c came back and left again: its clock restarts
	if len(f.purged) != 1 || f.purged[0] != "b:2375" {
		t.Fatalf("purged %v, want b only", f.purged)
	}
	k.purgeGone(context.Background(), t0.Add(2*PurgeAfter), present)
	if len(f.purged) != 2 || f.purged[1] != "c:2375" || !f.hosts["a:2375"] {
		t.Fatalf("purged %v, want b then c, never a", f.purged)
	}
}
