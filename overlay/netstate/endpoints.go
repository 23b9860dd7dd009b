package netstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Endpoint is one container's attachment to a cluster network, as the host that holds it published it.
type Endpoint struct {
	Network   string   `json:"network"` // cluster network ID
	ID        string   `json:"id"`      // the engine's endpoint ID
	Host      string   `json:"host"`    // the join's advertised address
	VTEP      string   `json:"vtep"`    // the host's VXLAN address
	IP        string   `json:"ip"`
	MAC       string   `json:"mac"`
	Container string   `json:"container,omitempty"`
	Aliases   []string `json:"aliases,omitempty"`
	Service   string   `json:"service,omitempty"`  // the service the container is a task of
	Draining  bool     `json:"draining,omitempty"` // the task is being stopped: the mesh sends it nothing new
	// Unhealthy: the container has a health check that has not passed (yet, or any more); a task is then left
	// out of the mesh and of its service's names, as a draining one. A container without a check never is.
	Unhealthy bool `json:"unhealthy,omitempty"`
}

func (s *Store) endpointKey(e Endpoint) string {
	return s.endpointsDir(e.Network) + e.Host + "/" + e.ID
}

// PutEndpoint publishes e (replacing the same endpoint's earlier record).
func (s *Store) PutEndpoint(ctx context.Context, e Endpoint) error {
	val, _ := json.Marshal(e)
	if _, err := s.kv.Put(&api.KVPair{Key: s.endpointKey(e), Value: val}, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("publishing endpoint "+e.ID, err)
	}
	return nil
}

// NameEndpoint replaces e's record with e (its container's name and aliases learnt) only while the record is
// there: an endpoint withdrawn meanwhile stays withdrawn. It reports whether it wrote.
func (s *Store) NameEndpoint(ctx context.Context, e Endpoint) (bool, error) {
	val, _ := json.Marshal(e)
	return s.rewriteEndpoint(ctx, e, "naming", func([]byte) ([]byte, bool, error) { return val, true, nil })
}

// SetUnhealthy sets the Unhealthy flag in the record of e (its Network, Host and ID) and changes nothing else
// there: Draining, written by the primary manager, and any field this version does not know are kept. An
// endpoint withdrawn meanwhile stays withdrawn. It reports whether it wrote (false: no record, or it says so
// already).
func (s *Store) SetUnhealthy(ctx context.Context, e Endpoint, unhealthy bool) (bool, error) {
	return s.rewriteEndpoint(ctx, e, "setting the health of", func(cur []byte) ([]byte, bool, error) {
		return withUnhealthy(cur, unhealthy)
	})
}

// rewriteEndpoint writes what change makes of e's stored record, with a check-and-set, again on the newer
// record when another write came between; a record that is not there is left so. It reports whether it wrote
// (change may decline: write false).
func (s *Store) rewriteEndpoint(ctx context.Context, e Endpoint, what string, change func(cur []byte) ([]byte, bool, error)) (bool, error) {
	for {
		cur, _, err := s.kv.Get(s.endpointKey(e), (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return false, unavailable("reading endpoint "+e.ID, err)
		}
		if cur == nil {
			return false, nil
		}
		val, write, err := change(cur.Value)
		if err != nil || !write {
			return false, err
		}
		ok, _, err := s.kv.CAS(&api.KVPair{Key: cur.Key, Value: val, ModifyIndex: cur.ModifyIndex}, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return false, unavailable(what+" endpoint "+e.ID, err)
		}
		if ok {
			return true, nil
		}
	}
}

// withUnhealthy is the record val with its "unhealthy" field set (absent when false, as Endpoint writes it),
// every other field as it was; changed is false when val says so already.
func withUnhealthy(val []byte, unhealthy bool) (out []byte, changed bool, err error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(val, &fields); err != nil {
		return nil, false, fmt.Errorf("an endpoint's record is not JSON: %w", err)
	}
	var was bool
	json.Unmarshal(fields["unhealthy"], &was)
	if was == unhealthy {
		return nil, false, nil
	}
	delete(fields, "unhealthy")
	if unhealthy {
		fields["unhealthy"] = json.RawMessage("true")
	}
	out, err = json.Marshal(fields)
	return out, true, err
}

// DeleteEndpoint withdraws e (its Network, Host and ID); withdrawing one that is not there changes nothing.
func (s *Store) DeleteEndpoint(ctx context.Context, e Endpoint) error {
	if _, err := s.kv.Delete(s.endpointKey(e), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("withdrawing endpoint "+e.ID, err)
	}
	return nil
}

// Endpoints returns every endpoint of every network and the index they were read at. With wait > 0 it is a
// blocking query: it returns once the endpoints may have changed after index wait, or after Consul's wait time
// (Consul may wake it early with the same endpoints: a watcher loops on the index it gets back).
func (s *Store) Endpoints(ctx context.Context, wait uint64) ([]Endpoint, uint64, error) {
	pairs, meta, err := s.kv.List(s.prefix+"endpoints/", (&api.QueryOptions{WaitIndex: wait}).WithContext(ctx))
	if err != nil {
		return nil, 0, unavailable("reading the endpoints", err)
	}
	return decodeEndpoints(pairs), meta.LastIndex, nil
}

func (s *Store) endpointsOf(ctx context.Context, id string) ([]Endpoint, error) {
	pairs, _, err := s.kv.List(s.endpointsDir(id), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("reading the endpoints", err)
	}
	return decodeEndpoints(pairs), nil
}

func decodeEndpoints(pairs api.KVPairs) []Endpoint {
	out := make([]Endpoint, 0, len(pairs))
	for _, kv := range pairs {
		var e Endpoint
		if json.Unmarshal(kv.Value, &e) == nil && e.ID != "" {
			out = append(out, e)
		}
	}
	return out
}

// PurgeHost removes what host left behind on every network: its endpoints, address claims and attachments. The primary
// manager calls it for a host gone from discovery for longer than its TTL.
func (s *Store) PurgeHost(ctx context.Context, host string) error {
	pairs, _, err := s.kv.List(s.prefix, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable("reading the networks' state", err)
	}
	if _, err := s.kv.DeleteTree(s.attachDir(host), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("removing the engine networks of "+host, err)
	}
	for _, kv := range pairs {
		if !s.heldBy(kv, host) {
			continue
		}
		if _, _, err := s.kv.DeleteCAS(&api.KVPair{Key: kv.Key, ModifyIndex: kv.ModifyIndex}, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
			return unavailable("removing "+kv.Key, err)
		}
	}
	return nil
}

// heldBy tells whether kv is an endpoint or an address claim of host.
func (s *Store) heldBy(kv *api.KVPair, host string) bool {
	rest := strings.TrimPrefix(kv.Key, s.prefix)
	return (strings.HasPrefix(rest, "endpoints/") || strings.HasPrefix(rest, "ips/")) && s.holder(kv) == host
}

// Hosts returns every host that holds something on the networks: an endpoint, an address or an engine network.
func (s *Store) Hosts(ctx context.Context) (map[string]bool, error) {
	pairs, _, err := s.kv.List(s.prefix, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("reading the networks' state", err)
	}
	out := map[string]bool{}
	for _, kv := range pairs {
		if h := s.holder(kv); h != "" {
			out[h] = true
		}
	}
	return out, nil
}

// holder is the host kv belongs to ("": none).
func (s *Store) holder(kv *api.KVPair) string {
	rest := strings.TrimPrefix(kv.Key, s.prefix)
	switch {
	case strings.HasPrefix(rest, "endpoints/"):
		var e Endpoint
		json.Unmarshal(kv.Value, &e)
		return e.Host
	case strings.HasPrefix(rest, "ips/"):
		var h Holder
		json.Unmarshal(kv.Value, &h)
		return h.Host
	case strings.HasPrefix(rest, "attach/"):
		host, _, _ := strings.Cut(strings.TrimPrefix(rest, "attach/"), "/")
		return host
	}
	return ""
}

// DrainContainer marks the endpoints of container name (a task being stopped) as draining, so every host's mesh
// stops sending it new connections; it returns how many it marked.
func (s *Store) DrainContainer(ctx context.Context, name string) (int, error) {
	pairs, _, err := s.kv.List(s.prefix+"endpoints/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return 0, unavailable("reading the endpoints", err)
	}
	marked := 0
	for _, kv := range pairs {
		var e Endpoint
		if json.Unmarshal(kv.Value, &e) != nil || e.Container != name || e.Draining {
			continue
		}
		e.Draining = true
		val, _ := json.Marshal(e)
		ok, _, err := s.kv.CAS(&api.KVPair{Key: kv.Key, Value: val, ModifyIndex: kv.ModifyIndex}, (&api.WriteOptions{}).WithContext(ctx))
		if err != nil {
			return marked, unavailable("draining endpoint "+e.ID, err)
		}
		if ok {
			marked++
		}
	}
	return marked, nil
}
