package cluster

import (
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"swarm/scheduler"
)

// Swarm's own container labels (the original's names, so containers move between the two).
const (
	LabelSwarmID    = "com.docker.swarm.id"
	LabelReschedule = "com.docker.swarm.reschedule-policies"
)

// Container is a cached container: the engine's list entry and, from its inspect, what the manager uses. A
// *Container is immutable once published; a change replaces it. The full inspect is kept only for containers
// that are recreated elsewhere when their node fails (reschedule); the rest keep their state, so a large
// fleet's cache holds a few hundred bytes per container instead of the engine's whole answer.
type Container struct {
	container.Summary
	// RunState is the engine's state of the container, without the health probes' log; nil when not inspected.
	RunState *container.State
	Engine   *Engine
	spec     *container.InspectResponse // the full inspect, for reschedule-on-node-failure containers only
	seen     time.Time                  // when this entry was read from the engine
	sched    *scheduler.Container       // the scheduler's view, made once
	times    times                      // for the list's status text
	// provisional: made from the create request, not read from the engine; a re-read follows (putCreated)
	provisional bool
}

// status is the list's human status now ("Up 5 minutes"); the engine's own text when the state is unknown.
func (c *Container) status(now time.Time) string {
	if c.RunState == nil || (c.RunState.Running && c.times.started.IsZero()) {
		return c.Status
	}
	return statusText(c.RunState, c.times, now)
}

// Name is the container's name without the leading slash.
func (c *Container) Name() string {
	if len(c.Names) == 0 {
		return ""
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

// SwarmID is the identity swarm gave the container at create; it survives rescheduling.
func (c *Container) SwarmID() string { return c.Labels[LabelSwarmID] }

// Running reports whether the container is running (or paused or restarting, which hold resources too).
func (c *Container) Running() bool {
	return c.State == "running" || c.State == "paused" || c.State == "restarting"
}
