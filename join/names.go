package join

import (
	"context"
	"strings"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// engineNamer is the agent's view of the engine beside it (overlay/agent.Engine).
type engineNamer struct{ engine *client.Client }

// Names finds the endpoint among the engine network's containers, then reads the container's aliases there.
func (n engineNamer) Names(ctx context.Context, engineNetwork, endpoint string) (string, []string, bool, error) {
	nw, err := n.engine.NetworkInspect(ctx, engineNetwork, network.InspectOptions{})
	if err != nil {
		return "", nil, false, err
	}
	for id, ep := range nw.Containers {
		if ep.EndpointID != endpoint {
			continue
		}
		ct, err := n.engine.ContainerInspect(ctx, id)
		if err != nil {
			return "", nil, false, err
		}
		var aliases []string
		if ct.NetworkSettings != nil && ct.NetworkSettings.Networks[nw.Name] != nil {
			for _, a := range ct.NetworkSettings.Networks[nw.Name].Aliases {
				if a != ct.Name && !strings.HasPrefix(id, a) { // the engine lists the short ID too
					aliases = append(aliases, a)
				}
			}
		}
		return strings.TrimPrefix(ct.Name, "/"), aliases, true, nil
	}
	return "", nil, false, nil
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
