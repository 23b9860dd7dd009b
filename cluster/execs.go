package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
)

// CreateExec creates an exec instance in ct on its engine, from a client's request body at the client's API
// version, and remembers where it lives.
func (c *Cluster) CreateExec(ctx context.Context, ct *Container, version string, body []byte) (container.ExecCreateResponse, error) {
	var out container.ExecCreateResponse
	e := ct.Engine
	call := Call{Method: http.MethodPost, Path: "/containers/" + ct.ID + "/exec", Version: version, Body: bytes.NewReader(body)}
	if err := e.Do(ctx, call, &out); err != nil {
		return out, err
	}
	e.store.recordExec(out.ID, ct.ID)
	e.kept.forget(ct.ID) // its inspect lists the exec
	return out, nil
}

// ExecEngine finds the engine running an exec instance: from what this manager recorded at exec create, else
// by asking the healthy engines (an exec created through another manager, or before a restart).
func (c *Cluster) ExecEngine(ctx context.Context, execID string) (*Engine, error) {
	engines := c.Engines()
	for _, e := range engines {
		if e.store.hasExec(execID) {
			return e, nil
		}
	}
	for _, r := range FanOut(ctx, Healthy(engines), func(ctx context.Context, e *Engine) (string, error) {
		in, err := e.conn.client.ContainerExecInspect(ctx, execID)
		return in.ContainerID, e.conn.typed(err)
	}) {
		if r.Err == nil {
			r.Engine.store.recordExec(execID, r.Value)
			return r.Engine, nil
		}
	}
	return nil, errdefs.NotFound(fmt.Errorf("No such exec instance: %s", execID))
}
