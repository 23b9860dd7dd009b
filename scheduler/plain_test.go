package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// The index must choose exactly what the pass over every node chooses, through any sequence of placements,
// releases, failed creates and changed nodes (health, container count, containerslots, availability, nodes
// joining or leaving), for both ranking strategies, with and without a Group (two groups taking turns), and
// must leave other requests and failures to that pass.
func TestPlainIndexChoosesAsThePassDoes(t *testing.T) {
	for _, filters := range [][]string{nil, {"health"}, {"containerslots"}, {}} {
		for _, strategy := range []string{"spread", "binpack"} {
			for seed := uint64(1); seed <= 10; seed++ {
				t.Run(fmt.Sprintf("%v/%s/%d", filters, strategy, seed), func(t *testing.T) {
					comparePlacements(t, Config{Strategy: strategy, Filters: filters}, rand.New(rand.NewPCG(seed, seed*7)))
				})
			}
		}
	}
}

func comparePlacements(t *testing.T, cfg Config, rng *rand.Rand) {
	strategy := cfg.Strategy
	fast, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := New(cfg)
	ref.noIndex = true
	nodes := make([]*Node, 3+rng.IntN(20))
	for i := range nodes {
		nodes[i] = randomNode(rng, i)
	}
	type pair struct {
		fast, ref *Placement
		group     string
	}
	var open []pair
	plain := &Request{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{}}
	for step := 0; step < 400; step++ {
		switch op := rng.IntN(10); {
		case op < 5: // a placement: plain, of one of two groups, or one that reserves memory
			req := plain
			switch op {
			case 0:
				req = &Request{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{}}
				req.HostConfig.Memory = 1 << 20
			case 1, 2:
				req = &Request{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{},
					Group: fmt.Sprintf("svc=%d", op)}
			}
			pf, ef := fast.PlaceSorted(req, nodes)
			pr, er := ref.PlaceSorted(req, nodes)
			if (ef == nil) != (er == nil) || (ef != nil && ef.Error() != er.Error()) {
				t.Fatalf("step %d: errors differ: index %v, pass %v", step, ef, er)
			}
			if ef != nil {
				continue
			}
			if pf.Node != pr.Node {
				t.Fatalf("step %d (%s): index chose %s, the pass %s", step, strategy, pf.Node.Name, pr.Node.Name)
			}
			open = append(open, pair{pf, pr, req.Group})
		case op < 7 && len(open) > 0: // a release: the container is cached (its node gains it) or its create failed
			k := rng.IntN(len(open))
			p := open[k]
			open = append(open[:k], open[k+1:]...)
			if rng.IntN(3) > 0 {
				for i, n := range nodes {
					if n.Addr == p.fast.Node.Addr {
						c := ctr(fmt.Sprintf("%s-s%d", n.Name, step), fmt.Sprintf("%s-s%d", n.Name, step))
						if k, v, ok := strings.Cut(p.group, "="); ok { // a peer of its group now runs there
							c.Labels, c.Running = map[string]string{k: v}, true
						}
						nodes[i] = snapshot(n)
						nodes[i].Containers = append(slices.Clip(n.Containers), c)
					}
				}
			}
			p.fast.Done()
			p.ref.Done()
		case op < 9: // a node changes: health, containers removed, slots, availability
			i := rng.IntN(len(nodes))
			n := snapshot(nodes[i])
			switch rng.IntN(4) {
			case 0:
				n.HealthIndicator = []int64{0, 33, 66, 100, 100}[rng.IntN(5)]
			case 1:
				n.Containers = n.Containers[:rng.IntN(len(n.Containers)+1)]
			case 2:
				n.Availability = []string{"", "active", "pause", "drain"}[rng.IntN(4)]
			default:
				n.Labels = map[string]string{"containerslots": fmt.Sprint(rng.IntN(8))}
			}
			nodes[i] = n
		default: // a node leaves or joins (positions move)
			if rng.IntN(2) == 0 && len(nodes) > 1 {
				i := rng.IntN(len(nodes))
				nodes = append(nodes[:i:i], nodes[i+1:]...)
			} else {
				nodes = append(nodes, randomNode(rng, 100+step))
			}
		}
	}
}

func randomNode(rng *rand.Rand, i int) *Node {
	n := node(fmt.Sprintf("node-%04d", i), map[string]string{})
	if rng.IntN(4) == 0 {
		n.Labels["containerslots"] = fmt.Sprint(rng.IntN(6))
	}
	n.HealthIndicator = []int64{0, 50, 100, 100, 100}[rng.IntN(5)]
	return withContainers(n, rng.IntN(5))
}

// withContainers is a new snapshot of n holding k containers.
func withContainers(n *Node, k int) *Node {
	c := snapshot(n)
	c.Containers = nil
	for j := 0; j < k; j++ {
		c.Containers = append(c.Containers, ctr(fmt.Sprintf("%s-%d", n.Name, j), fmt.Sprintf("%s-c%d", n.Name, j)))
	}
	return c
}

// snapshot is a new snapshot of n, as the manager builds one when its engine changed.
func snapshot(n *Node) *Node {
	return &Node{ID: n.ID, Name: n.Name, Addr: n.Addr, Labels: n.Labels, HealthIndicator: n.HealthIndicator,
		TotalCPUs: n.TotalCPUs, TotalMemory: n.TotalMemory, Containers: n.Containers, Images: n.Images,
		Availability: n.Availability, NodeLabels: n.NodeLabels, Role: n.Role, IP: n.IP, OS: n.OS, Arch: n.Arch}
}
