package scheduler

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

func node(name string, labels map[string]string, cts ...*Container) *Node {
	return &Node{ID: "ID-" + name, Name: name, Addr: name + ":2375", Labels: labels, HealthIndicator: 100,
		TotalCPUs: 4, TotalMemory: 4 << 30, Containers: cts}
}

func ctr(id, name string, mod ...func(*Container)) *Container {
	c := &Container{ID: id, Names: []string{name}, Config: &container.Config{Labels: map[string]string{}},
		HostConfig: &container.HostConfig{}, Labels: map[string]string{}}
	for _, m := range mod {
		m(c)
	}
	return c
}

func withPort(hostIP, port string) func(*Container) {
	return func(c *Container) {
		c.HostConfig.PortBindings = nat.PortMap{"80/tcp": {{HostIP: hostIP, HostPort: port}}}
	}
}

// req builds a request from docker run style env and host config changes.
func req(t *testing.T, env []string, mod ...func(*container.HostConfig)) *Request {
	t.Helper()
	cfg := &container.Config{Image: "busybox", Env: env}
	if err := ParseRequest(cfg); err != nil {
		t.Fatal(err)
	}
	hc := &container.HostConfig{}
	for _, m := range mod {
		m(hc)
	}
	return &Request{Config: cfg, HostConfig: hc}
}

func publish(port string) func(*container.HostConfig) {
	return func(hc *container.HostConfig) {
		hc.PortBindings = nat.PortMap{nat.Port(port + "/tcp"): {{HostPort: port}}}
	}
}

func place(t *testing.T, s *Scheduler, r *Request, nodes ...*Node) string {
	t.Helper()
	p, err := s.Place(r, nodes)
	if err != nil {
		return "error: " + explanation(err)
	}
	p.Done()
	return p.Node.Name
}

func mustNew(t *testing.T, cfg Config) *Scheduler {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFilters(t *testing.T) {
	ssd := map[string]string{"disk": "ssd", "region": "eu-west", "storagedriver": "overlay2"}
	hdd := map[string]string{"disk": "hdd", "region": "us-east", "containerslots": "1"}
	down := node("node-9", nil)
	down.HealthIndicator = 0
	n0 := node("node-0", ssd, ctr("aaaa1111", "web", withPort("", "80")), ctr("bbbb2222", "db", func(c *Container) { c.Labels["app"] = "shop" }))
	n1 := node("node-1", hdd, ctr("cccc3333", "cache"))
	n2 := node("node-2", map[string]string{"disk": "ssd", "region": "eu-central"})
	n2.Images = []*Image{{ID: "sha256:abcdef1234567890", RepoTags: []string{"reg:5000/app:1.0"}}}
	nodes := []*Node{n0, n1, n2, down}
	s := mustNew(t, Config{})
	for _, tt := range []struct {
		name string
		env  []string
		mod  []func(*container.HostConfig)
		want string
	}{
		{"constraint label", []string{"constraint:disk==hdd"}, nil, "error: no suitable node (1 node unhealthy; no container slot left on 1 node; constraint \"disk==hdd\" not met on 2 nodes)"},
		{"constraint node", []string{"constraint:node==node-2"}, nil, "node-2"},
		{"constraint node id", []string{"constraint:node==ID-node-0"}, nil, "node-0"},
		{"constraint glob", []string{"constraint:region==eu-*", "constraint:node!=node-0"}, nil, "node-2"},
		{"constraint regexp", []string{"constraint:region==/^us|central$/"}, nil, "node-2"},
		{"constraint builtin", []string{"constraint:storagedriver==overlay2"}, nil, "node-0"},
		{"constraint missing label", []string{"constraint:rack==1"}, nil, "error: no suitable node (1 node unhealthy; no container slot left on 1 node; constraint \"rack==1\" not met on 2 nodes)"},
		{"affinity container", []string{"affinity:container==web"}, nil, "node-0"},
		{"affinity container id", []string{"affinity:container==aaaa1111"}, nil, "node-0"},
		{"affinity container not", []string{"affinity:container!=web", "constraint:disk==ssd"}, nil, "node-2"},
		{"affinity image tag", []string{"affinity:image==reg:5000/app:1.0"}, nil, "node-2"},
		{"affinity image repo", []string{"affinity:image==reg:5000/app"}, nil, "node-2"},
		{"affinity label", []string{"affinity:app==shop"}, nil, "node-0"},
		{"affinity missing", []string{"affinity:container==nope"}, nil, "error: no suitable node (1 node unhealthy; no container slot left on 1 node; affinity \"container==nope\" not met on 2 nodes)"},
		{"soft affinity missing", []string{"affinity:container==~nope"}, nil, "node-2"},
		{"soft constraint kept when possible", []string{"constraint:node==~node-0"}, nil, "node-0"},
		{"port", nil, []func(*container.HostConfig){publish("80")}, "node-2"},
		{"port all busy", []string{"constraint:node==node-0"}, []func(*container.HostConfig){publish("80")}, "error: no suitable node (1 node unhealthy; port 80 in use on 1 node; no container slot left on 1 node; constraint \"node==node-0\" not met on 1 node)"},
		{"link", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.Links = []string{"db:database"} }}, "node-0"},
		{"volumes-from", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.VolumesFrom = []string{"web:ro"} }}, "node-0"},
		{"net container", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.NetworkMode = "container:bbbb" }}, "node-0"},
		{"link with a slash", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.Links = []string{"/db:database"} }}, "node-0"},
		{"volumes-from with a slash", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.VolumesFrom = []string{"/web:ro"} }}, "node-0"},
		{"net container with a slash", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.NetworkMode = "container:/db" }}, "node-0"},
		{"dependency missing", nil, []func(*container.HostConfig){func(hc *container.HostConfig) { hc.Links = []string{"ghost:g"} }},
			"error: no suitable node (1 node unhealthy; no container slot left on 1 node; container \"ghost\" (--link) not on 2 nodes)"},
		{"whitelist", []string{"whitelist:node==node-1|node-2"}, nil, "node-2"},
		{"whitelist none", []string{"whitelist:node==node-7"}, nil, "error: no suitable node (1 node unhealthy; no container slot left on 1 node; not in whitelist \"node-7\" on 2 nodes)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := place(t, s, req(t, tt.env, tt.mod...), nodes...); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestExplanationsSingularPluralAndOrder(t *testing.T) {
	s := mustNew(t, Config{})
	a, b, c := node("a", nil), node("b", nil), node("c", nil)
	a.HealthIndicator = 0
	got := place(t, s, req(t, []string{"constraint:region==eu"}), a, b, c)
	want := `error: no suitable node (1 node unhealthy; constraint "region==eu" not met on 2 nodes)`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if got := place(t, s, req(t, nil)); got != "error: no suitable node (no nodes in the cluster)" {
		t.Fatalf("no nodes: %s", got)
	}
	big := req(t, nil, func(hc *container.HostConfig) { hc.Memory = 8 << 30 })
	if got := place(t, s, big, b, c); got != "error: no suitable node (not enough free memory on 2 nodes)" {
		t.Fatalf("memory: %s", got)
	}
	cpus := req(t, nil, func(hc *container.HostConfig) { hc.CPUShares = 5 })
	if got := place(t, s, cpus, b); got != "error: no suitable node (not enough free CPUs on 1 node)" {
		t.Fatalf("cpus: %s", got)
	}
}

func TestStrategies(t *testing.T) {
	spread := mustNew(t, Config{Strategy: "spread"})
	binpack := mustNew(t, Config{Strategy: "binpacking"})
	nodes := []*Node{node("n0", nil), node("n1", nil), node("n2", nil)}
	// six containers: spread 2/2/2, binpack fills one node first (by memory reservation)
	count := func(s *Scheduler, mem int64) map[string]int {
		out := map[string]int{}
		ns := []*Node{node("n0", nil), node("n1", nil), node("n2", nil)}
		for i := 0; i < 6; i++ {
			r := req(t, nil, func(hc *container.HostConfig) { hc.Memory = mem })
			p, err := s.Place(r, ns)
			if err != nil {
				t.Fatal(err)
			}
			p.Node.Containers = append(p.Node.Containers, &Container{ID: fmt.Sprint(i), Memory: mem})
			p.Done()
			out[p.Node.Name]++
		}
		return out
	}
	if got := count(spread, 0); got["n0"] != 2 || got["n1"] != 2 || got["n2"] != 2 {
		t.Errorf("spread: %v", got)
	}
	if got := count(binpack, 512<<20); got["n0"] != 6 {
		t.Errorf("binpack: %v", got)
	}
	// ties are broken by name, so the same input gives the same node
	for i := 0; i < 5; i++ {
		if got := place(t, spread, req(t, nil), nodes[2], nodes[0], nodes[1]); got != "n0" {
			t.Fatalf("spread is not deterministic: %s", got)
		}
	}
	// on name-sorted input PlaceSorted chooses as Place does; it goes by position alone
	for _, order := range [][]*Node{{nodes[0], nodes[1], nodes[2]}, {nodes[2], nodes[0], nodes[1]}} {
		p, err := spread.PlaceSorted(req(t, nil), order)
		if err != nil {
			t.Fatal(err)
		}
		p.Done()
		if p.Node != order[0] {
			t.Errorf("PlaceSorted chose %s, not the first of tied nodes %s", p.Node.Name, order[0].Name)
		}
	}
	// random with a seed repeats itself
	pick := func() string {
		r := mustNew(t, Config{Strategy: "random", Seed: 42})
		var out []string
		for i := 0; i < 5; i++ {
			out = append(out, place(t, r, req(t, nil), nodes...))
		}
		return strings.Join(out, ",")
	}
	if pick() != pick() {
		t.Error("random with the same seed differs")
	}
	// an unhealthy-ish node (failures counted) is avoided by spread
	flaky := node("flaky", nil)
	flaky.HealthIndicator = 34
	if got := place(t, spread, req(t, nil), flaky, node("zz", nil)); got != "zz" {
		t.Errorf("spread chose %s over a healthy node", got)
	}
}

func TestOvercommit(t *testing.T) {
	n := node("n", nil)
	n.TotalMemory = 1000
	r := func() *Request { return req(t, nil, func(hc *container.HostConfig) { hc.Memory = 1040 }) }
	if got := place(t, mustNew(t, Config{Overcommit: 0.05}), r(), n); got != "n" {
		t.Errorf("5%% overcommit: %s", got)
	}
	if got := place(t, mustNew(t, Config{Overcommit: 0}), r(), n); !strings.Contains(got, "not enough free memory") {
		t.Errorf("no overcommit: %s", got)
	}
}

func TestParallelPortPlacementsNeverDoubleBook(t *testing.T) {
	s := mustNew(t, Config{})
	nodes := []*Node{node("n0", nil), node("n1", nil), node("n2", nil)}
	var mu sync.Mutex
	placed, failed := map[string]int{}, 0
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := &container.Config{Image: "nginx"}
			r := &Request{Config: cfg, HostConfig: &container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostPort: "80"}}}}}
			p, err := s.Place(r, nodes) // reservations are kept: Done is never called, as for creates in flight
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if explanation(err) != "no suitable node (port 80 in use on 3 nodes)" {
					t.Errorf("unexpected error: %v", err)
				}
				failed++
				return
			}
			placed[p.Node.Name]++
		}()
	}
	wg.Wait()
	if len(placed) != 3 || failed != 47 {
		t.Fatalf("placed %v, failed %d", placed, failed)
	}
	for n, c := range placed {
		if c != 1 {
			t.Fatalf("node %s got %d containers binding port 80", n, c)
		}
	}
}

func TestPortClashRules(t *testing.T) {
	for _, tt := range []struct {
		existing, want func(*Container)
		wantIP         string
		clash          bool
	}{
		{withPort("", "80"), nil, "", true},
		{withPort("10.0.0.1", "80"), nil, "10.0.0.2", false},
		{withPort("10.0.0.1", "80"), nil, "10.0.0.1", true},
		{withPort("10.0.0.1", "80"), nil, "0.0.0.0", true},
		{withPort("", "81"), nil, "", false},
	} {
		n := node("n", nil, ctr("x", "x", tt.existing))
		r := &Request{Config: &container.Config{}, HostConfig: &container.HostConfig{
			PortBindings: nat.PortMap{"80/tcp": {{HostIP: tt.wantIP, HostPort: "80"}}}}}
		got := place(t, mustNew(t, Config{}), r, n)
		if (got != "n") != tt.clash {
			t.Errorf("existing %+v, want ip %q: %s", n.Containers[0].HostConfig.PortBindings, tt.wantIP, got)
		}
	}
	udp := node("n", nil, ctr("x", "x", withPort("", "80")))
	r := &Request{Config: &container.Config{}, HostConfig: &container.HostConfig{PortBindings: nat.PortMap{"80/udp": {{HostPort: "80"}}}}}
	if got := place(t, mustNew(t, Config{}), r, udp); got != "n" {
		t.Errorf("udp 80 clashed with tcp 80: %s", got)
	}
	host := node("h", nil, ctr("x", "x", func(c *Container) {
		c.HostConfig.NetworkMode = "host"
		c.Config.ExposedPorts = nat.PortSet{"53/udp": {}}
	}))
	hr := &Request{Config: &container.Config{ExposedPorts: nat.PortSet{"53/udp": {}}}, HostConfig: &container.HostConfig{NetworkMode: "host"}}
	if got := place(t, mustNew(t, Config{}), hr, host); got != "error: no suitable node (port 53 in use on 1 node)" {
		t.Errorf("host mode: %s", got)
	}
}
