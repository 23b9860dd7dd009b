package scheduler

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

// best drops the nodes without room for the request's CPUs and memory, then picks by the strategy: spread
// prefers the least loaded (then fewer containers), binpack the most loaded (then more containers); ties go by
// node name, then by input order, so the choice is deterministic. Random picks uniformly among those with room.
// It returns nil when no node has room.
func (s *Scheduler) best(r *request, nodes []*nodeView, rej *rejections) *nodeView {
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
	if len(ws) == 0 {
		return nil
	}
	if s.strategy == "random" {
		return ws[s.rng.IntN(len(ws))].n
	}
	top := 0
	for i := 1; i < len(ws); i++ {
		if s.before(ws[i], ws[top]) {
			top = i
		}
	}
	return ws[top].n
}

// before says whether a ranks strictly ahead of b.
func (s *Scheduler) before(a, b weighted) bool {
	binpack := s.strategy == "binpack"
	if a.weight != b.weight {
		return (a.weight < b.weight) != binpack
	}
	if a.count != b.count {
		return (a.count < b.count) != binpack
	}
	return a.n.Name < b.n.Name
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
	usedCPU, usedMem := n.index().usedCPU, n.index().usedMem
	n.eachPending(func(c *Container) bool {
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
