package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// Nodes lists the nodes that match f (id, name, label, node.label, role, membership), by hostname.
func (o *API) Nodes(f filters.Args) ([]swarm.Node, error) {
	if err := f.Validate(map[string]bool{"id": true, "name": true, "label": true, "node.label": true, "role": true, "membership": true}); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	out := []swarm.Node{}
	for _, n := range o.nodes().sorted() {
		a := o.apiNode(n)
		if nodeMatches(f, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func nodeMatches(f filters.Args, n swarm.Node) bool {
	return prefixMatch(f, "id", n.ID) && (f.ExactMatch("name", n.Description.Hostname) || f.FuzzyMatch("name", n.Description.Hostname) || !f.Contains("name")) &&
		f.MatchKVList("label", n.Description.Engine.Labels) && f.MatchKVList("node.label", n.Spec.Labels) &&
		f.ExactMatch("role", string(n.Spec.Role)) && f.ExactMatch("membership", "accepted")
}

// Node returns the node with this ID, hostname or ID prefix.
func (o *API) Node(ref string) (swarm.Node, error) {
	n := o.nodes().find(ref)
	if n == nil {
		return swarm.Node{}, errNoNode(ref)
	}
	return o.apiNode(n), nil
}

func errNoNode(ref string) error { return errdefs.NotFound(fmt.Errorf("node %s not found", ref)) }

// UpdateNode sets a node's availability and labels (its spec), if version is the node's current one. A node's
// role follows the managers and cannot be set.
func (o *API) UpdateNode(ctx context.Context, ref string, version uint64, spec swarm.NodeSpec) error {
	n := o.nodes().find(ref)
	if n == nil {
		return errNoNode(ref)
	}
	switch spec.Availability {
	case "":
		spec.Availability = n.availability
	case swarm.NodeAvailabilityActive, swarm.NodeAvailabilityPause, swarm.NodeAvailabilityDrain:
	default:
		return errdefs.InvalidParameter(fmt.Errorf("invalid availability %q: use active, pause or drain", spec.Availability))
	}
	if spec.Role != "" && spec.Role != n.role {
		return errdefs.InvalidParameter(fmt.Errorf("cannot change the role of node %s to %s: here the managers are the `swarm manage` "+
			"processes and the node that stands for each is found by its address", n.Hostname, spec.Role))
	}
	spec.Role = ""
	rec := n.rec
	if rec.Version.Index != version {
		return errdefs.Conflict(fmt.Errorf("update out of sequence"))
	}
	now := time.Now().UTC()
	if rec.ID == "" {
		rec.ID, rec.CreatedAt = n.ID, o.firstSeen(n.ID)
	}
	rec.Spec, rec.UpdatedAt = spec, now
	if _, err := o.store.PutNode(ctx, rec); err != nil {
		return err
	}
	o.pushNodeMeta()
	m := o.memo()
	m.mu.Lock()
	clear(m.skip) // a node that did not fit a global service may now
	m.mu.Unlock()
	o.publish(events.NodeEventType, events.ActionUpdate, n.ID, map[string]string{"name": n.Hostname, "availability": string(spec.Availability)})
	o.Kick()
	return nil
}

// RemoveNode forgets a node's record. A node whose engine still answers is refused unless force: it would be
// back at once, for its `swarm join` keeps registering it.
func (o *API) RemoveNode(ctx context.Context, ref string, force bool) error {
	n := o.nodes().find(ref)
	if n == nil {
		return errNoNode(ref)
	}
	if n.ready && !force {
		return errdefs.InvalidParameter(fmt.Errorf("node %s is not down and can't be removed: stop its `swarm join` "+
			"(or its engine) first, or use --force to forget its availability and labels", n.Hostname))
	}
	if err := o.store.DeleteNode(ctx, n.ID); err != nil {
		return err
	}
	o.publish(events.NodeEventType, events.ActionRemove, n.ID, map[string]string{"name": n.Hostname})
	return nil
}

// SwarmInfo is /info's Swarm section: this manager's node and the managers known. It is asked at every /info,
// so it is kept while the engines, the primary and this host's addresses (read again after infoFor) stay.
func (o *API) SwarmInfo() swarm.Info {
	primary, addr := o.cfg.Role()
	key := infoKey{identities: o.cl.Identities(), primary: primary, primaryAddr: addr}
	o.info.mu.Lock()
	defer o.info.mu.Unlock()
	if o.info.key == key && time.Since(o.info.at) < infoFor {
		return o.info.copy()
	}
	ns := o.nodes()
	info := swarm.Info{LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true, Nodes: len(ns.list)}
	for _, n := range ns.list {
		if n.manager == "" {
			continue
		}
		info.Managers++
		info.RemoteManagers = append(info.RemoteManagers, swarm.Peer{NodeID: n.ID, Addr: n.manager})
		if n.manager == orSelf(o.cfg.Advertise) {
			info.NodeID, info.NodeAddr = n.ID, n.IP
		}
	}
	o.info.key, o.info.at, o.info.info = key, time.Now(), info
	return o.info.copy()
}

// infoFor bounds how long SwarmInfo is kept when nothing it is keyed by moved (this host's addresses).
const infoFor = 5 * time.Second

// infoMemo is the last SwarmInfo and what it was built from; fields under mu.
type infoMemo struct {
	mu   sync.Mutex
	key  infoKey
	at   time.Time
	info swarm.Info
}

type infoKey struct {
	identities  uint64
	primary     bool
	primaryAddr string
}

func (m *infoMemo) copy() swarm.Info {
	out := m.info
	out.RemoteManagers = slices.Clone(m.info.RemoteManagers)
	return out
}
