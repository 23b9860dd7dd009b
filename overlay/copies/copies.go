// Package copies keeps each engine's copy of every cluster network (docs/networks.md): a local network of driver
// swarmnet, named as the cluster network and naming it in its driver and IPAM options. Ensure and Remove act on
// one engine; a Keeper, on the primary manager, gives every healthy engine the copies it lacks (one that joined
// later, or was down at the create) and removes the copies of networks that are gone.
package copies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/docker/docker/api/types/network"

	"swarm/cluster"
	"swarm/overlay/agent"
	"swarm/overlay/netstate"
	"swarm/overlay/plugin"
)

// Request is the engine's network create for n's copy.
func Request(n *netstate.Network) network.CreateRequest {
	opts := map[string]string{agent.OptNetwork: n.ID}
	ipam := network.IPAMConfig{Subnet: n.Subnet, Gateway: n.Gateway, IPRange: n.IPRange}
	check := true // engines before API 1.44 allow two networks of one name unless asked
	return network.CreateRequest{Name: n.Name, CheckDuplicate: &check, CreateOptions: network.CreateOptions{
		Driver: plugin.Name, Internal: n.Internal, Attachable: true, Options: opts, Labels: n.Labels,
		IPAM: &network.IPAM{Driver: plugin.Name, Options: opts, Config: []network.IPAMConfig{ipam}},
	}}
}

// Of returns the cluster network ID nw stands for ("": nw is not a copy).
func Of(nw network.Inspect) string {
	if nw.Driver != plugin.Name {
		return ""
	}
	return nw.Options[agent.OptNetwork]
}

// Find returns e's copy of n, or nil.
func Find(e *cluster.Engine, n *netstate.Network) *network.Inspect {
	for _, nw := range e.Networks() {
		if Of(nw) == n.ID {
			return &nw
		}
	}
	return nil
}

// Ensure makes n's copy on e unless e has it. A local network of e holding n's name is a conflict.
func Ensure(ctx context.Context, e *cluster.Engine, n *netstate.Network) error {
	if Find(e, n) != nil {
		return nil
	}
	body, err := json.Marshal(Request(n))
	if err != nil {
		return err
	}
	call := cluster.Call{Method: http.MethodPost, Path: "/networks/create", Body: bytes.NewReader(body),
		Changes: cluster.Changes{Lists: cluster.Networks}}
	if err := e.Do(ctx, call, nil); err != nil {
		return fmt.Errorf("network %s on %s: %w", n.Name, e.Name(), err)
	}
	return nil
}

// Remove removes e's copy of the cluster network id, if e has one; e refuses while a container uses it.
func Remove(ctx context.Context, e *cluster.Engine, id string) error {
	for _, nw := range e.Networks() {
		if Of(nw) != id {
			continue
		}
		call := cluster.Call{Method: http.MethodDelete, Path: "/networks/" + url.PathEscape(nw.ID),
			Changes: cluster.Changes{Lists: cluster.Networks}}
		if err := e.Do(ctx, call, nil); err != nil && !isNotFound(err) {
			return fmt.Errorf("network %s on %s: %w", nw.Name, e.Name(), err)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var ee *cluster.EngineError
	return errors.As(err, &ee) && ee.Status == http.StatusNotFound
}
