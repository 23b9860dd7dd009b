package scheduler

import (
	"fmt"

	"github.com/docker/go-connections/nat"
)

// portFilter rejects nodes where a requested host port is already taken: bound or published by any container
// (running or stopped, as a stopped container keeps its binding) or by a placement in flight; in host network
// mode, exposed by another host-mode container. Bindings clash on the same IP or when either binds all IPs.
type portFilter struct{}

func (portFilter) applies(r *request) bool { return r.hostMode || len(r.ports) > 0 }

func (portFilter) check(r *request, n *nodeView) string {
	if r.hostMode {
		return hostModeClash(r, n)
	}
	for _, want := range r.ports {
		taken := n.index().portTaken(want.port, want.proto, want.ip)
		n.eachPending(func(c *Container) bool {
			bindings(c, func(p nat.Port, b nat.PortBinding) bool {
				taken = b.HostPort == want.port && p.Proto() == want.proto && ipClash(b.HostIP, want.ip)
				return !taken
			})
			return !taken
		})
		if taken {
			return fmt.Sprintf("port %s in use on %%s", escape(want.port))
		}
	}
	return ""
}

func hostModeClash(r *request, n *nodeView) string {
	for p := range r.Config.ExposedPorts {
		taken := n.index().hostExposed[p]
		n.eachPending(func(c *Container) bool {
			if c.HostConfig != nil && c.HostConfig.NetworkMode == "host" && c.Config != nil {
				_, taken = c.Config.ExposedPorts[p]
			}
			return !taken
		})
		if taken {
			return fmt.Sprintf("port %s in use on %%s", escape(p.Port()))
		}
	}
	return ""
}

func anyIP(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

func ipClash(a, b string) bool { return a == b || anyIP(a) || anyIP(b) }
