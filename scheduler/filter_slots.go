package scheduler

// slotsFilter honours the engine label containerslots=N: at most N containers (all states, in-flight ones
// included). A missing or non-numeric label means no limit.
type slotsFilter struct{}

func (slotsFilter) check(_ *request, n *nodeView) string {
	if slots := n.slots(); slots >= 0 && n.count() >= slots {
		return "no container slot left on %s"
	}
	return ""
}
