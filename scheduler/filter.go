package scheduler

import (
	"fmt"
	"strings"
)

// filter decides whether one node can take the request. Check returns "" to accept, or the reason it
// rejects: a format with one %s for the node count ("1 node", "3 nodes"), e.g. `port 80 in use on %s`.
type filter interface {
	check(r *request, n *nodeView) string
}

// filters by name, in the original's default order.
var filterOrder = []string{"health", "port", "containerslots", "dependency", "affinity", "constraint", "whitelist"}

var filtersByName = map[string]filter{
	"health": healthFilter{}, "port": portFilter{}, "containerslots": slotsFilter{}, "dependency": dependencyFilter{},
	"affinity": affinityFilter{}, "constraint": constraintFilter{}, "whitelist": whitelistFilter{},
}

// rejections counts, in order of first appearance, how many nodes each reason rejected.
type rejections struct {
	order  []string
	counts map[string]int
}

func (r *rejections) add(reason string) {
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	if r.counts[reason] == 0 {
		r.order = append(r.order, reason)
	}
	r.counts[reason]++
}

// NoNodeError says why no node could take a container, counting the nodes each reason rejected.
type NoNodeError struct {
	Reasons []string // rendered reasons, e.g. `constraint "region==eu" not met on 2 nodes`
}

func (e *NoNodeError) Error() string {
	return "no suitable node (" + strings.Join(e.Reasons, "; ") + ")"
}

func (r *rejections) err() *NoNodeError {
	e := &NoNodeError{}
	for _, reason := range r.order {
		e.Reasons = append(e.Reasons, fmt.Sprintf(reason, nodes(r.counts[reason])))
	}
	return e
}

func nodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}
