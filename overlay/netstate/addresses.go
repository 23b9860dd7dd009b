package netstate

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/docker/docker/errdefs"
	"github.com/hashicorp/consul/api"
)

// Holder is who claimed an address: a host (the IPAM driver of that host's engine asked for it, or the host's
// join for its own address on the network) or a service (its virtual IP).
type Holder struct {
	Host    string `json:"host"`              // the join's advertised address
	Service string `json:"service,omitempty"` // the service's ID (Host empty)
}

// String names the holder in messages.
func (h Holder) String() string {
	if h.Service != "" {
		return "service " + h.Service
	}
	return h.Host
}

func (s *Store) ipKey(id string, ip net.IP) string { return s.ipsDir(id) + ip.String() }

// ClaimAddress claims want (nil: the first free host address of the network's range, never its gateway) on
// network id for h and returns it. An address outside the subnet is an invalid parameter; one another host holds
// is a conflict; a network with no address left is unavailable.
func (s *Store) ClaimAddress(ctx context.Context, id string, want net.IP, h Holder) (net.IP, error) {
	n, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	_, subnet, _ := net.ParseCIDR(n.Subnet)
	if want != nil {
		if !usable(subnet, want) {
			return nil, errdefs.InvalidParameter(fmt.Errorf("address %s is outside the subnet %s of network %s", want, n.Subnet, n.Name))
		}
		return want.To4(), s.claim(ctx, n, want.To4(), h, true)
	}
	return s.claimAny(ctx, n, subnet, h)
}

// claim creates the address's key for h. With again, the key held by h already counts as claimed (an engine
// asking again for an address it was given, as one does for its endpoints when it restarts); without, the
// address must be free (two containers of one host asking for any address must not share one).
func (s *Store) claim(ctx context.Context, n *Network, ip net.IP, h Holder, again bool) error {
	if ip.Equal(net.ParseIP(n.Gateway)) {
		return errdefs.Conflict(fmt.Errorf("address %s is the gateway of network %s", ip, n.Name))
	}
	val, _ := json.Marshal(h)
	ok, _, err := s.kv.CAS(&api.KVPair{Key: s.ipKey(n.ID, ip), Value: val}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable("claiming "+ip.String(), err)
	}
	if ok {
		return nil
	}
	cur, _, err := s.kv.Get(s.ipKey(n.ID, ip), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable("reading the claim of "+ip.String(), err)
	}
	var held Holder
	if cur == nil {
		return s.claim(ctx, n, ip, h, again) // released in between
	}
	if json.Unmarshal(cur.Value, &held) == nil && held == h && again {
		return nil
	}
	return errdefs.Conflict(fmt.Errorf("Address already in use: %s on network %s is held by %s", ip, n.Name, held))
}

// claimAny claims the first free address of the network's range.
func (s *Store) claimAny(ctx context.Context, n *Network, subnet *net.IPNet, h Holder) (net.IP, error) {
	used, err := s.claimed(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	used[n.Gateway] = true
	span := subnet
	if n.IPRange != "" {
		_, span, _ = net.ParseCIDR(n.IPRange)
	}
	last := toU32(broadcast(span))
	for v := toU32(span.IP); v <= last && v != 0; v++ {
		ip := fromU32(v)
		if used[ip.String()] || !usable(subnet, ip) {
			continue
		}
		err := s.claim(ctx, n, ip, h, false)
		if err == nil {
			return ip, nil
		}
		if !errdefs.IsConflict(err) {
			return nil, err
		}
	}
	return nil, errdefs.Unavailable(fmt.Errorf("no available IPv4 addresses on this network's address pools: %s (%s)", n.Name, n.ID))
}

// claimed returns the addresses claimed on network id.
func (s *Store) claimed(ctx context.Context, id string) (map[string]bool, error) {
	keys, _, err := s.kv.Keys(s.ipsDir(id), "", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("listing the addresses in use", err)
	}
	out := make(map[string]bool, len(keys)+1)
	for _, k := range keys {
		out[strings.TrimPrefix(k, s.ipsDir(id))] = true
	}
	return out, nil
}

// ReleaseAddress frees ip on network id if h holds it; releasing what h does not hold changes nothing.
func (s *Store) ReleaseAddress(ctx context.Context, id string, ip net.IP, h Holder) error {
	cur, _, err := s.kv.Get(s.ipKey(id, ip), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable("reading the claim of "+ip.String(), err)
	}
	var held Holder
	if cur == nil || json.Unmarshal(cur.Value, &held) != nil || held != h {
		return nil
	}
	if _, _, err := s.kv.DeleteCAS(&api.KVPair{Key: cur.Key, ModifyIndex: cur.ModifyIndex}, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("releasing "+ip.String(), err)
	}
	return nil
}
