package orchestrator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// Tasks lists the tasks that match f (id, name, label, service, node, desired-state, _up-to-date), by
// service, slot, then newest first.
func (o *API) Tasks(f filters.Args) ([]swarm.Task, error) {
	if err := f.Validate(map[string]bool{"id": true, "name": true, "label": true, "service": true, "node": true,
		"desired-state": true, "_up-to-date": true}); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	services, err := o.serviceFilter(f)
	if err != nil {
		return nil, err
	}
	v := o.view(o.memo(), services)
	ns := o.nodes()
	nodeIDs := map[string]bool{}
	for _, ref := range f.Get("node") {
		if n := ns.find(ref); n != nil {
			nodeIDs[n.ID] = true
		}
	}
	out := []swarm.Task{}
	for _, t := range v.sortedTasks() {
		if services != nil && !services[t.ServiceID] || f.Contains("node") && !nodeIDs[t.NodeID] {
			continue
		}
		a := o.apiTask(v, t)
		if taskMatches(f, v, a, t) {
			out = append(out, a)
		}
	}
	return out, nil
}

// serviceFilter resolves the service= refs (ID, name or ID prefix) to IDs; nil when the filter is absent.
func (o *API) serviceFilter(f filters.Args) (map[string]bool, error) {
	if !f.Contains("service") {
		return nil, nil
	}
	ids := map[string]bool{}
	for _, ref := range f.Get("service") {
		if s, err := o.findService(ref); err == nil {
			ids[s.ID] = true
		}
	}
	return ids, nil
}

func taskMatches(f filters.Args, v *view, a swarm.Task, t *task) bool {
	if !prefixMatch(f, "id", a.ID) || !prefixMatch(f, "name", a.Name) || !f.ExactMatch("desired-state", string(a.DesiredState)) {
		return false
	}
	if f.Contains("label") && !f.MatchKVList("label", v.services[t.ServiceID].Spec.Labels) {
		return false
	}
	if f.Contains("_up-to-date") {
		s, ok := v.services[t.ServiceID]
		return ok && t.Hash == curHash(s)
	}
	return true
}

func (v *view) sortedTasks() []*task {
	var out []*task
	for _, ts := range v.slots {
		out = append(out, ts...)
	}
	out = append(out, v.orphans...)
	slices.SortStableFunc(out, func(a, b *task) int {
		if c := strings.Compare(a.ServiceName, b.ServiceName); c != 0 {
			return c
		}
		if a.Slot != b.Slot {
			return a.Slot - b.Slot
		}
		if a.Slot == 0 { // global: a slot per node
			if c := strings.Compare(a.NodeID, b.NodeID); c != 0 {
				return c
			}
		}
		return newestFirst(a, b)
	})
	return out
}

// Task returns the task with this ID or ID prefix.
func (o *API) Task(ref string) (swarm.Task, error) {
	v := o.view(o.memo(), nil)
	t, err := v.findTask(ref)
	if err != nil {
		return swarm.Task{}, err
	}
	return o.apiTask(v, t), nil
}

// findTask finds a task by ID, or by a prefix of one ID.
func (v *view) findTask(ref string) (*task, error) {
	var exact, found *task
	ambiguous := false
	v.each(func(t *task) {
		switch {
		case t.ID == ref:
			exact = t
		case ref != "" && strings.HasPrefix(t.ID, ref):
			ambiguous = ambiguous || (found != nil && found.ID != t.ID)
			found = t
		}
	})
	switch {
	case exact != nil:
		return exact, nil
	case ambiguous:
		return nil, errdefs.InvalidParameter(fmt.Errorf("task %s is ambiguous", ref))
	case found == nil:
		return nil, errdefs.NotFound(fmt.Errorf("task %s not found", ref))
	}
	return found, nil
}

// apiTask renders a task as the API shows it.
func (o *API) apiTask(v *view, t *task) swarm.Task {
	s := v.services[t.ServiceID]
	a := swarm.Task{ID: t.ID, ServiceID: t.ServiceID, Slot: t.Slot, NodeID: t.NodeID, DesiredState: v.desiredState(t),
		Annotations: swarm.Annotations{Name: taskName(t.ServiceName, t.Slot, t.NodeID)}}
	a.Version = s.Version
	a.CreatedAt, a.UpdatedAt = t.created.UTC(), t.created.UTC()
	a.Spec = taskSpec(s, t)
	a.Status = swarm.TaskStatus{Timestamp: o.statusTime(t), State: t.state, Message: t.message, Err: t.err}
	if t.ct != nil {
		a.Status.ContainerStatus = &swarm.ContainerStatus{ContainerID: t.ct.ID, ExitCode: t.exitCode}
		if t.ct.RunState != nil {
			a.Status.ContainerStatus.PID = t.ct.RunState.Pid
		}
		a.Status.PortStatus = portStatus(t)
	}
	return a
}

// taskSpec is the spec the task was made from: the service's current or previous one, by the task's hash;
// else what its container tells (its image).
func taskSpec(s swarm.Service, t *task) swarm.TaskSpec {
	switch {
	case t.Hash != "" && t.Hash == curHash(s):
		return s.Spec.TaskTemplate
	case s.PreviousSpec != nil && t.Hash == prevHash(s):
		return s.PreviousSpec.TaskTemplate
	}
	img := ""
	if t.ct != nil {
		img = t.ct.Image
	}
	return swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: img}}
}

func portStatus(t *task) swarm.PortStatus {
	var ps swarm.PortStatus
	for _, p := range t.ct.Ports {
		if p.PublicPort == 0 {
			continue
		}
		ps.Ports = append(ps.Ports, swarm.PortConfig{Protocol: swarm.PortConfigProtocol(p.Type), TargetPort: uint32(p.PrivatePort),
			PublishedPort: uint32(p.PublicPort), PublishMode: swarm.PortConfigPublishModeHost})
	}
	return ps
}

// statusTime is when the task reached its state, as well as the cache tells.
func (o *API) statusTime(t *task) time.Time {
	if t.ct != nil && t.ct.RunState != nil {
		at := t.ct.RunState.StartedAt
		if !t.running() {
			at = t.ct.RunState.FinishedAt
		}
		if ts, err := time.Parse(time.RFC3339Nano, at); err == nil && ts.Year() > 1 {
			return ts
		}
	}
	return t.created.UTC()
}

// statuses counts the running tasks (current tasks running on nodes that are up) of every service (scope nil)
// or of those in scope and, for global services, the tasks each wants.
func (o *API) statuses(scope map[string]bool) map[string]*swarm.ServiceStatus {
	v := o.view(o.memo(), scope)
	ns := o.nodes()
	out := map[string]*swarm.ServiceStatus{}
	for k, ts := range v.slots {
		s := v.services[k.service]
		st := out[k.service]
		if st == nil {
			st = &swarm.ServiceStatus{}
			out[k.service] = st
		}
		t := ts[0]
		n := ns.byID[t.NodeID]
		if !v.wanted(s, k) || n == nil || !n.ready {
			continue
		}
		if s.Spec.Mode.Global != nil && v.desiredState(t) == swarm.TaskStateRunning {
			st.DesiredTasks++
		}
		if t.state == swarm.TaskStateRunning {
			st.RunningTasks++
		}
	}
	return out
}
