package scheduler

import "sort"

// Health weighs in each strategy's own direction, as in the original.
const (
	spreadHealthFactor  = -10
	binpackHealthFactor = 10
)

type weighted struct {
	n      *nodeView
	weight int64
	count  int
}

// rank drops the nodes without room for the request's CPUs and memory, then orders the rest by the strategy.
// Spread prefers the least loaded (then fewer containers), binpack the most loaded (then more containers);
// ties go by node name so the result is deterministic.
func (s *Scheduler) rank(r *request, nodes []*nodeView, rej *rejections) []*nodeView {
	factor := int64(spreadHealthFactor)
	if s.strategy == "binpack" {
		factor = binpackHealthFactor
	}
	ws := make([]weighted, 0, len(nodes))
	for _, n := range nodes {
		cpu, mem, reason := s.scores(r, n)
		if reason != "" {
			rej.add(len(s.filters), reason)
			continue
		}
		ws = append(ws, weighted{n: n, weight: cpu + mem + factor*n.HealthIndicator, count: n.count()})
	}
	out := make([]*nodeView, len(ws))
	if s.strategy == "random" {
		for i, p := range s.rng.Perm(len(ws)) {
			out[i] = ws[p].n
		}
		return out
	}
	binpack := s.strategy == "binpack"
	sort.SliceStable(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.weight != b.weight {
			return (a.weight < b.weight) != binpack
		}
		if a.count != b.count {
			return (a.count < b.count) != binpack
		}
		return a.n.Name < b.n.Name
	})
	for i, w := range ws {
		out[i] = w.n
	}
	return out
}

// scores are the original's: reserved share (in %) of CPUs and memory once the request is added, 100 when the
// request asks for none; above 100 the node has no room.
func (s *Scheduler) scores(r *request, n *nodeView) (cpu, mem int64, reason string) {
	cpu, mem = 100, 100
	if r.cpus <= 0 && r.memory <= 0 {
		return cpu, mem, ""
	}
	totalCPU := n.TotalCPUs + n.TotalCPUs*s.pct/100
	totalMem := n.TotalMemory + n.TotalMemory*s.pct/100
	var usedCPU, usedMem int64
	n.each(func(c *Container) bool {
		usedCPU += c.CPUs
		usedMem += c.Memory
		return true
	})
	if r.cpus > 0 {
		if totalCPU <= 0 || (usedCPU+r.cpus)*100/totalCPU > 100 {
			return 0, 0, "not enough free CPUs on %s"
		}
		cpu = (usedCPU + r.cpus) * 100 / totalCPU
	}
	if r.memory > 0 {
		if totalMem <= 0 || (usedMem+r.memory)*100/totalMem > 100 {
			return 0, 0, "not enough free memory on %s"
		}
		mem = (usedMem + r.memory) * 100 / totalMem
	}
	return cpu, mem, ""
}
