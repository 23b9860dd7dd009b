package scheduler

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

func withAvailability(n *Node, a string) *Node {
	n.Availability = a
	return n
}

// Availability applies to every placement, plain or not, whatever filters are configured, and its reason comes
// first.
func TestAvailabilityIsHonouredByEveryPlacement(t *testing.T) {
	unhealthy := node("sick", nil)
	unhealthy.HealthIndicator = 0
	constraint := []string{"constraint:node!=ok"}
	for _, tt := range []struct {
		name    string
		filters []string
		env     []string
		nodes   []*Node
		want    string
	}{
		{"active and empty accept", nil, nil,
			[]*Node{withAvailability(node("a", nil), "active"), withAvailability(node("b", nil), "")}, "a"},
		{"drained skipped", nil, nil,
			[]*Node{withAvailability(node("a", nil), "drain"), node("b", nil)}, "b"},
		{"paused skipped", nil, nil,
			[]*Node{withAvailability(node("a", nil), "pause"), node("b", nil)}, "b"},
		{"drained skipped without filters", []string{}, nil,
			[]*Node{withAvailability(node("a", nil), "drain"), node("b", nil)}, "b"},
		{"drained skipped by a constrained request", nil, []string{"constraint:node!=c"},
			[]*Node{withAvailability(node("a", nil), "drain"), node("b", nil), node("c", nil)}, "b"},
		{"one node", nil, nil,
			[]*Node{withAvailability(node("a", nil), "drain")},
			"error: no suitable node (1 node not available for new tasks)"},
		{"nodes, first", nil, nil,
			[]*Node{unhealthy, withAvailability(node("a", nil), "drain"), withAvailability(node("b", nil), "pause")},
			"error: no suitable node (2 nodes not available for new tasks; 1 node unhealthy)"},
		{"unknown availability", []string{}, nil,
			[]*Node{withAvailability(node("a", nil), "maintenance")},
			"error: no suitable node (1 node not available for new tasks)"},
		{"with other reasons", nil, constraint,
			[]*Node{withAvailability(node("a", nil), "drain"), node("ok", nil), unhealthy},
			`error: no suitable node (1 node not available for new tasks; 1 node unhealthy; constraint "node!=ok" not met on 1 node)`},
	} {
		for _, noIndex := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				s := mustNew(t, Config{Filters: tt.filters})
				s.noIndex = noIndex
				p, err := s.PlaceSorted(req(t, tt.env), tt.nodes)
				got := "error: "
				if err != nil {
					got += explanation(err)
				} else {
					got = p.Node.Name
					p.Done()
				}
				if got != tt.want {
					t.Errorf("noIndex %v: got  %s\nwant %s", noIndex, got, tt.want)
				}
			})
		}
	}
}

// A node paused or drained comes as a new snapshot; the plain index must see it and choose another node.
func TestPlainIndexSeesAvailabilityChange(t *testing.T) {
	s := mustNew(t, Config{})
	nodes := []*Node{node("a", nil), node("b", nil), node("c", nil)}
	plain := &Request{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{}}
	choose := func() string {
		t.Helper()
		p, err := s.PlaceSorted(plain, nodes)
		if err != nil {
			return "error: " + explanation(err)
		}
		p.Done()
		return p.Node.Name
	}
	if got := choose(); got != "a" {
		t.Fatalf("first choice %s, want a", got)
	}
	if !s.isPlain(mustRequest(t, s, plain)) || s.plain == nil {
		t.Fatal("the request did not take the index")
	}
	for _, step := range []struct {
		i            int
		availability string
		want         string
	}{
		{0, "drain", "b"},
		{1, "pause", "c"},
		{2, "drain", "error: no suitable node (3 nodes not available for new tasks)"},
		{1, "active", "b"},
		{0, "", "a"},
	} {
		n := snapshot(nodes[step.i])
		n.Availability = step.availability
		nodes[step.i] = n
		if got := choose(); got != step.want {
			t.Errorf("node %s %q: got %s, want %s", n.Name, step.availability, got, step.want)
		}
	}
}

func mustRequest(t *testing.T, s *Scheduler, req *Request) *request {
	t.Helper()
	r, err := newRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	r.sortedNodes = true
	r.filters = s.active(r)
	return r
}
