package cluster

import (
	"context"

	"github.com/docker/docker/errdefs"

	"swarm/scheduler"
)

// PlaceBuild picks the engine for a build from its build args (constraint:..., affinity:...); done releases
// the placement once the build is over.
func (c *Cluster) PlaceBuild(ctx context.Context, buildArgs map[string]*string) (*Engine, func(), error) {
	req, err := scheduler.RequestFromBuildArgs(buildArgs)
	if err != nil {
		return nil, nil, errdefs.InvalidParameter(err)
	}
	p, err := c.placer.place(req)
	if err != nil {
		return nil, nil, err
	}
	e := c.placer.engineFor(p.Node)
	if e == nil {
		p.Done()
		return nil, nil, errdefs.Unavailable(errNodeLeft)
	}
	return e, p.Done, nil
}

const errNodeLeft = errString("the chosen node left the cluster; try again")
