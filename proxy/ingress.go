package proxy

import (
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
	"github.com/docker/go-connections/nat"
)

// freeOfIngress refuses a container create that binds a host port a service publishes in ingress mode: the
// routing mesh holds that port on every node. The engine's own message comes first.
func (c *containerAPI) freeOfIngress(body []byte) error {
	if c.svcs == nil {
		return nil
	}
	var req struct {
		HostConfig *struct{ PortBindings nat.PortMap }
	}
	if json.Unmarshal(body, &req) != nil || req.HostConfig == nil || len(req.HostConfig.PortBindings) == 0 {
		return nil
	}
	svcs, err := c.svcs.Services(filters.NewArgs(), false)
	if err != nil {
		return err
	}
	for port, bindings := range req.HostConfig.PortBindings {
		for _, b := range bindings {
			if s := ingressHolder(svcs, port.Proto(), b.HostPort); s != nil {
				return errdefs.Conflict(fmt.Errorf("Bind for 0.0.0.0:%s failed: port is already allocated (service %s publishes it "+
					"in ingress mode, on every node)", b.HostPort, s.Spec.Name))
			}
		}
	}
	return nil
}

// ingressHolder is the service publishing port (as text) in ingress mode for proto, nil when none does.
func ingressHolder(svcs []swarm.Service, proto, port string) *swarm.Service {
	for i, s := range svcs {
		for _, p := range s.Endpoint.Ports {
			if p.PublishMode == swarm.PortConfigPublishModeIngress && string(p.Protocol) == proto && fmt.Sprint(p.PublishedPort) == port {
				return &svcs[i]
			}
		}
	}
	return nil
}
