package netstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/errdefs"
	"github.com/hashicorp/consul/api"

	"swarm/internal/backoff"
)

// Config sets where new networks' subnets come from.
type Config struct {
	Pool *net.IPNet // default 10.0.0.0/8
	Size int        // prefix length of a pool subnet; default 24
}

// DefaultPool is where networks created without --subnet take theirs, in /24s.
const DefaultPool = "10.0.0.0/8"

// Store reads and writes the cluster networks of one discovery prefix.
type Store struct {
	kv     *api.KV
	txn    *api.Txn
	prefix string // "<PREFIX>/networks/"
	pool   *net.IPNet
	size   int
}

// New returns the store of the discovery prefix (as in consul://HOST:PORT/PREFIX).
func New(client *api.Client, prefix string, cfg Config) (*Store, error) {
	if cfg.Pool == nil {
		_, cfg.Pool, _ = net.ParseCIDR(DefaultPool)
	}
	if cfg.Size == 0 {
		cfg.Size = 24
	}
	if ones, _ := cfg.Pool.Mask.Size(); cfg.Pool.IP.To4() == nil || cfg.Size < ones || cfg.Size > 29 {
		return nil, fmt.Errorf("invalid network pool %s with /%d subnets: an IPv4 pool holding subnets of /%d to /29", cfg.Pool, cfg.Size, ones)
	}
	p := strings.Trim(prefix, "/")
	if p != "" {
		p += "/"
	}
	return &Store{kv: client.KV(), txn: client.Txn(), prefix: p + "networks/", pool: cfg.Pool, size: cfg.Size}, nil
}

func (s *Store) netKey(id string) string    { return s.prefix + "nets/" + id }
func (s *Store) nameKey(name string) string { return s.prefix + "names/" + name }
func (s *Store) vniKey(vni uint32) string {
	return s.prefix + "vnis/" + strconv.FormatUint(uint64(vni), 10)
}
func (s *Store) genKey() string                { return s.prefix + "gen" }
func (s *Store) ipsDir(id string) string       { return s.prefix + "ips/" + id + "/" }
func (s *Store) endpointsDir(id string) string { return s.prefix + "endpoints/" + id + "/" }
func (s *Store) removedKey(id string) string   { return s.prefix + "removed/" + id }

// createAttempts bounds the retries of a create that lost a race with another one (each race has one winner;
// the losers read again after a short random pause).
const createAttempts = 50

// Create records a new network: its name, VNI and subnet each unique in the cluster. A name in use or an
// overlapping subnet is a conflict naming the other network; bad input is an invalid parameter.
func (s *Store) Create(ctx context.Context, spec Spec) (*Network, error) {
	p, err := parse(spec)
	if err != nil {
		return nil, err
	}
	pause := backoff.Delay{Min: 5 * time.Millisecond, Max: 200 * time.Millisecond, Jitter: true}
	for range createAttempts {
		n, done, err := s.tryCreate(ctx, p)
		if done || err != nil {
			return n, err
		}
		if !pause.Wait(ctx) {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("creating network %s: too many concurrent creates, try again", spec.Name)
}

// tryCreate makes one attempt; done false means another create won the generation key: read again.
func (s *Store) tryCreate(ctx context.Context, p *parsed) (*Network, bool, error) {
	gen, _, err := s.kv.Get(s.genKey(), (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		return nil, false, unavailable("reading the networks", err)
	}
	genIndex := uint64(0)
	if gen != nil {
		genIndex = gen.ModifyIndex
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, false, err
	}
	n, err := s.choose(p, all)
	if err != nil {
		return nil, false, err
	}
	val, _ := json.Marshal(n)
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.genKey(), Value: []byte(n.ID), Index: genIndex}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.nameKey(n.Name), Value: []byte(n.ID), Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.vniKey(n.VNI), Value: []byte(n.ID), Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: s.netKey(n.ID), Value: val}},
	}
	ok, _, _, err := s.txn.Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, false, unavailable("writing network "+n.Name, err)
	}
	return n, ok, nil
}

// choose checks p against the networks there are and picks its subnet and VNI.
func (s *Store) choose(p *parsed, all []*Network) (*Network, error) {
	var taken []*net.IPNet
	vnis := map[uint32]bool{}
	for _, o := range all {
		if o.Name == p.spec.Name {
			return nil, errdefs.Conflict(fmt.Errorf("network with name %s already exists", o.Name))
		}
		_, sn, err := net.ParseCIDR(o.Subnet)
		if err == nil {
			if p.subnet != nil && overlaps(p.subnet, sn) {
				return nil, errdefs.Conflict(fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space: subnet %s of network %s", o.Subnet, o.Name))
			}
			taken = append(taken, sn)
		}
		vnis[o.VNI] = true
	}
	subnet := p.subnet
	if subnet == nil {
		if subnet = freeSubnet(s.pool, s.size, taken); subnet == nil {
			return nil, errdefs.Unavailable(fmt.Errorf("no free /%d subnet left in the network pool %s: give one with --subnet", s.size, s.pool))
		}
	}
	vni := p.vni
	if vni != 0 && vnis[vni] {
		return nil, errdefs.Conflict(fmt.Errorf("VXLAN ID %d is in use by another network", vni))
	}
	for v := uint32(minVNI); vni == 0 && v <= maxVNI; v++ {
		if !vnis[v] {
			vni = v
		}
	}
	return p.network(subnet, vni), nil
}

// List returns every network, by name.
func (s *Store) List(ctx context.Context) ([]*Network, error) {
	pairs, _, err := s.kv.List(s.prefix+"nets/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("listing the networks", err)
	}
	out := make([]*Network, 0, len(pairs))
	for _, kv := range pairs {
		var n Network
		if json.Unmarshal(kv.Value, &n) == nil && n.ID != "" {
			out = append(out, &n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns the network with this ID, or with this name, or whose ID starts with ref (unique); a not-found
// error otherwise.
func (s *Store) Get(ctx context.Context, ref string) (*Network, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var prefixed []*Network
	for _, n := range all {
		if n.ID == ref || n.Name == ref {
			return n, nil
		}
		if ref != "" && strings.HasPrefix(n.ID, ref) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	return nil, errdefs.NotFound(fmt.Errorf("network %s not found", ref))
}

// Remove deletes network ref with its address claims, if no endpoint is on it: otherwise a conflict naming
// the containers.
func (s *Store) Remove(ctx context.Context, ref string) error {
	n, err := s.Get(ctx, ref)
	if err != nil {
		return err
	}
	eps, err := s.endpointsOf(ctx, n.ID)
	if err != nil {
		return err
	}
	if len(eps) > 0 {
		return errdefs.Conflict(fmt.Errorf("error while removing network: network %s id %s has active endpoints (%s)", n.Name, n.ID, names(eps)))
	}
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: s.netKey(n.ID)}},
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: s.nameKey(n.Name)}},
		{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: s.vniKey(n.VNI)}},
		{KV: &api.KVTxnOp{Verb: api.KVDeleteTree, Key: s.ipsDir(n.ID)}},
		{KV: &api.KVTxnOp{Verb: api.KVDeleteTree, Key: s.endpointsDir(n.ID)}},
		{KV: &api.KVTxnOp{Verb: api.KVSet, Key: s.removedKey(n.ID), Value: []byte(time.Now().UTC().Format(time.RFC3339))}},
	}
	if _, _, _, err := s.txn.Txn(ops, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return unavailable("removing network "+n.Name, err)
	}
	return nil
}

// RemovedFor is how long the record of a removal is kept: long enough for a host that was away when it
// happened to come back and remove its copy rather than restore the network.
const RemovedFor = 24 * time.Hour

// PruneRemoved forgets the removals older than RemovedFor (as of now).
func (s *Store) PruneRemoved(ctx context.Context, now time.Time) error {
	pairs, _, err := s.kv.List(s.prefix+"removed/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable("listing the removed networks", err)
	}
	for _, kv := range pairs {
		at, err := time.Parse(time.RFC3339, string(kv.Value))
		if err == nil && now.Sub(at) < RemovedFor {
			continue
		}
		if _, err := s.kv.Delete(kv.Key, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
			return unavailable("forgetting a removal", err)
		}
	}
	return nil
}

// Removed returns the IDs of the networks removed (a network that merely is not listed, as after Consul lost
// its data, is not removed: its engines' copies must stay).
func (s *Store) Removed(ctx context.Context) (map[string]bool, error) {
	keys, _, err := s.kv.Keys(s.prefix+"removed/", "", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("listing the removed networks", err)
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[strings.TrimPrefix(k, s.prefix+"removed/")] = true
	}
	return out, nil
}

// ErrRemoved is Restore's answer for a network that was removed: it is not written back.
var ErrRemoved = errdefs.NotFound(errors.New("the network was removed"))

// Restore writes n back as it was (a host that still holds it republishes it after Consul lost its data): its
// record, name and VNI, each only if absent. A name or VNI another network took meanwhile is a conflict; a
// network removed is not restored (ErrRemoved).
func (s *Store) Restore(ctx context.Context, n *Network) error {
	removed, err := s.Removed(ctx)
	if err != nil {
		return err
	}
	if removed[n.ID] {
		return ErrRemoved
	}
	val, _ := json.Marshal(n)
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.netKey(n.ID), Value: val, Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.nameKey(n.Name), Value: []byte(n.ID), Index: 0}},
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.vniKey(n.VNI), Value: []byte(n.ID), Index: 0}},
	}
	ok, _, _, err := s.txn.Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable("restoring network "+n.Name, err)
	}
	if ok {
		return nil
	}
	cur, err := s.Get(ctx, n.ID)
	if err == nil && cur.ID == n.ID {
		return nil // restored already (by another host)
	}
	return errdefs.Conflict(fmt.Errorf("cannot restore network %s (%s): its name or VXLAN ID is taken", n.Name, n.ID))
}

// names lists the endpoints' containers, for messages.
func names(eps []Endpoint) string {
	out := make([]string, 0, len(eps))
	for _, e := range eps {
		who := e.Container
		if who == "" {
			who = e.ID
		}
		out = append(out, who+" on "+e.Host)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// unavailable wraps a Consul failure: the state cannot be read or written now.
func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return errdefs.Unavailable(fmt.Errorf("%s in Consul: %w", what, err))
}
