package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"swarm/overlay/netstate"
)

// fakeNetworks knows cluster network "front" (by name or ID); down makes every read fail.
type fakeNetworks struct{ down bool }

func (f fakeNetworks) Get(_ context.Context, ref string) (*netstate.Network, error) {
	switch {
	case f.down:
		return nil, errors.New("consul: connection refused")
	case ref == "front" || ref == "frontid":
		return &netstate.Network{ID: "frontid", Name: "front", Subnet: "10.0.9.0/24", Gateway: "10.0.9.1"}, nil
	}
	return nil, errdefs.NotFound(errors.New("no network " + ref))
}

func onNetworks(s swarm.ServiceSpec, targets ...string) swarm.ServiceSpec {
	for _, t := range targets {
		s.TaskTemplate.Networks = append(s.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: t})
	}
	return s
}

func TestAServiceOnAClusterNetworkRunsItsTasksOnTheEnginesCopyWithTheClusterDNS(t *testing.T) {
	b := newBedWith(t, 1, func(c *Config) { c.Networks = fakeNetworks{} })
	s := b.create(onNetworks(replicated("web", "nginx", 1), "front"))
	if got := s.Spec.TaskTemplate.Networks; len(got) != 1 || got[0].Target != "frontid" {
		t.Fatalf("stored networks %+v, want the cluster network's ID, as swarm stores it", got)
	}
	b.waitFor("a running task", func() bool { n, _ := b.running("web"); return n == 1 })
	id := b.tasks("web")["node-1"][0].ID
	resp, err := http.Get(b.srvs[0].URL + "/containers/" + id + "/json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ct container.InspectResponse
	if err := json.NewDecoder(resp.Body).Decode(&ct); err != nil {
		t.Fatal(err)
	}
	if hc := ct.HostConfig; hc.NetworkMode != "front" || len(hc.DNS) != 1 || hc.DNS[0] != "10.0.9.1" {
		t.Fatalf("task's network mode %q, DNS %v; want the engine's copy (front) and the network's gateway", hc.NetworkMode, hc.DNS)
	}

	old := replicated("old", "nginx", 1)
	old.Networks = []swarm.NetworkAttachmentConfig{{Target: "front"}} // where clients before API 1.25 put them
	if s := b.create(old); len(s.Spec.TaskTemplate.Networks) != 1 || s.Spec.TaskTemplate.Networks[0].Target != "frontid" || len(s.Spec.Networks) != 0 {
		t.Fatalf("a spec with the top-level networks field is stored as %+v / %+v, want it in the task template", s.Spec.TaskTemplate.Networks, s.Spec.Networks)
	}
	if s := b.create(onNetworks(replicated("local", "nginx", 1), "bridge")); s.Spec.TaskTemplate.Networks[0].Target != "bridge" {
		t.Fatalf("an engine's own network is stored as %+v", s.Spec.TaskTemplate.Networks)
	}
}

func TestNetworksThatCannotBeUsedAreRefused(t *testing.T) {
	b := newBedWith(t, 1, func(c *Config) { c.Networks = fakeNetworks{} })
	for _, c := range []struct {
		spec swarm.ServiceSpec
		want string
		is   func(error) bool
	}{
		{onNetworks(replicated("a", "nginx", 1), "nosuch"), "network nosuch not found", errdefs.IsInvalidParameter},
		{onNetworks(replicated("b", "nginx", 1), "front", "frontid"), "attached to network frontid more than once", errdefs.IsInvalidParameter},
	} {
		_, err := b.o.CreateService(context.Background(), c.spec, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !c.is(err) {
			t.Errorf("%s: %v, want %q", c.spec.Name, err, c.want)
		}
	}
	down := newBedWith(t, 1, func(c *Config) { c.Networks = fakeNetworks{down: true} })
	if _, err := down.o.CreateService(context.Background(), onNetworks(replicated("c", "nginx", 1), "front"), ""); !errdefs.IsUnavailable(err) {
		t.Errorf("networks unreadable: %v, want unavailable", err)
	}
	if n := len(b.store.Services()) + len(down.store.Services()); n != 0 {
		t.Fatalf("refused specs were stored: %d", n)
	}
}
