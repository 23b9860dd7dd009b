package cluster

import (
	"encoding/json"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"swarm/scheduler"
)

// pinToNodes handles node-prefixed names in a create: --net node-1/mynet and -v node-2/vol:/data are
// rewritten to the plain names and the container is constrained to that node. A named volume that exists on
// exactly one node draws the container there (a soft preference, as it may be created elsewhere). It
// returns whether the body must be rewritten.
func (c *creator) pinToNodes(cr *container.CreateRequest) bool {
	changed := false
	var nodes []string
	strip := func(ref string) string {
		node, name, ok := strings.Cut(ref, "/")
		if ok && c.pool.byRef(node) != nil {
			nodes = append(nodes, node)
			changed = true
			return name
		}
		return ref
	}
	hc := cr.HostConfig
	if m := string(hc.NetworkMode); m != "" && !strings.HasPrefix(m, "container:") {
		hc.NetworkMode = container.NetworkMode(strip(m))
	}
	if cr.NetworkingConfig != nil && len(cr.NetworkingConfig.EndpointsConfig) > 0 {
		eps := map[string]*network.EndpointSettings{}
		for k, v := range cr.NetworkingConfig.EndpointsConfig {
			eps[strip(k)] = v
		}
		cr.NetworkingConfig.EndpointsConfig = eps
	}
	soft := ""
	for i, b := range hc.Binds {
		src, rest, ok := strings.Cut(b, ":")
		if !ok || strings.HasPrefix(src, "/") {
			continue
		}
		hc.Binds[i] = strip(src) + ":" + rest
		if len(nodes) == 0 && soft == "" {
			soft = c.onlyNodeWithVolume(src)
		}
	}
	exprs := make([]string, 0, len(nodes)+1)
	for _, n := range nodes {
		exprs = append(exprs, "node=="+n)
	}
	if soft != "" {
		exprs = append(exprs, "node==~"+soft)
	}
	if len(exprs) > 0 {
		addConstraints(cr.Config, exprs)
	}
	return changed
}

// onlyNodeWithVolume names the one node holding a volume of that name, or "".
func (c *creator) onlyNodeWithVolume(name string) string {
	found := ""
	for _, e := range c.pool.all() {
		for _, v := range e.Volumes() {
			if v.Name == name {
				if found != "" {
					return ""
				}
				found = e.Name()
			}
		}
	}
	return found
}

func addConstraints(cfg *container.Config, exprs []string) {
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	var cur []string
	if raw := cfg.Labels[scheduler.LabelConstraints]; raw != "" {
		json.Unmarshal([]byte(raw), &cur)
	}
	b, _ := json.Marshal(append(cur, exprs...))
	cfg.Labels[scheduler.LabelConstraints] = string(b)
}
