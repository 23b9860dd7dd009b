package scheduler

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The original's words for a container no node takes: its scripts look for them, so a NoNodeError starts with
// them and adds our explanation after.
const (
	msgNoNodes      = "No nodes available in the cluster"
	msgNoHealthy    = "No healthy node available in the cluster"
	msgConditions   = "Unable to find a node that satisfies the following conditions "
	msgNoResources  = "no resources available to schedule container"
	resourcesStage  = 1 << 20 // after every filter: the strategy found no room
	unfilteredStage = -2      // no node was rejected by a filter
)

// described is a filter that tells, as the original listed it, what it asks of a node for request r (nothing:
// an empty list, which is not shown).
type described interface {
	conditions(r *request) []string
}

// originalText is what the original would have said when the filters, applied one after the other in their
// configured order, left no node at stage last (resourcesStage: they left nodes with no room): the conditions
// of every filter up to that one, one line each, as a Go list. A failure of our own availability filter (node
// pause and drain, which the original did not have) has no such text.
func (s *Scheduler) originalText(r *request, last int) string {
	switch {
	case last == resourcesStage:
		return msgNoResources
	case last < 0 || last >= len(s.filters):
		return ""
	}
	if _, health := s.filters[last].(healthFilter); health {
		return msgNoHealthy
	}
	var b strings.Builder
	b.WriteString(msgConditions)
	for i := 0; i <= last; i++ {
		d, ok := s.filters[i].(described)
		if !ok {
			continue
		}
		if conds := d.conditions(r); len(conds) > 0 {
			fmt.Fprintf(&b, "\n%v", conds)
		}
	}
	return b.String()
}

func (portFilter) conditions(r *request) []string {
	var out []string
	if r.hostMode {
		for p := range r.Config.ExposedPorts {
			out = append(out, "port "+string(p)+" (Host mode)")
		}
	} else {
		for _, p := range r.ports {
			out = append(out, "port "+p.port+" (Bridge mode)")
		}
	}
	sort.Strings(out)
	return out
}

func (slotsFilter) conditions(*request) []string { return []string{"available container slots"} }

func (dependencyFilter) conditions(r *request) []string {
	var out []string
	for _, d := range r.deps {
		if d.via == "--net" {
			out = append(out, "--net=container:"+d.name)
		} else {
			out = append(out, d.via+"="+d.name)
		}
	}
	return out
}

func (affinityFilter) conditions(r *request) []string { return exprConditions(r.ex.affinities, r.soft) }

func (constraintFilter) conditions(r *request) []string {
	return exprConditions(r.ex.constraints, r.soft)
}

func (whitelistFilter) conditions(r *request) []string {
	var out []string
	for _, list := range r.ex.whitelists {
		out = append(out, strings.Join(list, "|"))
	}
	return out
}

// exprConditions are expressions as the original wrote them: `key==value (soft=false)`; soft ones only in the
// pass where they count.
func exprConditions(es []*expr, soft bool) []string {
	var out []string
	for _, e := range es {
		if e.soft && !soft {
			continue
		}
		out = append(out, e.String()+" (soft="+strconv.FormatBool(e.soft)+")")
	}
	return out
}
