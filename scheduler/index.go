package scheduler

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/docker/go-connections/nat"
)

// nodeIndex is what the filters look up among a node's own containers, built once per Node: a Node is a
// read-only snapshot, so the index stays true for its life. In-flight placements are not in it (see nodeView).
type nodeIndex struct {
	ports            map[hostPort][]string // bound or published host port -> the host IPs it is bound on
	hostExposed      map[nat.Port]bool     // ports exposed by host-network-mode containers
	keys             map[string]bool       // container IDs, short IDs and names
	labels           map[string]bool       // "key\x00value" of every container label
	usedCPU, usedMem int64
}

type hostPort struct{ port, proto string }

type lazyIndex struct {
	once      sync.Once
	idx       *nodeIndex
	slotsOnce sync.Once
	slots     int
	slot      atomic.Pointer[nodeSlot]   // the scheduler's slot for this node (slotOf)
	group     atomic.Pointer[groupCount] // Node.peers' last answer
}

// groupCount is how many of a node's running containers carry one label.
type groupCount struct {
	label *group
	n     int
}

// index returns the node's index, building it on first use.
func (n *Node) index() *nodeIndex {
	n.lazy.once.Do(func() {
		n.lazy.idx = buildIndex(n.Containers)
	})
	return n.lazy.idx
}

// peers counts the node's running containers that carry g's label. The last answer is kept: a burst of
// placements asks every node about the same group, and a Node is a read-only snapshot (only the nodes a
// placement changed are new ones, and they count again); placements racing to count count the same.
func (n *Node) peers(g *group) int {
	if c := n.lazy.group.Load(); c != nil && *c.label == *g {
		return c.n
	}
	k := 0
	for _, c := range n.Containers {
		if v, ok := c.Labels[g.key]; ok && v == g.value && c.Running {
			k++
		}
	}
	n.lazy.group.Store(&groupCount{label: g, n: k})
	return k
}

// slots is the engine label containerslots; -1 when missing or not a number.
func (n *Node) slots() int {
	n.lazy.slotsOnce.Do(func() {
		n.lazy.slots = -1
		if v, err := strconv.Atoi(n.Labels["containerslots"]); err == nil {
			n.lazy.slots = v
		}
	})
	return n.lazy.slots
}

func buildIndex(cs []*Container) *nodeIndex {
	x := &nodeIndex{ports: map[hostPort][]string{}, hostExposed: map[nat.Port]bool{}, keys: map[string]bool{},
		labels: map[string]bool{}}
	for _, c := range cs {
		bindings(c, func(p nat.Port, b nat.PortBinding) bool {
			k := hostPort{b.HostPort, p.Proto()}
			x.ports[k] = append(x.ports[k], b.HostIP)
			return true
		})
		if c.HostConfig != nil && c.HostConfig.NetworkMode == "host" && c.Config != nil {
			for p := range c.Config.ExposedPorts {
				x.hostExposed[p] = true
			}
		}
		if c.ID != "" {
			x.keys[c.ID], x.keys[shortID(c.ID)] = true, true
		}
		for _, name := range c.Names {
			x.keys[name] = true
		}
		for k, v := range c.Labels {
			x.labels[k+"\x00"+v] = true
		}
		x.usedCPU += c.CPUs
		x.usedMem += c.Memory
	}
	return x
}

// portTaken says whether a container of the node binds port/proto on an IP that clashes with ip.
func (x *nodeIndex) portTaken(port, proto, ip string) bool {
	for _, bound := range x.ports[hostPort{port, proto}] {
		if ipClash(bound, ip) {
			return true
		}
	}
	return false
}

// has says whether a container of the node is named (or has the ID) value, for key "container", or carries
// the label key=value otherwise.
func (x *nodeIndex) has(key, value string) bool {
	if key == "container" {
		return x.keys[value]
	}
	return x.labels[key+"\x00"+value]
}

// hasRef finds a container by name, full or short ID, or any ID prefix.
func (x *nodeIndex) hasRef(ref string, cs []*Container) bool {
	if ref == "" {
		return false
	}
	if x.keys[ref] {
		return true
	}
	for _, c := range cs {
		if strings.HasPrefix(c.ID, ref) {
			return true
		}
	}
	return false
}
