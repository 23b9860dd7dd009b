package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
)

// reread reads one container again (one inspect: its list entry is made from it); it is dropped from the cache
// when the engine no longer has it.
func (s *store) reread(ctx context.Context, id string) (*Container, error) {
	return s.rereadFrom(ctx, id, s.rereads.start(id, false))
}

// rereadFrom is reread once its start was recorded (rereads.start).
func (s *store) rereadFrom(ctx context.Context, id string, start time.Time) (*Container, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	defer s.rereads.end(id, start)
	info, err := s.inspect(cctx, id)
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, err
	}
	var c *Container
	if err == nil && info.ContainerJSONBase != nil && info.ID == id {
		c = s.newContainer(summaryOf(&info), &info, start, s.e.ncpu())
	}
	s.mu.Lock()
	if at, ok := s.removed[id]; ok && at.After(start) {
		c = nil // removed while this look was under way: what it saw is stale
	}
	if c == nil {
		s.removeLocked(id)
	} else {
		s.containers[id] = c
		s.changedLocked()
	}
	doomed := c != nil && s.orphans.doomed[c.SwarmID()] != nil
	s.mu.Unlock()
	if doomed {
		s.orphans.removeDoomed(ctx)
	}
	return c, nil
}

// inspect reads one container from the engine (the parts the cache keeps, see decodeInspect); a container the
// engine does not have is an errdefs not-found error. The answer is read into a pooled buffer and decoded from it.
func (s *store) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	var info container.InspectResponse
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if err := s.e.conn.do(ctx, Call{Method: http.MethodGet, Path: "/containers/" + url.PathEscape(id) + "/json"}, buf); err != nil {
		if engineStatus(err) == http.StatusNotFound {
			return info, errdefs.NotFound(err)
		}
		return info, err
	}
	info, err := decodeInspect(buf.Bytes())
	if err != nil {
		return info, fmt.Errorf("node %s answered inspect of %s with invalid JSON: %w", s.e.conn.name(), id, err)
	}
	return info, nil
}

// promise notes that the caller is about to change container id through the engine and will re-read it once
// the engine answered, with the function returned (it must be called; calls after the first do nothing).
// Events about the container that arrive before that re-read begins need none of their own: it begins after
// them and sees what they report.
func (s *store) promise(id string) (reread func(ctx context.Context)) {
	s.mu.Lock()
	if s.rereads.promised == nil {
		s.rereads.promised = map[string]int{}
	}
	s.rereads.promised[id]++
	s.mu.Unlock()
	var once sync.Once
	return func(ctx context.Context) { once.Do(func() { s.rereadFrom(ctx, id, s.rereads.start(id, true)) }) }
}
