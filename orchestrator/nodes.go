package orchestrator

import (
	"net"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
)

// node is one engine as swarm mode's node, with what the store says of it.
type node struct {
	e            *cluster.Engine
	ID, Hostname string
	IP           string
	ready        bool
	availability swarm.NodeAvailability
	labels       map[string]string
	role         swarm.NodeRole
	rec          swarm.Node // the store's record (Version 0: none)
	manager      string     // the address of the manager this node stands for, "" for none
}

// acceptsTasks tells whether new tasks may be placed on the node.
func (n *node) acceptsTasks() bool { return n.ready && n.availability == swarm.NodeAvailabilityActive }

// keepsTasks tells whether the node's running tasks stay (drain moves them away; down ones are replaced).
func (n *node) keepsTasks() bool { return n.ready && n.availability != swarm.NodeAvailabilityDrain }

// nodes is every engine read at least once, as nodes, sorted by hostname; byID indexes them.
type nodes struct {
	list []*node
	byID map[string]*node
}

func (o *shared) nodes() nodes {
	recs := map[string]swarm.Node{}
	for _, r := range o.store.Nodes() {
		recs[r.ID] = r
	}
	out := nodes{byID: map[string]*node{}}
	for _, e := range o.cl.Engines() {
		id := e.ID()
		if id == "" || out.byID[id] != nil {
			continue
		}
		n := &node{e: e, ID: id, Hostname: e.Name(), IP: e.IP(), ready: e.Healthy(), rec: recs[id], role: swarm.NodeRoleWorker,
			availability: swarm.NodeAvailabilityActive}
		if a := n.rec.Spec.Availability; a != "" {
			n.availability = a
		}
		n.labels = n.rec.Spec.Labels
		out.list = append(out.list, n)
		out.byID[id] = n
	}
	o.markManagers(out.list)
	return out
}

// markManagers finds the nodes that stand for the managers this one knows (itself, and the primary): the
// engine on the manager's host (its advertised address, or for this manager one of its host's addresses); this
// manager, when no engine runs on its host, is represented by the first node by name.
func (o *shared) markManagers(list []*node) {
	primary, primaryAddr := o.cfg.Role()
	self := o.cfg.Advertise
	if primary {
		primaryAddr = self
	}
	mine := localHosts(self)
	var selfNode *node
	for _, n := range list {
		if mine[n.IP] && selfNode == nil {
			selfNode = n
		}
	}
	if selfNode == nil && len(list) > 0 {
		selfNode = list[0]
	}
	if selfNode != nil {
		selfNode.manager, selfNode.role = orSelf(self), swarm.NodeRoleManager
	}
	if primaryAddr != "" && primaryAddr != self {
		host, _, _ := net.SplitHostPort(primaryAddr)
		for _, n := range list {
			if n.IP == host && n.manager == "" {
				n.manager, n.role = primaryAddr, swarm.NodeRoleManager
				break
			}
		}
	}
}

func orSelf(addr string) string {
	if addr == "" {
		return "self"
	}
	return addr
}

// localHosts are the addresses this manager is at: its advertised host and its interfaces' addresses.
func localHosts(advertise string) map[string]bool {
	out := map[string]bool{}
	if host, _, err := net.SplitHostPort(advertise); err == nil {
		out[host] = true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
			out[ipn.IP.String()] = true
		}
	}
	return out
}

// pushNodeMeta gives the cluster every node's availability, labels and role, for placement.
func (o *shared) pushNodeMeta() {
	ns := o.nodes()
	m := make(map[string]cluster.NodeMeta, len(ns.list))
	for _, n := range ns.list {
		m[n.ID] = cluster.NodeMeta{Availability: string(n.availability), Labels: n.labels, Role: string(n.role)}
	}
	o.cl.SetNodeMeta(m)
}

// apiNode renders a node as the API shows it.
func (o *API) apiNode(n *node) swarm.Node {
	out := swarm.Node{ID: n.ID, Meta: n.rec.Meta}
	out.Spec = n.rec.Spec
	out.Spec.Role, out.Spec.Availability = n.role, n.availability
	if out.CreatedAt.IsZero() {
		out.CreatedAt = o.firstSeen(n.ID)
		out.UpdatedAt = out.CreatedAt
	}
	info, labels, _ := n.e.Description()
	out.Description = swarm.NodeDescription{Hostname: n.Hostname,
		Platform:  swarm.Platform{OS: info.OSType, Architecture: info.Architecture},
		Resources: swarm.Resources{NanoCPUs: int64(info.NCPU) * 1e9, MemoryBytes: info.MemTotal},
		Engine:    swarm.EngineDescription{EngineVersion: info.ServerVersion, Labels: engineLabels(labels)}}
	out.Status = swarm.NodeStatus{State: nodeState(n.e), Addr: n.IP}
	if !n.ready {
		out.Status.Message = n.e.LastError()
	}
	if n.manager != "" {
		primary, primaryAddr := o.cfg.Role()
		leader := n.manager == primaryAddr || (primary && n.manager == orSelf(o.cfg.Advertise))
		out.ManagerStatus = &swarm.ManagerStatus{Leader: leader, Reachability: swarm.ReachabilityReachable, Addr: n.manager}
	}
	return out
}

// engineLabels are the daemon's labels without the built-in ones constraints also read.
func engineLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		switch k {
		case "storagedriver", "kernelversion", "operatingsystem", "ostype":
			continue
		}
		out[k] = v
	}
	return out
}

func nodeState(e *cluster.Engine) swarm.NodeState {
	switch e.State() {
	case cluster.StateHealthy:
		return swarm.NodeStateReady
	case cluster.StatePending:
		return swarm.NodeStateUnknown
	}
	return swarm.NodeStateDown
}

func (o *shared) firstSeen(id string) time.Time {
	m := o.memo()
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.firstSeen[id]
	if !ok {
		t = time.Now().UTC()
		m.firstSeen[id] = t
	}
	return t
}

// find returns the node with this ID, hostname or ID prefix (in that order).
func (ns nodes) find(ref string) *node {
	if n := ns.byID[ref]; n != nil {
		return n
	}
	for _, n := range ns.list {
		if n.Hostname == ref {
			return n
		}
	}
	var found *node
	for _, n := range ns.list {
		if strings.HasPrefix(n.ID, ref) {
			if found != nil {
				return nil
			}
			found = n
		}
	}
	return found
}

func (ns nodes) sorted() []*node {
	return slices.SortedFunc(slices.Values(ns.list), func(a, b *node) int { return strings.Compare(a.Hostname, b.Hostname) })
}
