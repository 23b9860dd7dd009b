package scheduler

import (
	"fmt"
	"slices"
	"strings"
)

// Swarm mode spreads a service's tasks: a request with a Group ranks first the nodes with the fewest peers
// (running containers, or placements in flight, that carry the group's label), and with Spread preferences
// first the values of each preference whose nodes hold the fewest peers. The strategy ranks what ties.

// group is a request's Group, parsed: the label its peers carry.
type group struct{ text, key, value string }

func parseGroup(text string) (*group, error) {
	key, value, ok := strings.Cut(text, "=")
	if !ok || key == "" {
		return nil, &ExprError{Kind: "group", Expr: text,
			Msg: fmt.Sprintf("invalid group %q: use key=value, the label the peers carry", text)}
	}
	return &group{text: text, key: key, value: value}, nil
}

// parseSpread resolves spread preferences: each names a node attribute as swarm mode's constraint keys do.
func parseSpread(descs []string) ([]attr, error) {
	out := make([]attr, 0, len(descs))
	for _, d := range descs {
		a, err := parseAttr(d, false)
		if err != nil {
			return nil, &ExprError{Kind: "spread", Expr: d, Msg: fmt.Sprintf("invalid spread preference %q: %v", d, err)}
		}
		out = append(out, a)
	}
	return out, nil
}

// CheckSpread validates spread preferences (Request.Spread) as Place would, e.g. when a service is created:
// an *ExprError names the first invalid one.
func CheckSpread(descs []string) error {
	_, err := parseSpread(descs)
	return err
}

// peers counts the group's running containers on n, with its placements in flight of the group (those that
// carry the label, or were placed for the same Group).
func (r *request) peers(n *nodeView) int {
	k := n.peers(r.group)
	for _, c := range n.pending {
		if v, ok := c.Labels[r.group.key]; (ok && v == r.group.value) || c.group == r.group.text {
			k++
		}
	}
	return k
}

// choose picks among the nodes that passed (pool, in input order): the spread preferences' emptiest branches
// and the fewest peers first, then the strategy; random draws among what ties.
func (s *Scheduler) choose(r *request, pool []weighted) *nodeView {
	switch {
	case len(r.spread) > 0 && r.group != nil:
		pool = spreadBest(r.spread, pool)
	case r.group != nil:
		pool = fewestPeers(pool)
	}
	if s.strategy == "random" {
		return &pool[s.rng.IntN(len(pool))].n
	}
	top := 0
	for i := range pool {
		if s.before(pool[i], pool[top], r.sortedNodes) {
			top = i
		}
	}
	return &pool[top].n
}

// fewestPeers keeps the nodes holding the fewest peers.
func fewestPeers(pool []weighted) []weighted {
	least := pool[0].group
	for _, w := range pool {
		least = min(least, w.group)
	}
	out := make([]weighted, 0, len(pool))
	for _, w := range pool {
		if w.group == least {
			out = append(out, w)
		}
	}
	return out
}

// spreadBest keeps the nodes of the branch holding the fewest peers at the first preference (the nodes that
// share its value; a missing value is one more, ""), then among them at the next, and so on; then the nodes
// holding the fewest peers themselves. Only the nodes in the pool count.
func spreadBest(prefs []attr, pool []weighted) []weighted {
	levels, width := len(prefs), len(prefs)+1
	paths := make([]string, len(pool)*levels) // node i's branch at level l: its values up to l
	sums := make([]map[string]int, levels)    // peers per branch, at each level
	for l := range sums {
		sums[l] = map[string]int{}
	}
	for i := range pool {
		path := ""
		for l, a := range prefs {
			path += a.value(pool[i].n.Node) + "\x00"
			paths[i*levels+l] = path
			sums[l][path] += pool[i].group
		}
	}
	rank := make([]int, len(pool)*width) // node i's key: its branches' peers, level by level, then its own
	best := 0
	for i := range pool {
		key := rank[i*width : (i+1)*width]
		for l := range prefs {
			key[l] = sums[l][paths[i*levels+l]]
		}
		key[levels] = pool[i].group
		if slices.Compare(key, rank[best*width:(best+1)*width]) < 0 {
			best = i
		}
	}
	out := make([]weighted, 0, len(pool))
	for i, w := range pool {
		if slices.Equal(rank[i*width:(i+1)*width], rank[best*width:(best+1)*width]) {
			out = append(out, w)
		}
	}
	return out
}
