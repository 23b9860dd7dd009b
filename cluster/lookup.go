package cluster

import (
	"fmt"
	"strings"
	"sync"

	"github.com/docker/docker/errdefs"
)

// Container finds a container the way the original did: full or short ID, swarm ID, name (with or without the
// leading slash, or prefixed by its engine's name or ID), then a unique prefix of an ID or a swarm ID.
func (c *Cluster) Container(ref string) (*Container, error) {
	if ref == "" {
		return nil, errdefs.InvalidParameter(fmt.Errorf("no container name or ID given"))
	}
	if x := c.exactContainer(ref); x != nil {
		return x, nil
	}
	all := c.Containers()
	name := strings.TrimPrefix(ref, "/")
	for _, match := range []func(*Container) bool{
		func(x *Container) bool { return x.ID == ref || x.SwarmID() == ref },
		func(x *Container) bool { return x.Name() == name },
		func(x *Container) bool {
			node, n, ok := strings.Cut(name, "/")
			return ok && x.Name() == n && (x.Engine.Name() == node || x.Engine.ID() == node)
		},
		func(x *Container) bool { return strings.HasPrefix(x.ID, ref) },
		func(x *Container) bool { return x.SwarmID() != "" && strings.HasPrefix(x.SwarmID(), ref) },
	} {
		var found []*Container
		for _, x := range all {
			if match(x) {
				found = append(found, x)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		default:
			return nil, errdefs.InvalidParameter(fmt.Errorf("container name or ID %q is ambiguous: it matches %d containers; use the ID or node/name", ref, len(found)))
		}
	}
	return nil, errdefs.NotFound(fmt.Errorf("No such container: %s", ref))
}

// exactContainer is Container's fast path through the engines' indexes: a full container ID, else a name held
// by exactly one container, else a 12-character short ID that begins exactly one container's ID. A ref that
// could be a swarm ID (64 hex digits) is left to the full search, where a swarm ID outranks a name. Nil means
// the full search decides.
func (c *Cluster) exactContainer(ref string) *Container {
	if e := c.hints.get(ref); e != nil && c.pool.member(e) {
		if x := e.store.get(ref); x != nil {
			return x
		}
	}
	engines := c.Engines()
	for _, e := range engines {
		if x := e.store.get(ref); x != nil {
			c.hints.put(ref, e)
			return x
		}
	}
	if len(ref) == 64 && isHex(ref) {
		return nil
	}
	name := strings.TrimPrefix(ref, "/")
	var found *Container
	for _, e := range engines {
		if x := e.views.byName(name); x != nil {
			if found != nil {
				return nil
			}
			found = x
		}
	}
	if found != nil || len(ref) != 12 || !isHex(ref) {
		return found
	}
	for _, e := range engines { // a short ID as `docker ps` prints it: the one container whose ID begins with it
		x, ambiguous := e.views.byShortID(ref)
		if ambiguous || (x != nil && found != nil) {
			return nil
		}
		if x != nil {
			found = x
		}
	}
	return found
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// Containers returns every cached container of every engine.
func (c *Cluster) Containers() []*Container {
	var out []*Container
	for _, e := range c.Engines() {
		out = e.store.appendTo(out)
	}
	return out
}

// idHints remember on which engine a full container ID was last found, so a call by ID (the docker CLI's
// start, wait, logs after a run) does not ask every engine. A hint is only a guess: the engine is asked, and a
// wrong or stale hint falls back to the full search. The map is emptied when it grows past maxHints, so
// containers that come and go never make it grow without bound.
type idHints struct {
	mu sync.RWMutex
	m  map[string]*Engine
}

const maxHints = 1 << 16

func (h *idHints) get(id string) *Engine {
	if len(id) != 64 {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.m[id]
}

func (h *idHints) put(id string, e *Engine) {
	if len(id) != 64 {
		return
	}
	h.mu.Lock()
	if h.m == nil || len(h.m) >= maxHints {
		h.m = make(map[string]*Engine)
	}
	h.m[id] = e
	h.mu.Unlock()
}
