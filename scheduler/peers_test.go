package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
)

func labelled(id string, running bool, labels map[string]string) *Container {
	return &Container{ID: id, Names: []string{id}, Labels: labels, Running: running}
}

// placeGroup places k tasks of group svc=web (labelled so unless bare) and keeps them in flight; it returns
// how many each node got.
func placeGroup(t *testing.T, s *Scheduler, nodes []*Node, k int, spread []string, bare bool) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < k; i++ {
		cfg := &container.Config{Image: "nginx", Labels: map[string]string{"svc": "web"}}
		if bare {
			cfg.Labels = nil
		}
		p, err := s.PlaceSorted(&Request{Config: cfg, Group: "svc=web", Spread: spread}, nodes)
		if err != nil {
			t.Fatalf("placement %d: %v", i, err)
		}
		got[p.Node.Name]++
	}
	return got
}

func countsOf(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// A Group's tasks go first where the fewest of them run or are in flight; other groups' containers and
// stopped peers do not count; ties go to the strategy.
func TestGroupSpreadsPeers(t *testing.T) {
	web := map[string]string{"svc": "web"}
	other := map[string]string{"svc": "other"}
	nodes := func() []*Node {
		return []*Node{
			node("n0", nil, labelled("o1", true, other), labelled("o2", true, other), labelled("o3", true, other), labelled("o4", true, other)),
			node("n1", nil, labelled("s1", false, web), labelled("s2", false, web)),
			node("n2", nil),
		}
	}
	withPeers := func() []*Node {
		ns := nodes()
		ns[0] = node("n0", nil, labelled("w1", true, web), labelled("w2", true, web))
		return ns
	}
	for _, tt := range []struct {
		name     string
		strategy string
		nodes    []*Node
		k        int
		bare     bool
		want     string // the spread strategy's exact outcome, or the other strategies' sorted counts
	}{
		{"spread", "spread", nodes(), 5, false, "map[n0:1 n1:2 n2:2]"},
		{"binpack", "binpack", nodes(), 5, false, "[1 2 2]"},
		{"random", "random", nodes(), 5, false, "[1 2 2]"},
		{"request without the label", "spread", nodes(), 5, true, "map[n0:1 n1:2 n2:2]"},
		{"running peers count", "spread", withPeers(), 4, false, "map[n1:2 n2:2]"},
		{"running peers count, binpack", "binpack", withPeers(), 4, false, "map[n1:2 n2:2]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Config{Strategy: tt.strategy, Seed: 7})
			got := placeGroup(t, s, tt.nodes, tt.k, nil, tt.bare)
			out := fmt.Sprint(countsOf(got))
			if tt.want[0] == 'm' {
				out = fmt.Sprint(got)
			}
			if out != tt.want {
				t.Errorf("got %s, want %s", out, tt.want)
			}
		})
	}
}

// Spread preferences share a Group's tasks evenly over each preference's values first (nodes without the
// value are one more value), hierarchically, then over the nodes within a value.
func TestSpreadPreferences(t *testing.T) {
	zoned := func(name string, labels map[string]string, cts ...*Container) *Node {
		n := node(name, map[string]string{"zone": labels["zone"]}, cts...)
		n.NodeLabels = labels
		return n
	}
	web := map[string]string{"svc": "web"}
	for _, tt := range []struct {
		name   string
		spread []string
		nodes  []*Node
		k      int
		want   string
	}{
		{"two zones, three nodes", []string{"node.labels.zone"},
			[]*Node{zoned("a1", map[string]string{"zone": "a"}), zoned("a2", map[string]string{"zone": "a"}), zoned("b1", map[string]string{"zone": "b"})},
			4, "map[a1:1 a2:1 b1:2]"},
		{"engine labels", []string{"engine.labels.zone"},
			[]*Node{zoned("a1", map[string]string{"zone": "a"}), zoned("a2", map[string]string{"zone": "a"}), zoned("b1", map[string]string{"zone": "b"})},
			4, "map[a1:1 a2:1 b1:2]"},
		{"missing label is a value", []string{"node.labels.zone"},
			[]*Node{zoned("a1", map[string]string{"zone": "a"}), zoned("b1", map[string]string{"zone": "b"}), zoned("x1", nil), zoned("x2", nil)},
			6, "map[a1:2 b1:2 x1:1 x2:1]"},
		{"running peers count", []string{"node.labels.zone"},
			[]*Node{zoned("a1", map[string]string{"zone": "a"}, labelled("w1", true, web), labelled("w2", true, web)),
				zoned("a2", map[string]string{"zone": "a"}), zoned("b1", map[string]string{"zone": "b"})},
			3, "map[a2:1 b1:2]"},
		{"hierarchical", []string{"node.labels.zone", "node.labels.rack"},
			[]*Node{zoned("a1", map[string]string{"zone": "a", "rack": "r1"}), zoned("a2", map[string]string{"zone": "a", "rack": "r2"}),
				zoned("a3", map[string]string{"zone": "a", "rack": "r2"}), zoned("b1", map[string]string{"zone": "b", "rack": "r3"})},
			8, "map[a1:2 a2:1 a3:1 b1:4]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, strategy := range []string{"spread", "binpack"} {
				if got := fmt.Sprint(placeGroup(t, mustNew(t, Config{Strategy: strategy}), tt.nodes, tt.k, tt.spread, false)); got != tt.want {
					t.Errorf("%s: got %s, want %s", strategy, got, tt.want)
				}
			}
		})
	}
}

func TestGroupAndSpreadAreValidated(t *testing.T) {
	const valid = "use node.id, node.hostname, node.ip, node.role, node.platform.os, node.platform.arch, " +
		"node.labels.<label> or engine.labels.<label>"
	for _, tt := range []struct {
		group  string
		spread []string
		want   string
	}{
		{"web", nil, `invalid group "web": use key=value, the label the peers carry`},
		{"=web", nil, `invalid group "=web": use key=value, the label the peers carry`},
		{"svc=web", []string{"zone"}, `invalid spread preference "zone": unknown key zone: ` + valid},
		{"svc=web", []string{"node.labels.zone", "node.foo"}, `invalid spread preference "node.foo": unknown key node.foo: ` + valid},
		{"svc=web", []string{"node"}, `invalid spread preference "node": unknown key node: ` + valid},
	} {
		_, err := mustNew(t, Config{}).Place(&Request{Group: tt.group, Spread: tt.spread}, []*Node{node("n", nil)})
		var ee *ExprError
		if !errors.As(err, &ee) || err.Error() != tt.want {
			t.Errorf("%q %q: got %v\nwant %s", tt.group, tt.spread, err, tt.want)
		}
		if tt.spread != nil {
			if err := CheckSpread(tt.spread); err == nil || err.Error() != tt.want {
				t.Errorf("CheckSpread %q: %v", tt.spread, err)
			}
		}
	}
	for _, d := range []string{"node.id", "node.hostname", "node.ip", "node.role", "node.platform.os", "node.platform.arch", "node.labels.zone", "engine.labels.zone"} {
		if err := CheckSpread([]string{d}); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}
