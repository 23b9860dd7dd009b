package agent

import (
	"os"
	"strconv"
	"strings"

	"swarm/overlay/netstate"
)

// neighbourLimit is the file holding the most ARP entries the kernel keeps (a var for tests). One table serves
// every network namespace of a host, its containers' included; past the limit new entries are refused and
// containers lose reach of peers they have not talked to yet ("neighbor table overflow" in the kernel log). The
// entries this agent programs are permanent and do not count; the containers' own do.
var neighbourLimit = "/proc/sys/net/ipv4/neigh/default/gc_thresh3"

// neighboursWanted is the most ARP entries this host's containers on cluster networks may need: each of them one
// per other endpoint of its network, and the host one per container (its DNS answers them).
func neighboursWanted(eps []netstate.Endpoint, mine map[string]netstate.Endpoint) int {
	per := map[string]int{}
	for _, e := range eps {
		per[e.Network]++
	}
	n := 0
	for _, e := range mine {
		n += max(per[e.Network]-1, 0) + 1
	}
	return n
}

// checkNeighbours warns once each time the containers' possible ARP entries pass the kernel's limit.
func (a *Agent) checkNeighbours(eps []netstate.Endpoint, mine map[string]netstate.Endpoint) {
	raw, err := os.ReadFile(neighbourLimit)
	if err != nil {
		return
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return
	}
	wanted := neighboursWanted(eps, mine)
	a.mu.Lock()
	warn := wanted > limit && !a.overLimit
	a.overLimit = wanted > limit
	a.mu.Unlock()
	if warn {
		a.log.Warn("cluster networks: this host's containers may need more ARP entries than the kernel keeps; "+
			"containers would lose reach of some peers (\"neighbor table overflow\" in the kernel log): "+
			"raise net.ipv4.neigh.default.gc_thresh3 (and gc_thresh1/2) with sysctl",
			"wanted", wanted, "gc_thresh3", limit)
	}
}
