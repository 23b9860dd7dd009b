package agent

import (
	"context"
	"net"
	"testing"

	"swarm/overlay/netstate"
)

func TestAnUnhealthyTaskIsNoBackendAndAnswersOnlyToItsOwnName(t *testing.T) {
	front := &netstate.Network{ID: "front", Name: "front", VNI: 4100}
	local := map[string]localNet{"front": {n: front, hostIP: net.ParseIP("10.0.1.250")}}
	svcs := []netstate.Service{
		{Name: "web", Mode: "vip", VIPs: map[string]string{"front": "10.0.1.100"}},
		{Name: "rr", Mode: netstate.ServiceModeDNSRR},
	}
	eps := []netstate.Endpoint{
		{Network: "front", Host: "h1", IP: "10.0.1.2", Container: "web.1.x", Service: "web"},
		{Network: "front", Host: "h2", IP: "10.0.1.3", Container: "web.2.y", Service: "web", Unhealthy: true},
		{Network: "front", Host: "h2", IP: "10.0.1.4", Container: "rr.1.z", Service: "rr"},
		{Network: "front", Host: "h2", IP: "10.0.1.5", Container: "rr.2.w", Service: "rr", Unhealthy: true, Aliases: []string{"spare"}},
		{Network: "front", Host: "h1", IP: "10.0.1.6", Container: "client"},
	}
	fes := frontends(svcs, eps, local)
	if len(fes) != 1 || len(fes[0].Backends) != 1 || !fes[0].Backends[0].IP.Equal(net.ParseIP("10.0.1.2")) {
		t.Fatalf("frontends %+v, want web's virtual IP spread over web.1.x only", fes)
	}
	a := &Agent{book: newBook(eps, svcs)}
	for name, want := range map[string]string{
		"web": "10.0.1.100", "tasks.web": "10.0.1.2", "rr": "10.0.1.4", "tasks.rr": "10.0.1.4",
		"web.2.y": "10.0.1.3", "rr.2.w": "10.0.1.5", "spare": "10.0.1.5", // its own name and aliases still answer
	} {
		got := a.Lookup("front", net.ParseIP("10.0.1.6"), name)
		if len(got) != 1 || got[0].String() != want {
			t.Errorf("%s: %v, want %s", name, got, want)
		}
	}
	// Once its check passes, it is a backend and a task again.
	eps[1].Unhealthy = false
	if fes := frontends(svcs, eps, local); len(fes[0].Backends) != 2 {
		t.Fatalf("backends once healthy: %+v", fes[0].Backends)
	}
	if got := (&Agent{book: newBook(eps, svcs)}).Lookup("front", nil, "tasks.web"); len(got) != 2 {
		t.Fatalf("tasks.web once healthy: %v", got)
	}
}

// record is endpoint e as stored ({} when it is not).
func record(t *testing.T, st *netstate.Store, e netstate.Endpoint) netstate.Endpoint {
	t.Helper()
	eps, _, err := st.Endpoints(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range eps {
		if s.Network == e.Network && s.Host == e.Host && s.ID == e.ID {
			return s
		}
	}
	return netstate.Endpoint{}
}

func TestAHealthChangeSetsOnlyTheFlagOfItsContainersEndpoints(t *testing.T) {
	ctx := context.Background()
	st := storeForTest(t)
	a := agentForTest(t, st, &fakeEngine{})
	web1 := []netstate.Endpoint{ // one task on two networks
		{Network: "n1", ID: "e1", Host: "h1", IP: "10.0.0.2", MAC: "02:42:0a:00:00:02", Container: "web.1.x", Service: "web"},
		{Network: "n2", ID: "e2", Host: "h1", IP: "10.0.1.2", MAC: "02:42:0a:00:01:02", Container: "web.1.x", Service: "web"},
	}
	other := netstate.Endpoint{Network: "n1", ID: "e3", Host: "h1", IP: "10.0.0.3", Container: "web.2.y", Service: "web"}
	gone := netstate.Endpoint{Network: "n3", ID: "e4", Host: "h1", IP: "10.0.2.2", Container: "web.1.x", Service: "web"}
	for _, e := range append(web1, other, gone) {
		if err := st.PutEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
		a.mine[e.ID] = e
	}
	if err := st.DeleteEndpoint(ctx, gone); err != nil { // withdrawn while the change was on its way
		t.Fatal(err)
	}
	if n, err := st.DrainContainer(ctx, "web.1.x"); n != 2 || err != nil {
		t.Fatalf("DrainContainer: %d %v", n, err)
	}

	a.healthChanged(ctx, HealthChange{Container: "web.1.x", Health: "unhealthy"})
	for _, e := range web1 {
		want := e
		want.Draining, want.Unhealthy = true, true
		if got := record(t, st, e); !equalEndpoints(got, want) {
			t.Errorf("record of %s: %+v, want %+v (draining kept)", e.ID, got, want)
		}
		if !a.mine[e.ID].Unhealthy {
			t.Errorf("this host's copy of %s is not unhealthy", e.ID)
		}
	}
	if got := record(t, st, other); got.Unhealthy || a.mine[other.ID].Unhealthy {
		t.Errorf("another container's endpoint changed: %+v", got)
	}
	if got := record(t, st, gone); got.ID != "" {
		t.Errorf("a withdrawn endpoint came back: %+v", got)
	}

	a.healthChanged(ctx, HealthChange{Container: "web.1.x", Health: "healthy"})
	for _, e := range web1 {
		if got := record(t, st, e); got.Unhealthy || !got.Draining || a.mine[e.ID].Unhealthy {
			t.Errorf("record of %s once healthy: %+v", e.ID, got)
		}
	}
}

func equalEndpoints(a, b netstate.Endpoint) bool {
	return a.Network == b.Network && a.ID == b.ID && a.Host == b.Host && a.IP == b.IP && a.MAC == b.MAC &&
		a.Container == b.Container && a.Service == b.Service && a.Draining == b.Draining && a.Unhealthy == b.Unhealthy
}

func TestANamedTaskIsUnhealthyUntilItsCheckPasses(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		health string
		heard  string // a health event heard while the engine was asked ("": none)
		want   bool
	}{
		{"", "", false}, // no health check: never unhealthy
		{"starting", "", true},
		{"healthy", "", false},
		{"unhealthy", "", true},
		{"starting", "healthy", false}, // the event is newer than what the engine said
		{"healthy", "unhealthy", true},
		{"", "unhealthy", false}, // another container of that name had a check; this one has none
	} {
		st := storeForTest(t)
		var a *Agent
		a = agentForTest(t, st, &fakeEngine{names: func(string, string) (Naming, bool, error) {
			if c.heard != "" { // no endpoint is named yet: only the naming can take it into account
				a.healthChanged(ctx, HealthChange{Container: "web.1.x", Health: c.heard})
			}
			return Naming{Container: "web.1.x", Service: "web", Health: c.health}, true, nil
		}})
		ep := netstate.Endpoint{Network: "n1", ID: "e1", Host: "h1", IP: "10.0.0.2"}
		if err := st.PutEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
		a.mine[ep.ID] = ep
		a.learnNames("engine-n1", ep)
		got := record(t, st, ep)
		if got.Container != "web.1.x" || got.Unhealthy != c.want || a.mine[ep.ID].Unhealthy != c.want {
			t.Errorf("health %q, heard %q: record %+v (this host's copy unhealthy: %v), want unhealthy %v",
				c.health, c.heard, got, a.mine[ep.ID].Unhealthy, c.want)
		}
	}
}

func TestAFlagARecordMissedIsWrittenAgainAtTheNextRead(t *testing.T) {
	ctx := context.Background()
	st := storeForTest(t)
	a := agentForTest(t, st, &fakeEngine{})
	mine := netstate.Endpoint{Network: "n1", ID: "e1", Host: "h1", IP: "10.0.0.2", Container: "web.1.x", Service: "web"}
	theirs := netstate.Endpoint{Network: "n1", ID: "e2", Host: "h2", IP: "10.0.0.3", Container: "web.2.y", Service: "web"}
	for _, e := range []netstate.Endpoint{mine, theirs} {
		if err := st.PutEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A naming overwrote the flag the health event had written.
	mine.Unhealthy = true
	a.mine[mine.ID] = mine
	eps, _, err := st.Endpoints(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.correctHealth(ctx, eps)
	if got := record(t, st, mine); !got.Unhealthy {
		t.Fatalf("record %+v, want unhealthy as this host last heard", got)
	}
	if got := record(t, st, theirs); got.Unhealthy {
		t.Fatalf("another host's record changed: %+v", got)
	}
}

func TestTheAgentFollowsTheEnginesHealthChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storeForTest(t)
	done := make(chan struct{})
	a := agentForTest(t, st, &fakeEngine{followHealth: func(ctx context.Context, changed func(HealthChange)) {
		defer close(done)
		changed(HealthChange{Container: "web.1.x", Health: "starting"}) // caught up at connection
		changed(HealthChange{Container: "web.1.x", Health: "healthy"})
		changed(HealthChange{Container: "web.1.x", Health: "unhealthy"})
	}})
	ep := netstate.Endpoint{Network: "n1", ID: "e1", Host: "h1", IP: "10.0.0.2", Container: "web.1.x", Service: "web"}
	if err := st.PutEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	a.mine[ep.ID] = ep
	go a.followHealth(ctx)
	<-done
	if got := record(t, st, ep); !got.Unhealthy {
		t.Fatalf("record %+v, want unhealthy (the last change)", got)
	}
}
