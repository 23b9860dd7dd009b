package scheduler

import (
	"errors"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// explanation is our line of a NoNodeError (the original's words before it are tested here), or the error.
func explanation(err error) string {
	var nn *NoNodeError
	if errors.As(err, &nn) {
		return nn.Explanation()
	}
	return err.Error()
}

// Every way the filters and the strategy fail says first what the original said, word for word, then ours.
func TestTheOriginalsWordsComeFirst(t *testing.T) {
	sick := node("a", nil)
	sick.HealthIndicator = 0
	tests := []struct {
		name   string
		env    []string
		hc     func(*container.HostConfig)
		cfg    func(*container.Config)
		nodes  []*Node
		filter []string
		want   string
	}{
		{"no node", nil, nil, nil, []*Node{}, nil,
			"No nodes available in the cluster\nno suitable node (no nodes in the cluster)"},
		{"health", nil, nil, nil, []*Node{sick}, nil,
			"No healthy node available in the cluster\nno suitable node (1 node unhealthy)"},
		{"port", nil, func(hc *container.HostConfig) { hc.PortBindings = nat.PortMap{"80/tcp": {{HostPort: "80"}}} }, nil,
			[]*Node{node("a", nil, ctr("x", "x", withPort("", "80")))}, nil,
			"Unable to find a node that satisfies the following conditions \n[port 80 (Bridge mode)]\nno suitable node (port 80 in use on 1 node)"},
		{"host mode port", nil, func(hc *container.HostConfig) { hc.NetworkMode = "host" },
			func(c *container.Config) { c.ExposedPorts = nat.PortSet{"53/udp": {}} },
			[]*Node{node("a", nil, ctr("x", "x", func(c *Container) {
				c.HostConfig.NetworkMode = "host"
				c.Config.ExposedPorts = nat.PortSet{"53/udp": {}}
			}))}, nil,
			"Unable to find a node that satisfies the following conditions \n[port 53/udp (Host mode)]\nno suitable node (port 53 in use on 1 node)"},
		{"container slots", nil, nil, nil, []*Node{node("a", map[string]string{"containerslots": "0"})}, nil,
			"Unable to find a node that satisfies the following conditions \n[available container slots]\nno suitable node (no container slot left on 1 node)"},
		{"dependency", nil, func(hc *container.HostConfig) { hc.VolumesFrom = []string{"data"}; hc.Links = []string{"db:db"} }, nil,
			[]*Node{node("a", nil)}, nil,
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[--volumes-from=data --link=db]\n" +
				`no suitable node (container "data" (--volumes-from) not on 1 node)`},
		{"affinity", []string{"affinity:container==c1"}, nil, nil, []*Node{node("a", nil)}, nil,
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[container==c1 (soft=false)]\n" +
				`no suitable node (affinity "container==c1" not met on 1 node)`},
		{"constraint", []string{"constraint:test.label!=true"}, nil, nil,
			[]*Node{node("a", map[string]string{"test.label": "true"})}, nil,
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[test.label!=true (soft=false)]\n" +
				`no suitable node (constraint "test.label!=true" not met on 1 node)`},
		{"whitelist", []string{"whitelist:node==b|c"}, nil, nil, []*Node{node("a", nil)}, nil,
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[b|c]\n" +
				`no suitable node (not in whitelist "b|c" on 1 node)`},
		{"only the filters up to the failing one", []string{"constraint:node==a", "affinity:container==c1"}, nil, nil,
			[]*Node{node("a", nil), node("b", nil, ctr("c1", "c1"))}, nil,
			"Unable to find a node that satisfies the following conditions \n[available container slots]\n[container==c1 (soft=false)]\n[node==a (soft=false)]\n" +
				`no suitable node (affinity "container==c1" not met on 1 node; constraint "node==a" not met on 1 node)`},
		{"configured order", []string{"constraint:node==z"}, nil, nil, []*Node{node("a", nil)}, []string{"constraint", "health"},
			"Unable to find a node that satisfies the following conditions \n[node==z (soft=false)]\n" +
				`no suitable node (constraint "node==z" not met on 1 node)`},
		{"resources", nil, func(hc *container.HostConfig) { hc.Memory = 64 << 30 }, nil, []*Node{node("a", nil)}, nil,
			"no resources available to schedule container\nno suitable node (not enough free memory on 1 node)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &container.Config{Image: "busybox", Env: tt.env}
			hc := &container.HostConfig{}
			if tt.hc != nil {
				tt.hc(hc)
			}
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			if err := ParseRequest(cfg); err != nil {
				t.Fatal(err)
			}
			_, err := mustNew(t, Config{Filters: tt.filter}).Place(&Request{Config: cfg, HostConfig: hc}, tt.nodes)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

// The original's docs escape `!` for bash in label values (`["container\!=c1"]`); that escape means `!`, and
// no other backslash escape is taken beyond JSON's own.
func TestAnEscapedBangInALabelMeansBang(t *testing.T) {
	cfg := &container.Config{Labels: map[string]string{LabelAffinities: `["container\!=c1"]`, LabelConstraints: `["node\!=b"]`}}
	if err := ParseRequest(cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Labels[LabelAffinities] != `["container!=c1"]` || cfg.Labels[LabelConstraints] != `["node!=b"]` {
		t.Fatalf("labels after parsing: %v", cfg.Labels)
	}
	bad := &container.Config{Labels: map[string]string{LabelAffinities: `["container\?=c1"]`}}
	if err := ParseRequest(bad); err == nil {
		t.Fatal(`a label with the escape \? was taken`)
	}
	p, err := mustNew(t, Config{}).Place(&Request{Config: cfg}, []*Node{node("a", nil, ctr("c1", "c1")), node("b", nil), node("c", nil)})
	if err != nil || p.Node.Name != "c" {
		t.Fatalf("placed on %v (%v), want c: away from c1 and not b", p, err)
	}
}

// A bad reschedule policy is refused in the original's words first.
func TestABadReschedulePolicyInTheOriginalsWords(t *testing.T) {
	err := ParseRequest(&container.Config{Env: []string{"reschedule:false"}})
	if err == nil || err.Error() != "invalid reschedule policy: false\n(use on-node-failure or off)" {
		t.Fatalf("reschedule:false: %v", err)
	}
}
