package scheduler

// constraintFilter matches the node itself: node==X against its ID and name, any other key against the engine
// label of that name (built-ins storagedriver, kernelversion, operatingsystem, ostype included; a missing label
// reads as "").
type constraintFilter struct{}

func (constraintFilter) applies(r *request) bool { return len(r.ex.constraints) > 0 }

func (constraintFilter) check(r *request, n *nodeView) string {
	for _, e := range r.ex.constraints {
		if e.soft && !r.soft {
			continue
		}
		var ok bool
		if e.key == "node" {
			ok = e.match(n.ID, n.Name)
		} else {
			ok = e.match(n.Labels[e.key])
		}
		if !ok {
			return e.reason("constraint %q not met on %%s")
		}
	}
	return ""
}
