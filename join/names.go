package join

import (
	"context"
	"log/slog"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"swarm/orchestrator"
	"swarm/overlay/agent"
)

// engineNamer is the agent's view of the engine beside it (overlay/agent.Engine).
type engineNamer struct {
	engine *client.Client
	log    *slog.Logger
}

var _ agent.Engine = engineNamer{}

// Names finds the endpoint among the engine network's containers, then reads the container's aliases there
// and its health.
func (n engineNamer) Names(ctx context.Context, engineNetwork, endpoint string) (agent.Naming, bool, error) {
	nw, err := n.engine.NetworkInspect(ctx, engineNetwork, network.InspectOptions{})
	if err != nil {
		return agent.Naming{}, false, err
	}
	for id, ep := range nw.Containers {
		if ep.EndpointID != endpoint {
			continue
		}
		ct, err := n.engine.ContainerInspect(ctx, id)
		if err != nil {
			return agent.Naming{}, false, err
		}
		var aliases []string
		if ct.NetworkSettings != nil && ct.NetworkSettings.Networks[nw.Name] != nil {
			for _, a := range ct.NetworkSettings.Networks[nw.Name].Aliases {
				if a != ct.Name && !strings.HasPrefix(id, a) { // the engine lists the short ID too
					aliases = append(aliases, a)
				}
			}
		}
		naming := agent.Naming{Container: strings.TrimPrefix(ct.Name, "/"), Aliases: aliases}
		if ct.Config != nil {
			naming.Service = ct.Config.Labels[orchestrator.LabelServiceName]
		}
		if ct.State != nil && ct.State.Health != nil && ct.State.Health.Status != container.NoHealthcheck {
			naming.Health = ct.State.Health.Status
		}
		return naming, true, nil
	}
	return agent.Naming{}, false, nil
}

// Endpoints lists the endpoint IDs the engine has on an engine network.
func (n engineNamer) Endpoints(ctx context.Context, engineNetwork string) (map[string]bool, error) {
	nw, err := n.engine.NetworkInspect(ctx, engineNetwork, network.InspectOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(nw.Containers))
	for _, ep := range nw.Containers {
		out[ep.EndpointID] = true
	}
	return out, nil
}
