package netstate

import (
	"context"
	"encoding/json"
	"net"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Service is what every host needs of a service to answer its name and spread its connections (the routing
// mesh): written by the primary manager at each change of the service, read by every join.
type Service struct {
	ID    string            `json:"id"`
	Name  string            `json:"name"`
	Mode  string            `json:"mode"`            // "vip" or "dnsrr" (swarm's endpoint modes)
	VIPs  map[string]string `json:"vips,omitempty"`  // cluster network ID -> the service's virtual IP there
	Ports []Port            `json:"ports,omitempty"` // published in ingress mode
}

// Port is a port published in ingress mode: every host's Published reaches the tasks' Target.
type Port struct {
	Protocol  string `json:"protocol"` // tcp, udp
	Target    uint16 `json:"target"`
	Published uint16 `json:"published"`
}

// ServiceModeDNSRR is the endpoint mode in which a service has no virtual IP: its name answers with its tasks.
const ServiceModeDNSRR = "dnsrr"

// IngressName is the network tasks of services with ingress-published ports are attached to, as in swarm.
const IngressName = "ingress"

func (s *Store) servicesDir() string         { return s.prefix + "services/" }
func (s *Store) serviceKey(id string) string { return s.servicesDir() + id }

// PutService writes svc's record (replacing the earlier one).
func (s *Store) PutService(ctx context.Context, svc Service) error {
	val, _ := json.Marshal(svc)
	if _, err := s.kv.Put(&api.KVPair{Key: s.serviceKey(svc.ID), Value: val}, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("writing service "+svc.Name, err)
	}
	return nil
}

// DeleteService removes service id's record; removing one that is not there changes nothing.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	if _, err := s.kv.Delete(s.serviceKey(id), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("removing service "+id, err)
	}
	return nil
}

// Services returns every service record and the index they were read at; wait > 0 makes it a blocking query
// (as Endpoints).
func (s *Store) Services(ctx context.Context, wait uint64) ([]Service, uint64, error) {
	pairs, meta, err := s.kv.List(s.servicesDir(), (&api.QueryOptions{WaitIndex: wait}).WithContext(ctx))
	if err != nil {
		return nil, 0, unavailable("reading the services", err)
	}
	out := make([]Service, 0, len(pairs))
	for _, kv := range pairs {
		var svc Service
		if json.Unmarshal(kv.Value, &svc) == nil && svc.ID != "" {
			out = append(out, svc)
		}
	}
	return out, meta.LastIndex, nil
}

// ServiceAddress is an address a service holds (its virtual IP on a network).
type ServiceAddress struct {
	Service, Network string
	IP               net.IP
}

// ServiceAddresses lists every address held by a service, on every network.
func (s *Store) ServiceAddresses(ctx context.Context) ([]ServiceAddress, error) {
	pairs, _, err := s.kv.List(s.prefix+"ips/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("reading the addresses in use", err)
	}
	var out []ServiceAddress
	for _, kv := range pairs {
		var h Holder
		rest := strings.TrimPrefix(kv.Key, s.prefix+"ips/")
		network, ip, ok := strings.Cut(rest, "/")
		if !ok || json.Unmarshal(kv.Value, &h) != nil || h.Service == "" || net.ParseIP(ip) == nil {
			continue
		}
		out = append(out, ServiceAddress{Service: h.Service, Network: network, IP: net.ParseIP(ip)})
	}
	return out, nil
}
