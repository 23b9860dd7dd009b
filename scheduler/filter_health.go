package scheduler

// healthFilter rejects nodes that are not healthy.
type healthFilter struct{}

func (healthFilter) check(_ *request, n *nodeView) string {
	if n.HealthIndicator <= 0 {
		return "%s unhealthy"
	}
	return ""
}
