package scheduler

// Health weighs in each strategy's own direction, as in the original.
const (
	spreadHealthFactor  = -10
	binpackHealthFactor = 10
)

type weighted struct {
	n      nodeView // a copy: pick reuses its view of the node under test
	weight int64
	count  int
	group  int // the request's peers on the node (see request.peers); 0 without a Group
}

// weigh scores a node that passed the filters, or says why it has no room for the request's CPUs and memory.
// Spread prefers the least loaded (then fewer containers), binpack the most loaded (then more containers);
// ties go by node name, then by input order, so the choice is deterministic (see before). Random picks
// uniformly among the nodes with room.
func (s *Scheduler) weigh(r *request, n *nodeView) (weighted, string) {
	factor := int64(spreadHealthFactor)
	if s.strategy == "binpack" {
		factor = binpackHealthFactor
	}
	cpu, mem, reason := s.scores(r, n)
	if reason != "" {
		return weighted{}, reason
	}
	w := weighted{n: *n, weight: cpu + mem + factor*n.HealthIndicator, count: n.count()}
	if r.group != nil {
		w.group = r.peers(n)
	}
	return w, ""
}

// before says whether a ranks strictly ahead of b, b coming earlier in the input; sorted says the input is in
// name order, so a cannot come first by name. Fewer peers of the request's Group come first, whatever the
// strategy.
func (s *Scheduler) before(a, b weighted, sorted bool) bool {
	if a.group != b.group {
		return a.group < b.group
	}
	binpack := s.strategy == "binpack"
	if a.weight != b.weight {
		return (a.weight < b.weight) != binpack
	}
	if a.count != b.count {
		return (a.count < b.count) != binpack
	}
	return !sorted && a.n.Name < b.n.Name
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
