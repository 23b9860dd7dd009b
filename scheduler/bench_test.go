package scheduler

import (
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// fleet builds n nodes with 30 containers each, some publishing ports, spread over 3 regions, in name order
// (as the manager hands them to PlaceSorted).
func fleet(n int) []*Node {
	nodes := make([]*Node, n)
	for i := range nodes {
		nd := node(fmt.Sprintf("node-%06d", i), map[string]string{"region": []string{"eu", "us", "ap"}[i%3], "disk": "ssd"})
		for j := 0; j < 30; j++ {
			c := ctr(fmt.Sprintf("%d-%d", i, j), fmt.Sprintf("c-%d-%d", i, j))
			if j%10 == 0 {
				c.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostPort: fmt.Sprint(8000 + j)}}}
			}
			c.Memory = 64 << 20
			nd.Containers = append(nd.Containers, c)
		}
		nodes[i] = nd
	}
	return nodes
}

// benchPlace places a request asking for everything the filters check: a constraint, an affinity, a port and
// memory.
func benchPlace(b *testing.B, n int) {
	cfg := &container.Config{Image: "nginx", Env: []string{"constraint:region==eu", "affinity:container!=ghost"}}
	if err := ParseRequest(cfg); err != nil {
		b.Fatal(err)
	}
	hc := &container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostPort: "9090"}}}}
	hc.Memory = 128 << 20
	benchRequest(b, n, &Request{Config: cfg, HostConfig: hc})
}

// benchPlain places what `docker run -d busybox` asks for: nothing but an image.
func benchPlain(b *testing.B, n int) {
	benchRequest(b, n, &Request{Config: &container.Config{Image: "busybox"}, HostConfig: &container.HostConfig{}})
}

// benchGroup places a service's task: a Group, spread over the engine label region.
func benchGroup(b *testing.B, n int) {
	cfg := &container.Config{Image: "nginx", Labels: map[string]string{"svc": "web"}}
	benchRequest(b, n, &Request{Config: cfg, HostConfig: &container.HostConfig{}, Group: "svc=web",
		Spread: []string{"engine.labels.region"}})
}

func benchRequest(b *testing.B, n int, r *Request) {
	nodes := fleet(n)
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := s.PlaceSorted(r, nodes)
		if err != nil {
			b.Fatal(err)
		}
		p.Done()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
}

func BenchmarkPlace1000Nodes(b *testing.B)  { benchPlace(b, 1000) }
func BenchmarkPlace10000Nodes(b *testing.B) { benchPlace(b, 10000) }

func BenchmarkPlaceGroup1000Nodes(b *testing.B) { benchGroup(b, 1000) }

func BenchmarkPlacePlain1000Nodes(b *testing.B)  { benchPlain(b, 1000) }
func BenchmarkPlacePlain10000Nodes(b *testing.B) { benchPlain(b, 10000) }
