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
func (e *Engine) putCreated(ctx context.Context, id, name string, cr *container.CreateRequest, ncpu int64) {
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
	s := summaryOf(info)
	if name == "" {
		s.Names = nil // the engine's choice, known at the re-read
	}
	c := e.newContainer(s, info, now, e.ncpu())
	c.provisional = true
	e.mu.Lock()
	_, known := e.containers[id]
	_, removed := e.removed[id]
	if !known && !removed {
		e.containers[id] = c
		e.changed()
	}
	e.mu.Unlock()
	time.AfterFunc(provisionalFor, func() {
		if ct := e.byID(id); ct != nil && ct.provisional {
			e.markDirty(ctx, id, nil)
		}
	})
}

// lifeCtx is the engine's own context, for work that outlives the request that caused it and must end when the
// engine leaves; an engine that was never run gets the request's context without its cancellation.
func (e *Engine) lifeCtx(req context.Context) context.Context {
	if e.ctx != nil {
		return e.ctx
	}
	return context.WithoutCancel(req)
}
