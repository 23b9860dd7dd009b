package scheduler

// availabilityFilter honours swarm mode's node availability on every placement, whatever Config.Filters says:
// only an active node (Availability "active", or "" for it) takes new containers; pause, drain and any other
// value reject. It runs before the configured filters, so its reason comes first.
type availabilityFilter struct{}

func (availabilityFilter) check(_ *request, n *nodeView) string {
	if !available(n.Node) {
		return "%s not available for new tasks"
	}
	return ""
}

// available says whether n takes new containers (see availabilityFilter).
func available(n *Node) bool { return n.Availability == "" || n.Availability == "active" }

// availabilityStage places availabilityFilter's reason before those of the configured filters (0, 1, ...).
const availabilityStage = -1
