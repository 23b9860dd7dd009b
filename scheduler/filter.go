package scheduler

import (
	"fmt"
	"sort"
	"strings"
)

// filter decides whether one node can take the request. Check returns "" to accept, or the reason it
// rejects: a format with one %s for the node count ("1 node", "3 nodes"), e.g. `port 80 in use on %s`.
type filter interface {
	check(r *request, n *nodeView) string
}

// conditional is a filter that can only reject when the request asks for something (ports, dependencies,
// expressions): Place skips it for requests that do not, instead of asking it about every node.
type conditional interface {
	applies(r *request) bool
}

// stagedFilter is a filter with its place in the pipeline, which orders the reasons of a NoNodeError.
type stagedFilter struct {
	stage int
	f     filter
}

// active lists the filters that can reject r: availability, which always applies, then the configured ones.
func (s *Scheduler) active(r *request) []stagedFilter {
	out := make([]stagedFilter, 0, len(s.filters)+1)
	out = append(out, stagedFilter{availabilityStage, availabilityFilter{}})
	for i, f := range s.filters {
		if c, ok := f.(conditional); ok && !c.applies(r) {
			continue
		}
		out = append(out, stagedFilter{i, f})
	}
	return out
}

// filters by name, in the original's default order.
var filterOrder = []string{"health", "port", "containerslots", "dependency", "affinity", "constraint", "whitelist"}

var filtersByName = map[string]filter{
	"health": healthFilter{}, "port": portFilter{}, "containerslots": slotsFilter{}, "dependency": dependencyFilter{},
	"affinity": affinityFilter{}, "constraint": constraintFilter{}, "whitelist": whitelistFilter{},
}

// rejections counts how many nodes each reason rejected; reasons are reported in pipeline order (the stage
// that gave them), then in order of first appearance.
type rejections struct {
	order  []string
	stage  map[string]int
	counts map[string]int
}

func (r *rejections) add(stage int, reason string) {
	if r.counts == nil {
		r.counts, r.stage = map[string]int{}, map[string]int{}
	}
	if r.counts[reason] == 0 {
		r.order = append(r.order, reason)
		r.stage[reason] = stage
	}
	r.counts[reason]++
}

// NoNodeError says why no node could take a container: first in the original's words (which scripts look
// for), then ours, counting the nodes each reason rejected.
type NoNodeError struct {
	Original string   // e.g. "Unable to find a node that satisfies the following conditions \n[region==eu (soft=false)]"
	Reasons  []string // rendered reasons, e.g. `constraint "region==eu" not met on 2 nodes`
}

func (e *NoNodeError) Error() string {
	if e.Original == "" {
		return e.Explanation()
	}
	return e.Original + "\n" + e.Explanation()
}

// Explanation is our line alone: `no suitable node (...)`, for places one line fits (a task's error).
func (e *NoNodeError) Explanation() string {
	return "no suitable node (" + strings.Join(e.Reasons, "; ") + ")"
}

func (r *rejections) err() *NoNodeError {
	sort.SliceStable(r.order, func(i, j int) bool { return r.stage[r.order[i]] < r.stage[r.order[j]] })
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
