// Package lease keeps the cluster's fixed container addresses in Consul KV, so one address is never given to two
// containers anywhere in the cluster, and parses the label that asks for one.
//
// Layout under the discovery prefix: <PREFIX>/pipework/leases/<IP> holds the holder as JSON and is created with
// check-and-set (index 0), so exactly one claim wins; <PREFIX>/pipework/pools/<NAME> holds a pool's range.
// A lease is released only by (or for) its holder: the delete is conditional on the index it was read at.
package lease

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Label is the container label that asks for a fixed address: "HOSTIF IP/LEN[@GW]" or "HOSTIF pool:NAME".
const Label = "com.docker.swarm.pipework"

// Holder is who holds an address.
type Holder struct {
	SwarmID string `json:"swarm_id"` // the container's swarm ID, stable across reschedules
	Name    string `json:"name,omitempty"`
}

// HeldError says an address is taken.
type HeldError struct {
	IP     string
	Holder Holder
}

func (e *HeldError) Error() string {
	who := e.Holder.Name
	if who == "" {
		who = e.Holder.SwarmID
	}
	return fmt.Sprintf("address %s is already held by container %s", e.IP, who)
}

// PoolError is a pool that does not exist or has no free address left.
type PoolError struct {
	Pool      string
	Exhausted bool // false: no such pool
}

func (e *PoolError) Error() string {
	if e.Exhausted {
		return fmt.Sprintf("pool %s has no free address left", e.Pool)
	}
	return fmt.Sprintf("no pool named %s (swarm pipework pool ls lists them)", e.Pool)
}

// Store reads and writes leases and pools.
type Store struct {
	kv     *api.KV
	prefix string // e.g. "swarm/pipework/"
}

// New returns a store under the discovery prefix (as given in consul://HOST:PORT/PREFIX).
func New(kv *api.KV, prefix string) *Store {
	p := strings.Trim(prefix, "/")
	if p != "" {
		p += "/"
	}
	return &Store{kv: kv, prefix: p + "pipework/"}
}

func (s *Store) leaseKey(ip net.IP) string { return s.prefix + "leases/" + ip.String() }

// Claim takes ip for h; a *HeldError says who has it already (claiming again for the same holder succeeds).
func (s *Store) Claim(ip net.IP, h Holder) error {
	val, _ := json.Marshal(h)
	ok, _, err := s.kv.CAS(&api.KVPair{Key: s.leaseKey(ip), Value: val, ModifyIndex: 0}, nil)
	if err != nil {
		return fmt.Errorf("claiming %s in Consul: %w", ip, err)
	}
	if ok {
		return nil
	}
	cur, _, err := s.kv.Get(s.leaseKey(ip), nil)
	if err != nil {
		return fmt.Errorf("reading the lease of %s: %w", ip, err)
	}
	if cur == nil {
		return s.Claim(ip, h) // released in between
	}
	var held Holder
	json.Unmarshal(cur.Value, &held)
	if held.SwarmID == h.SwarmID {
		return nil
	}
	return &HeldError{IP: ip.String(), Holder: held}
}

// Release frees ip if swarmID holds it; releasing what is not held (or held by another) changes nothing.
func (s *Store) Release(ip net.IP, swarmID string) error {
	cur, _, err := s.kv.Get(s.leaseKey(ip), nil)
	if err != nil || cur == nil {
		return err
	}
	var held Holder
	json.Unmarshal(cur.Value, &held)
	if held.SwarmID != swarmID {
		return nil
	}
	_, _, err = s.kv.DeleteCAS(&api.KVPair{Key: cur.Key, ModifyIndex: cur.ModifyIndex}, nil)
	return err
}

// Lease is one claimed address and its holder.
type Lease struct {
	IP     net.IP
	Holder Holder
}

// Leases lists every claimed address.
func (s *Store) Leases() ([]Lease, error) {
	pairs, _, err := s.kv.List(s.prefix+"leases/", nil)
	if err != nil {
		return nil, fmt.Errorf("listing the leases in Consul: %w", err)
	}
	var out []Lease
	for _, p := range pairs {
		var h Holder
		ip := net.ParseIP(strings.TrimPrefix(p.Key, s.prefix+"leases/"))
		if ip == nil || json.Unmarshal(p.Value, &h) != nil || h.SwarmID == "" {
			continue
		}
		out = append(out, Lease{IP: ip, Holder: h})
	}
	return out, nil
}

// Holder returns who holds ip (nil when free).
func (s *Store) Holder(ip net.IP) (*Holder, error) {
	cur, _, err := s.kv.Get(s.leaseKey(ip), nil)
	if err != nil || cur == nil {
		return nil, err
	}
	var h Holder
	return &h, json.Unmarshal(cur.Value, &h)
}

// ClaimFromPool claims the first free address of the named pool for h and returns it with the pool.
func (s *Store) ClaimFromPool(name string, h Holder) (net.IP, *Pool, error) {
	p, err := s.Pool(name)
	if err != nil {
		return nil, nil, err
	}
	for ip := p.first(); ip != nil && !after(ip, p.last()); ip = next(ip) {
		err := s.Claim(ip, h)
		var held *HeldError
		if errors.As(err, &held) {
			continue
		}
		return ip, p, err
	}
	return nil, nil, &PoolError{Pool: name, Exhausted: true}
}
