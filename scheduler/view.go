package scheduler

import (
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// nodeView is a node plus the containers being created on it.
type nodeView struct {
	*Node
	pending []*Container
}

// each calls f for every container of the node, in-flight ones included, until f returns false.
func (n *nodeView) each(f func(*Container) bool) {
	for _, c := range n.Containers {
		if !f(c) {
			return
		}
	}
	for _, c := range n.pending {
		if !f(c) {
			return
		}
	}
}

// eachPending calls f for every in-flight container of the node until f returns false; the node's own
// containers are looked up in its index.
func (n *nodeView) eachPending(f func(*Container) bool) {
	for _, c := range n.pending {
		if !f(c) {
			return
		}
	}
}

func (n *nodeView) count() int { return len(n.Containers) + len(n.pending) }

// request is a Request prepared for the filters.
type request struct {
	*Request
	ex      *exprs
	filters []stagedFilter // the scheduler's filters that can reject this request
	deps    []dependency
	// sortedNodes: the nodes come in name order (PlaceSorted)
	sortedNodes bool
	soft        bool // the soft expressions count in this pass
	hasSoft     bool
	ports       []portReq
	hostMode    bool
	cpus        int64
	memory      int64
	group       *group // Request.Group parsed; nil without one
	spread      []attr // Request.Spread resolved
}

type portReq struct{ ip, port, proto string }

func newRequest(req *Request) (*request, error) {
	if req.Config == nil {
		req.Config = &container.Config{}
	}
	if req.HostConfig == nil {
		req.HostConfig = &container.HostConfig{}
	}
	lists := map[string][]string{}
	for _, k := range envKinds {
		vals, err := labelList(req.Config.Labels, k.label, k.kind)
		if err != nil {
			return nil, err
		}
		lists[k.label] = vals
	}
	ex, err := parseExprs(lists)
	if err != nil {
		return nil, err
	}
	r := &request{Request: req, ex: ex, cpus: reservedCPUs(req.HostConfig), memory: req.HostConfig.Memory}
	if req.Group != "" {
		if r.group, err = parseGroup(req.Group); err != nil {
			return nil, err
		}
	}
	if len(req.Spread) > 0 {
		if r.spread, err = parseSpread(req.Spread); err != nil {
			return nil, err
		}
	}
	for _, e := range append(append([]*expr{}, ex.constraints...), ex.affinities...) {
		r.hasSoft = r.hasSoft || e.soft
	}
	r.hostMode = req.HostConfig.NetworkMode == "host"
	r.deps = dependencies(req.HostConfig)
	for p, bindings := range req.HostConfig.PortBindings {
		for _, b := range bindings {
			if b.HostPort != "" {
				r.ports = append(r.ports, portReq{ip: b.HostIP, port: b.HostPort, proto: p.Proto()})
			}
		}
	}
	return r, nil
}

// reservedCPUs is what a create reserves, in whole CPUs: the original's CpuShares, which count CPUs at create,
// or swarm mode's NanoCPUs (--reserve-cpu) rounded up, whichever is more.
func reservedCPUs(hc *container.HostConfig) int64 {
	return max(hc.CPUShares, (hc.NanoCPUs+1e9-1)/1e9)
}

// pendingContainer is what a placement reserves on its node.
func (r *request) pendingContainer() *Container {
	c := &Container{Config: r.Config, HostConfig: r.HostConfig, Labels: r.Config.Labels, Image: r.Config.Image,
		CPUs: r.cpus, Memory: r.memory, Running: true}
	if r.group != nil {
		c.group = r.group.text
	}
	if r.Name != "" {
		c.Names = []string{strings.TrimPrefix(r.Name, "/")}
	}
	return c
}

// bindings calls f for every host port a container binds or publishes.
func bindings(c *Container, f func(nat.Port, nat.PortBinding) bool) bool {
	if c.HostConfig != nil {
		for p, bs := range c.HostConfig.PortBindings {
			for _, b := range bs {
				if !f(p, b) {
					return false
				}
			}
		}
	}
	for p, bs := range c.Ports {
		for _, b := range bs {
			if !f(p, b) {
				return false
			}
		}
	}
	return true
}
