package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"swarm/cluster"
	"swarm/overlay/netstate"
)

// Networks are the cluster networks and what the routing mesh keeps of services (netstate.Store): Get finds a
// network by name or ID (not found is an errdefs not-found error); Create makes the ingress network; services'
// virtual IPs are addresses claimed for them; their records tell every host their addresses and ports.
type Networks interface {
	Get(ctx context.Context, ref string) (*netstate.Network, error)
	Create(ctx context.Context, spec netstate.Spec) (*netstate.Network, error)
	Remove(ctx context.Context, ref string) error
	ClaimAddress(ctx context.Context, id string, want net.IP, h netstate.Holder) (net.IP, error)
	ReleaseAddress(ctx context.Context, id string, ip net.IP, h netstate.Holder) error
	PutService(ctx context.Context, svc netstate.Service) error
	DeleteService(ctx context.Context, id string) error
	Services(ctx context.Context, wait uint64) ([]netstate.Service, uint64, error)
	ServiceAddresses(ctx context.Context) ([]netstate.ServiceAddress, error)
	DrainContainer(ctx context.Context, name string) (int, error)
}

// attachment is one of a task's networks as its engine knows it.
type attachment struct {
	name    string // the engine's network: a cluster network's copy has the cluster network's name
	aliases []string
	dns     string // a cluster network's gateway, where the host's join answers for every host; "" otherwise
}

// checkNetworks resolves spec's networks (the deprecated top-level list moved into the task template, as
// swarm does): a cluster network's target becomes its ID, as swarm stores it; any other must be a network of
// some engine (bridge, host, a local network), kept as given. Unknown or repeated networks are refused.
func (o *API) checkNetworks(ctx context.Context, spec *swarm.ServiceSpec) error {
	if len(spec.TaskTemplate.Networks) == 0 && len(spec.Networks) > 0 {
		spec.TaskTemplate.Networks = spec.Networks
	}
	spec.Networks = nil
	seen := map[string]bool{}
	for i, n := range spec.TaskTemplate.Networks {
		cn, err := o.clusterNetwork(ctx, n.Target)
		switch {
		case err != nil:
			return err
		case cn != nil:
			spec.TaskTemplate.Networks[i].Target = cn.ID
		case !o.engineNetwork(n.Target):
			return errdefs.InvalidParameter(fmt.Errorf("network %s not found", n.Target))
		}
		if t := spec.TaskTemplate.Networks[i].Target; seen[t] {
			return errdefs.InvalidParameter(fmt.Errorf("service cannot be attached to network %s more than once", n.Target))
		} else {
			seen[t] = true
		}
	}
	return nil
}

// clusterNetwork is the cluster network ref names, nil when it names none (or the manager has none).
func (o *shared) clusterNetwork(ctx context.Context, ref string) (*netstate.Network, error) {
	if o.cfg.Networks == nil {
		return nil, nil
	}
	cn, err := o.cfg.Networks.Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, errdefs.Unavailable(fmt.Errorf("reading network %s: %w", ref, err))
	}
	return cn, nil
}

// engineNetwork tells whether some engine has a network of that name or ID.
func (o *API) engineNetwork(ref string) bool {
	for _, e := range o.cl.Engines() {
		for _, nw := range e.Networks() {
			if nw.Name == ref || nw.ID == ref {
				return true
			}
		}
	}
	return false
}

// attachments are s's networks for a task's create, in the spec's order, then the ingress network when it
// publishes ports in ingress mode.
func (o *shared) attachments(ctx context.Context, s swarm.Service) ([]attachment, error) {
	var out []attachment
	for _, n := range s.Spec.TaskTemplate.Networks {
		a := attachment{name: n.Target, aliases: n.Aliases}
		cn, err := o.clusterNetwork(ctx, n.Target)
		if err != nil {
			return nil, err
		}
		if cn != nil {
			a.name, a.dns = cn.Name, cn.Gateway
		}
		out = append(out, a)
	}
	if len(ingressPorts(specPorts(s.Spec))) > 0 {
		in, err := o.ingress(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, attachment{name: in.Name, dns: in.Gateway})
	}
	return out, nil
}

// firstDNS is the DNS server of the first cluster network among nets, "" when there is none.
func firstDNS(nets []attachment) string {
	for _, a := range nets {
		if a.dns != "" {
			return a.dns
		}
	}
	return ""
}

// connectRest connects a created task container to its networks beyond the first (an engine's create takes
// one), before it starts.
func connectRest(ctx context.Context, e *cluster.Engine, id string, nets []attachment) error {
	for _, a := range nets[min(1, len(nets)):] {
		body, err := json.Marshal(network.ConnectOptions{Container: id, EndpointConfig: &network.EndpointSettings{Aliases: a.aliases}})
		if err != nil {
			return err
		}
		call := cluster.Call{Method: http.MethodPost, Path: "/networks/" + url.PathEscape(a.name) + "/connect",
			Body: bytes.NewReader(body), Changes: cluster.Changes{Container: id}}
		if err := e.Do(ctx, call, nil); err != nil {
			return fmt.Errorf("connecting to network %s: %w", a.name, err)
		}
	}
	return nil
}
