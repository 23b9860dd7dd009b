package join

import (
	"context"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"swarm/internal/backoff"
	"swarm/overlay/agent"
)

// How long FollowHealth waits before it reconnects to the engine's events: doubling from the first to the last.
const (
	healthRetryMin = time.Second
	healthRetryMax = 10 * time.Second
)

// FollowHealth follows the engine's health_status events until ctx ends; when their stream breaks it connects
// again with backoff.
func (n engineNamer) FollowHealth(ctx context.Context, changed func(agent.HealthChange)) {
	retry := backoff.Delay{Min: healthRetryMin, Max: healthRetryMax, Jitter: true}
	for ctx.Err() == nil {
		caughtUp, err := n.followHealth(ctx, changed)
		if ctx.Err() != nil {
			return
		}
		if caughtUp {
			retry.Reset()
		}
		wait := retry.Next()
		n.log.Warn("cluster networks: the engine's health events were lost; following them again after a pause",
			"err", err, "retry_in", wait)
		backoff.Sleep(ctx, wait)
	}
}

// followHealth subscribes to the health events first, then reports the health of every container with a health
// check, then each event, so no change falls between the two (one reported twice is harmless); caughtUp says
// it got that far. It returns when the stream breaks.
func (n engineNamer) followHealth(ctx context.Context, changed func(agent.HealthChange)) (caughtUp bool, err error) {
	ctx, cancel := context.WithCancel(ctx) // ends this subscription when we return, so retries do not pile up
	defer cancel()
	// An event filter of health_status without a colon matches every "health_status: ..." action.
	msgs, errs := n.engine.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)), filters.Arg("event", string(events.ActionHealthStatus)))})
	for _, health := range []string{container.Starting, container.Healthy, container.Unhealthy} {
		cts, err := n.engine.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("health", health))})
		if err != nil {
			return false, err
		}
		for _, c := range cts {
			if name := containerName(c.Names); name != "" {
				changed(agent.HealthChange{Container: name, Health: health})
			}
		}
	}
	for {
		select {
		case m := <-msgs:
			if health, ok := healthOf(m.Action); ok && m.Actor.Attributes["name"] != "" {
				changed(agent.HealthChange{Container: m.Actor.Attributes["name"], Health: health})
			}
		case err := <-errs:
			return true, err
		}
	}
}

// healthOf is the health an event's action reports: "health_status: healthy" or "health_status: unhealthy"
// (the engine sends no event for starting: a container starts so, and its endpoints are named then). Other
// actions of the family (free-form check output, "health_status: running") are not health.
func healthOf(action events.Action) (string, bool) {
	switch action {
	case events.ActionHealthStatusHealthy:
		return container.Healthy, true
	case events.ActionHealthStatusUnhealthy:
		return container.Unhealthy, true
	}
	return "", false
}

// containerName is a container's own name among those the engine lists ("/NAME"; links add "/OTHER/ALIAS").
func containerName(names []string) string {
	for _, n := range names {
		if name := strings.TrimPrefix(n, "/"); name != "" && !strings.Contains(name, "/") {
			return name
		}
	}
	return ""
}
