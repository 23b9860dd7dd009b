package lease

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Pool is a range of addresses of one subnet, handed out in order.
type Pool struct {
	Name    string `json:"name"`
	Subnet  string `json:"subnet"`            // e.g. 192.168.116.0/24
	First   string `json:"first"`             // first address handed out
	Last    string `json:"last"`              // last address handed out
	Gateway string `json:"gateway,omitempty"` // given to containers as @GW
}

// ParsePool reads "SUBNET FIRST-LAST[@GW]", e.g. "10.99.0.0/24 10.99.0.200-10.99.0.250@10.99.0.1".
func ParsePool(name, subnet, span string) (*Pool, error) {
	p := &Pool{Name: name, Subnet: subnet}
	if name == "" || strings.ContainsAny(name, "/ ") {
		return nil, fmt.Errorf("invalid pool name %q: use letters, digits, - and _", name)
	}
	_, n, err := net.ParseCIDR(subnet)
	if err != nil {
		return nil, fmt.Errorf("invalid pool subnet %q: use ADDRESS/LEN", subnet)
	}
	span, p.Gateway, _ = strings.Cut(span, "@")
	first, last, ok := strings.Cut(span, "-")
	a, b := net.ParseIP(first), net.ParseIP(last)
	if !ok || a == nil || b == nil || !n.Contains(a) || !n.Contains(b) || after(a, b) {
		return nil, fmt.Errorf("invalid pool range %q: use FIRST-LAST inside %s", span, subnet)
	}
	if p.Gateway != "" && net.ParseIP(p.Gateway) == nil {
		return nil, fmt.Errorf("invalid pool gateway %q", p.Gateway)
	}
	p.First, p.Last = a.String(), b.String()
	return p, nil
}

// Spec renders the address part of a pipework command for ip: IP/LEN[@GW].
func (p *Pool) Spec(ip net.IP) string {
	_, n, _ := net.ParseCIDR(p.Subnet)
	ones, _ := n.Mask.Size()
	s := fmt.Sprintf("%s/%d", ip, ones)
	if p.Gateway != "" {
		s += "@" + p.Gateway
	}
	return s
}

func (p *Pool) first() net.IP { return norm(net.ParseIP(p.First)) }
func (p *Pool) last() net.IP  { return norm(net.ParseIP(p.Last)) }

func (s *Store) poolKey(name string) string { return s.prefix + "pools/" + name }

// AddPool stores a pool; an existing pool of that name is refused.
func (s *Store) AddPool(p *Pool) error {
	val, _ := json.Marshal(p)
	ok, _, err := s.kv.CAS(&api.KVPair{Key: s.poolKey(p.Name), Value: val}, nil)
	if err != nil {
		return fmt.Errorf("storing pool %s in Consul: %w", p.Name, err)
	}
	if !ok {
		return fmt.Errorf("pool %s already exists", p.Name)
	}
	return nil
}

// Pool reads one pool.
func (s *Store) Pool(name string) (*Pool, error) {
	kv, _, err := s.kv.Get(s.poolKey(name), nil)
	if err != nil {
		return nil, fmt.Errorf("reading pool %s from Consul: %w", name, err)
	}
	if kv == nil {
		return nil, &PoolError{Pool: name}
	}
	var p Pool
	if err := json.Unmarshal(kv.Value, &p); err != nil {
		return nil, fmt.Errorf("pool %s: %w", name, err)
	}
	return &p, nil
}

// Pools lists every pool, by name.
func (s *Store) Pools() ([]*Pool, error) {
	kvs, _, err := s.kv.List(s.prefix+"pools/", nil)
	if err != nil {
		return nil, fmt.Errorf("listing pools in Consul: %w", err)
	}
	var out []*Pool
	for _, kv := range kvs {
		var p Pool
		if json.Unmarshal(kv.Value, &p) == nil {
			out = append(out, &p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// RemovePool deletes a pool (its leases stay until their containers go).
func (s *Store) RemovePool(name string) error {
	if _, err := s.Pool(name); err != nil {
		return err
	}
	_, err := s.kv.Delete(s.poolKey(name), nil)
	return err
}

func norm(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

func after(a, b net.IP) bool { return bytes.Compare(norm(a), norm(b)) > 0 }

func next(ip net.IP) net.IP {
	out := append(net.IP(nil), norm(ip)...)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			return out
		}
	}
	return nil
}
