package proxy

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"swarm/cluster"
)

// fanout runs f on every healthy engine (or those keep accepts) in parallel and collects the per-engine errors.
func (s *Server) fanout(ctx context.Context, keep func(*cluster.Engine) bool, f func(context.Context, *cluster.Engine) error) (int, error) {
	var (
		mu   sync.Mutex
		errs nodeErrors
		ok   int
		wg   sync.WaitGroup
	)
	for _, e := range s.b.Engines() {
		if !e.Healthy() || (keep != nil && !keep(e)) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(ctx, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, nodeError{node: e.Name(), err: err})
				return
			}
			ok++
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return ok, errs
	}
	return ok, nil
}

type nodeError struct {
	node string
	err  error
}

// nodeErrors are the failures of a fan-out, one per node; the status is the first failure's (404 stays 404,
// a 409 "in use" stays 409).
type nodeErrors []nodeError

func (n nodeErrors) Error() string {
	if len(n) == 1 {
		return n[0].err.Error()
	}
	parts := make([]string, len(n))
	for i, e := range n {
		parts[i] = fmt.Sprintf("%s: %v", e.node, e.err)
	}
	return strings.Join(parts, "; ")
}

func (n nodeErrors) HTTPStatus() int { return statusOf(n[0].err) }

// splitNode splits "node/name" when node names an engine; otherwise the engine is nil.
func (s *Server) splitNode(ref string) (*cluster.Engine, string) {
	node, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, ref
	}
	for _, e := range s.b.Engines() {
		if e.Name() == node || e.ID() == node {
			return e, name
		}
	}
	return nil, ref
}
