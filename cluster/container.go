package cluster

import (
	"maps"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"swarm/scheduler"
)

// Swarm's own container labels (the original's names, so containers move between the two).
const (
	LabelSwarmID    = "com.docker.swarm.id"
	LabelReschedule = "com.docker.swarm.reschedule-policies"
	// LabelTask marks swarm mode's task containers, which are replaced, never started again: a stopped one
	// holds no host port.
	LabelTask = "com.docker.swarm.task.id"
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

// newContainer makes a cache entry for what the engine said about a container, with its scheduler view
// (ncpu: the engine's CPUs, which turn CpuShares into reserved CPUs).
func (s *store) newContainer(l container.Summary, info *container.InspectResponse, seen time.Time, ncpu int64) *Container {
	if info != nil && info.Config != nil && maps.Equal(l.Labels, info.Config.Labels) {
		l.Labels = info.Config.Labels // one copy of the labels per container, not two
	}
	if ns := l.NetworkSettings; info != nil && info.NetworkSettings != nil && ns != nil && sameKeys(ns.Networks, info.NetworkSettings.Networks) {
		l.NetworkSettings = &container.NetworkSettingsSummary{Networks: info.NetworkSettings.Networks}
	}
	c := &Container{Summary: l, Engine: s.e, seen: seen, times: timesOf(info)}
	if info != nil && info.ContainerJSONBase != nil {
		c.RunState = runState(info.State)
		if scheduler.ReschedulePolicy(l.Labels) == "on-node-failure" {
			c.spec = info
		}
	}
	c.sched = schedContainer(c, info, ncpu)
	return c
}

// relisted is a cached container with a newer list entry that shows no change of state: what was inspected
// stays.
func (c *Container) relisted(s container.Summary) *Container {
	n := *c
	if c.spec != nil && c.spec.Config != nil && maps.Equal(s.Labels, c.spec.Config.Labels) {
		s.Labels = c.spec.Config.Labels
	}
	n.Summary = s
	sc := *c.sched
	sc.ID, sc.Names, sc.Image, sc.Labels, sc.Running = s.ID, schedNames(s.Names), s.Image, s.Labels, n.Running()
	n.sched = &sc
	return &n
}

// runState is the state kept in the cache: the health probes' log (outputs of the last probes) is left out.
func runState(st *container.State) *container.State {
	if st == nil || st.Health == nil || len(st.Health.Log) == 0 {
		return st
	}
	c := *st
	c.Health = &container.Health{Status: st.Health.Status, FailingStreak: st.Health.FailingStreak}
	return &c
}

func sameKeys[V any](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// schedContainer is the scheduler's view of a container: of its configuration only what the filters read
// (host ports bound or published, ports exposed in host network mode) and the resources it reserves.
func schedContainer(c *Container, info *container.InspectResponse, ncpu int64) *scheduler.Container {
	sc := &scheduler.Container{ID: c.ID, Names: schedNames(c.Names), Image: c.Image, Labels: c.Labels, Running: c.Running()}
	if info == nil || info.ContainerJSONBase == nil {
		return sc
	}
	if info.NetworkSettings != nil {
		sc.Ports = info.NetworkSettings.Ports
	}
	if hc := info.HostConfig; hc != nil {
		sc.Memory = hc.Memory
		sc.CPUs = max(sharesToCPUs(hc.CPUShares, ncpu), (hc.NanoCPUs+1e9-1)/1e9) // as the scheduler reserves them
		host := hc.NetworkMode == "host"
		if _, task := c.Labels[LabelTask]; task && !sc.Running {
			return sc
		}
		if host || len(hc.PortBindings) > 0 {
			sc.HostConfig = &container.HostConfig{NetworkMode: hc.NetworkMode, PortBindings: hc.PortBindings}
		}
		if host && info.Config != nil && len(info.Config.ExposedPorts) > 0 {
			sc.Config = &container.Config{ExposedPorts: info.Config.ExposedPorts}
		}
	}
	return sc
}

func schedNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = trimSlash(n)
	}
	return out
}

// The original's meaning of CpuShares: at create it counts CPUs; the engine gets the matching share of its CPUs.
func cpusToShares(cpus, ncpu int64) int64 {
	if cpus <= 0 || ncpu <= 0 {
		return 0
	}
	return (cpus*1024 + ncpu - 1) / ncpu
}

func sharesToCPUs(shares, ncpu int64) int64 {
	if shares <= 0 || ncpu <= 0 {
		return 0
	}
	return shares * ncpu / 1024
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}
