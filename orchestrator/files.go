package orchestrator

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"swarm/cluster"
	"swarm/secrets"
)

// Secrets checks a service's secrets and configs and opens them for its tasks (secrets.API).
type Secrets interface {
	// CheckRefs validates the references of a container spec and fills what a client may leave out.
	CheckRefs(cs *swarm.ContainerSpec) error
	// Files are what a task of cs gets: each secret and config, opened, with its path, owner and mode.
	Files(cs *swarm.ContainerSpec) ([]secrets.File, error)
}

func usesFiles(cs *swarm.ContainerSpec) bool { return len(cs.Secrets)+len(cs.Configs) > 0 }

// checkFiles validates a service's secrets and configs at create and update.
func (o *API) checkFiles(cs *swarm.ContainerSpec) error {
	if !usesFiles(cs) {
		return nil
	}
	if o.cfg.Secrets == nil {
		return errdefs.InvalidParameter(fmt.Errorf("this manager keeps no secrets or configs"))
	}
	if cs.ReadOnly {
		return errdefs.InvalidParameter(fmt.Errorf("a read-only root filesystem (read_only) cannot receive secrets or configs on this " +
			"cluster: they are written into the task's container before it starts"))
	}
	return o.cfg.Secrets.CheckRefs(cs)
}

// giveFiles copies a task's secrets and configs into its created container, before it starts: they are in
// no request the engine logs or shows (inspect, events), only in the container's files.
func (o *reconciler) giveFiles(ctx context.Context, s swarm.Service, e *cluster.Engine, id string) error {
	cs := s.Spec.TaskTemplate.ContainerSpec
	if !usesFiles(cs) || o.cfg.Secrets == nil {
		return nil
	}
	files, err := o.cfg.Secrets.Files(cs)
	if err != nil {
		return err
	}
	body, err := secrets.Archive(files)
	if err != nil {
		return err
	}
	call := cluster.Call{Method: http.MethodPut, Path: "/containers/" + id + "/archive", Query: "path=%2F",
		Header: http.Header{"Content-Type": {"application/x-tar"}}, Body: bytes.NewReader(body), Size: int64(len(body))}
	if err := e.Do(ctx, call, nil); err != nil {
		return fmt.Errorf("giving the task its secrets and configs: %w", err)
	}
	return nil
}
