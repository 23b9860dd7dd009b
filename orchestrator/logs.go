package orchestrator

import (
	"slices"

	"swarm/cluster"
)

// LogSource is one task container whose log lines make part of a service's log.
type LogSource struct {
	Engine      *cluster.Engine
	ContainerID string
	NodeID      string
	ServiceID   string
	TaskID      string
	TTY         bool
}

// LogSources are the task containers of a service (ref: ID, name or ID prefix) or, with ofTask, of one task
// (ref: its ID or ID prefix), oldest first; tasks without a container have no log.
func (o *API) LogSources(ref string, ofTask bool) ([]LogSource, error) {
	var v *view
	var ts []*task
	if ofTask {
		v = o.view(o.memo(), nil)
		t, err := v.findTask(ref)
		if err != nil {
			return nil, err
		}
		ts = []*task{t}
	} else {
		s, err := o.findService(ref)
		if err != nil {
			return nil, err
		}
		v = o.view(o.memo(), map[string]bool{s.ID: true})
		for _, slot := range v.slots {
			ts = append(ts, slot...)
		}
	}
	slices.SortFunc(ts, func(a, b *task) int { return -newestFirst(a, b) })
	out := []LogSource{}
	for _, t := range ts {
		if t.ct == nil || t.ct.Engine == nil {
			continue
		}
		tty := false
		if s, ok := v.services[t.ServiceID]; ok && s.Spec.TaskTemplate.ContainerSpec != nil {
			tty = s.Spec.TaskTemplate.ContainerSpec.TTY
		}
		out = append(out, LogSource{Engine: t.ct.Engine, ContainerID: t.ct.ID, NodeID: t.NodeID, ServiceID: t.ServiceID, TaskID: t.ID, TTY: tty})
	}
	return out, nil
}
