package scheduler

import (
	"errors"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// swarmNodes are a manager and two workers with swarm mode's attributes; w2 has the engine label zone=a but no
// node label.
func swarmNodes() []*Node {
	m1 := node("m1", map[string]string{"disk": "ssd"})
	m1.IP, m1.Role, m1.OS, m1.Arch, m1.NodeLabels = "10.0.0.1", "manager", "linux", "x86_64", map[string]string{"zone": "a"}
	w1 := node("w1", map[string]string{"disk": "hdd"})
	w1.IP, w1.Role, w1.OS, w1.Arch, w1.NodeLabels = "10.0.1.5", "worker", "linux", "aarch64", map[string]string{"zone": "b"}
	w2 := node("w2", map[string]string{"zone": "a"})
	w2.IP, w2.Role, w2.OS, w2.Arch = "fd00::9", "worker", "windows", "x86_64"
	return []*Node{m1, w1, w2}
}

func TestConstraintSwarmModeKeys(t *testing.T) {
	s := mustNew(t, Config{})
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"constraint:node.id==ID-w1"}, "w1"},
		{[]string{"constraint:node.id!=ID-m1"}, "w1"},
		{[]string{"constraint:node.hostname==w2"}, "w2"},
		{[]string{"constraint:node.hostname!=m1"}, "w1"},
		{[]string{"constraint:node.ip==10.0.1.5"}, "w1"},
		{[]string{"constraint:node.ip!=10.0.0.1"}, "w1"},
		{[]string{"constraint:node.ip==10.0.0.0/24"}, "m1"},
		{[]string{"constraint:node.ip==10.0.0.0/8", "constraint:node.hostname!=m1"}, "w1"},
		{[]string{"constraint:node.ip!=10.0.0.0/8"}, "w2"},
		{[]string{"constraint:node.ip==fd00::/8"}, "w2"},
		{[]string{"constraint:node.ip==10.9.0.0/16"}, `error: no suitable node (constraint "node.ip==10.9.0.0/16" not met on 3 nodes)`},
		{[]string{"constraint:node.role==worker"}, "w1"},
		{[]string{"constraint:node.role!=worker"}, "m1"},
		{[]string{"constraint:node.platform.os==windows"}, "w2"},
		{[]string{"constraint:node.platform.os!=linux"}, "w2"},
		{[]string{"constraint:node.platform.arch==aarch64"}, "w1"},
		{[]string{"constraint:node.platform.arch!=x86_64"}, "w1"},
		{[]string{"constraint:node.labels.zone==a"}, "m1"},
		{[]string{"constraint:node.labels.zone!=a", "constraint:node.labels.zone!=b"}, "w2"},
		{[]string{"constraint:engine.labels.zone==a"}, "w2"},
		{[]string{"constraint:engine.labels.disk!=ssd"}, "w1"},
		{[]string{"constraint:zone==a"}, "w2"}, // classic: a bare key is an engine label
		{[]string{"constraint:node==w1"}, "w1"},
		{[]string{"constraint:NODE.ROLE==worker", "constraint:Node.Labels.zone==b"}, "w1"},
		{[]string{"constraint:node.labels.zone==~c"}, "m1"},
		{[]string{"constraint:node.role==manager", "constraint:node.platform.os==windows"},
			`error: no suitable node (constraint "node.platform.os==windows" not met on 1 node; constraint "node.role==manager" not met on 2 nodes)`},
	} {
		t.Run(tt.env[0], func(t *testing.T) {
			if got := place(t, s, req(t, tt.env), swarmNodes()...); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The expressions work the same from the swarm label as from the environment.
func TestConstraintSwarmModeKeysFromTheLabel(t *testing.T) {
	r := &Request{Config: &container.Config{Labels: map[string]string{LabelConstraints: `["node.labels.zone==b"]`}}}
	if got := place(t, mustNew(t, Config{}), r, swarmNodes()...); got != "w1" {
		t.Errorf("got %s, want w1", got)
	}
}

func TestConstraintUnknownSwarmModeKeyIsRefused(t *testing.T) {
	const valid = "use node.id, node.hostname, node.ip, node.role, node.platform.os, node.platform.arch, " +
		"node.labels.<label> or engine.labels.<label>"
	for _, tt := range []struct {
		expr, want string
	}{
		{"node.foo==1", `invalid constraint expression "node.foo==1": unknown key node.foo: ` + valid},
		{"node.labels.!=x", `invalid constraint expression "node.labels.!=x": unknown key node.labels.: ` + valid},
		{"engine.labels.==x", `invalid constraint expression "engine.labels.==x": unknown key engine.labels.: ` + valid},
	} {
		for _, cfg := range []*container.Config{
			{Env: []string{"constraint:" + tt.expr}},
			{Labels: map[string]string{LabelConstraints: `["` + tt.expr + `"]`}},
		} {
			err := ParseRequest(cfg)
			var ee *ExprError
			if !errors.As(err, &ee) || explanation(err) != tt.want {
				t.Errorf("%s: got %v (%T)\nwant %s", tt.expr, err, err, tt.want)
			}
		}
		r := &Request{Config: &container.Config{Labels: map[string]string{LabelConstraints: `["` + tt.expr + `"]`}}}
		if _, err := mustNew(t, Config{}).Place(r, swarmNodes()); err == nil || explanation(err) != tt.want {
			t.Errorf("Place %s: %v", tt.expr, err)
		}
	}
}
