package join

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"

	"swarm/discovery"
)

// ServiceName is the Consul service every joined engine is registered under.
const ServiceName = "swarm-node"

// service keeps the engine's Consul service and its TTL check (nil-safe: a no-op without Consul).
type service struct {
	client *api.Client
	id     string
	reg    *api.AgentServiceRegistration
	log    *slog.Logger
}

func newService(b discovery.Backend, cfg Config, log *slog.Logger) *service {
	cb, ok := b.(interface {
		Client() *api.Client
		Dir() string
	})
	if !ok {
		return nil
	}
	host, port, _ := net.SplitHostPort(cfg.Advertise)
	p, _ := strconv.Atoi(port)
	id := ServiceName + "-" + strings.NewReplacer(":", "-", ".", "-").Replace(cfg.Advertise)
	prefix := strings.TrimSuffix(cb.Dir(), "/")
	return &service{client: cb.Client(), id: id, log: log, reg: &api.AgentServiceRegistration{
		ID: id, Name: ServiceName, Address: host, Port: p,
		Tags: []string{"engine=" + cfg.Advertise, "swarm-nodes=" + prefix},
		Meta: map[string]string{"engine": cfg.Advertise, "swarm_nodes": prefix},
		Check: &api.AgentServiceCheck{CheckID: "service:" + id, Name: "swarm join heartbeat", TTL: cfg.TTL.String(),
			DeregisterCriticalServiceAfter: "1m", Notes: "passed by swarm join every heartbeat"},
	}}
}

// pass passes the check, registering the service first when the agent does not know it.
func (s *service) pass(ctx context.Context) {
	if s == nil {
		return
	}
	agent := s.client.Agent()
	if err := agent.UpdateTTLOpts("service:"+s.id, "engine registered", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx)); err == nil {
		return
	}
	if err := agent.ServiceRegisterOpts(s.reg, api.ServiceRegisterOpts{}.WithContext(ctx)); err != nil {
		s.log.Debug("cannot register the Consul service", "err", err)
		return
	}
	agent.UpdateTTLOpts("service:"+s.id, "engine registered", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx))
}

func (s *service) deregister() {
	if s != nil {
		s.client.Agent().ServiceDeregister(s.id)
	}
}
