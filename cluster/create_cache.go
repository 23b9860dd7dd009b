package cluster

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
)

// provisionalFor is how long a container cached from its create request waits for a re-read made anyway (the
// start of a `docker run`) before it is re-read for itself.
const provisionalFor = 250 * time.Millisecond

// putCreated caches a container just created from what the create asked for, so the scheduler counts it and
// the start that usually follows finds it, without a call to the engine. The engine's own view replaces it at
// the next re-read: the start's, or one of its own after provisionalFor (the engine's create event does not
// cause one). Name is "" when the engine chose it; ncpu turns the request's CPUs into the shares it sent.
func (s *store) putCreated(ctx context.Context, id, name string, cr *container.CreateRequest, ncpu int64) {
	now := time.Now()
	hc := *cr.HostConfig
	hc.CPUShares = cpusToShares(hc.CPUShares, ncpu)
	info := &container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + name, Created: now.UTC().Format(time.RFC3339Nano),
			HostConfig: &hc, State: &container.State{Status: container.StateCreated}},
		Config: cr.Config, NetworkSettings: &container.NetworkSettings{},
	}
	if args := append(append([]string{}, cr.Config.Entrypoint...), cr.Config.Cmd...); len(args) > 0 {
		info.Path, info.Args = args[0], args[1:]
	}
	l := summaryOf(info)
	if name == "" {
		l.Names = nil // the engine's choice, known at the re-read
	}
	c := s.newContainer(l, info, now, s.e.ncpu())
	c.provisional = true
	s.mu.Lock()
	_, known := s.containers[id]
	_, removed := s.removed[id]
	if !known && !removed {
		s.containers[id] = c
		s.changedLocked()
	}
	s.mu.Unlock()
	time.AfterFunc(provisionalFor, func() {
		if ct := s.get(id); ct != nil && ct.provisional {
			s.rereads.mark(ctx, id, nil)
		}
	})
}
