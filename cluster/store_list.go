package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
)

// refresh lists all containers and inspects the new ones and those whose state changed. A list that shows what
// the last one did (status texts aside) on a cache that did not change since is not decoded; an unchanged engine
// keeps its entries, and so every view derived from them.
func (s *store) refresh(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	listStart := time.Now()
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	conn := s.e.conn
	if err := conn.do(cctx, Call{Method: http.MethodGet, Path: "/containers/json", Query: "all=1"}, buf); err != nil {
		return err
	}
	sum := containerListSum(buf.Bytes())
	if s.listedAgain(sum, buf.Bytes(), listStart) {
		return nil
	}
	var list []container.Summary
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		return fmt.Errorf("node %s: invalid container list: %w", conn.name(), err)
	}
	next, err := s.entries(cctx, list, listStart)
	if err != nil {
		return err
	}
	s.takeIn(next, sum, listStart)
	return nil
}

// entries makes the cache entries of a list: an entry whose state and listing did not change is kept (its
// inspected part stays), one whose listing alone moved is made from the new listing, others are inspected.
func (s *store) entries(ctx context.Context, list []container.Summary, listStart time.Time) (map[string]*Container, error) {
	prevs := make([]*Container, len(list))
	s.mu.RLock() // the map is changed in place by re-reads meanwhile
	for i := range list {
		prevs[i] = s.containers[list[i].ID]
	}
	s.mu.RUnlock()
	ncpu := s.e.ncpu()
	next := make(map[string]*Container, len(list))
	for i, l := range list {
		prev := prevs[i]
		if prev != nil && prev.State == l.State && prev.RunState != nil && !prev.provisional {
			if sameListing(prev, &l) {
				next[l.ID] = prev // unchanged: the status text is rendered when listed
			} else {
				s.e.kept.forget(l.ID)
				next[l.ID] = prev.relisted(l)
			}
			continue
		}
		s.e.kept.forget(l.ID)
		info, err := s.inspect(ctx, l.ID)
		if err != nil {
			if errdefs.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		next[l.ID] = s.newContainer(l, &info, listStart, ncpu)
	}
	return next, nil
}

// takeIn stores the entries of a list read from listStart on: changes seen since by events or calls win over
// the (older) list, and containers removed since stay removed.
func (s *store) takeIn(next map[string]*Container, sum uint64, listStart time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.containers {
		if c.seen.After(listStart) {
			next[id] = c
		}
	}
	for id, at := range s.removed {
		if at.After(listStart) {
			delete(next, id)
		} else {
			delete(s.removed, id)
		}
	}
	if !samePointers(next, s.containers) {
		s.containers = next
		s.changedLocked()
	}
	for id, cid := range s.execs {
		if next[cid] == nil {
			delete(s.execs, id)
		}
	}
	s.listSum, s.listed = sum, s.gen.Load()
	s.e.touch()
}

// listedAgain tells whether a container list (its sum, its bytes) is the one last taken in, with the cache
// unchanged since and holding exactly the containers listed: then the refresh is done, and only the removals it
// no longer needs to remember are forgotten.
func (s *store) listedAgain(sum uint64, list []byte, listStart time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sum != s.listSum || s.gen.Load() != s.listed || !s.cachesExactly(list) {
		return false
	}
	for id, at := range s.removed {
		if !at.After(listStart) {
			delete(s.removed, id)
		}
	}
	s.e.touch()
	return true
}

// cachesExactly tells whether the cache holds exactly the containers of a list (their "Id"s, counted in its
// bytes; a label named Id only makes the answer no). Callers hold mu.
func (s *store) cachesExactly(list []byte) bool {
	key := []byte(`"Id":"`)
	n := 0
	for {
		i := bytes.Index(list, key)
		if i < 0 {
			return n == len(s.containers)
		}
		list = list[i+len(key):]
		j := bytes.IndexByte(list, '"')
		if j < 0 || s.containers[string(list[:j])] == nil {
			return false
		}
		list, n = list[j:], n+1
	}
}

// containerListSum is the hash of an engine's container list without its status texts ("Up 5 minutes"): they
// move with the clock, and the cache renders them when listed (a health change comes as an event).
func containerListSum(b []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(listSeed)
	key := []byte(`"Status":"`)
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			break
		}
		h.Write(b[:i+len(key)])
		b = b[i+len(key):]
		j := 0
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		b = b[min(j, len(b)):]
	}
	h.Write(b)
	return h.Sum64()
}

// sameListing tells whether a list entry shows nothing new about a cached container of the same state.
func sameListing(c *Container, s *container.Summary) bool {
	return slices.Equal(c.Names, s.Names) && c.Image == s.Image && c.ImageID == s.ImageID &&
		c.Command == s.Command && maps.Equal(c.Labels, s.Labels) && slices.Equal(c.Ports, s.Ports)
}

func samePointers(a, b map[string]*Container) bool {
	if len(a) != len(b) {
		return false
	}
	for id, c := range a {
		if b[id] != c {
			return false
		}
	}
	return true
}
