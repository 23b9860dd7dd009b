package proxy

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"swarm/cluster"
)

// callEach makes one call on each engine given, in parallel, decoding each answer into a T (a struct{} answer is
// read and discarded). The call carries no body; body, when not nil, is sent to each engine.
func callEach[T any](ctx context.Context, engines []*cluster.Engine, call cluster.Call, body []byte) []cluster.Result[T] {
	return cluster.FanOut(ctx, engines, func(ctx context.Context, e *cluster.Engine) (T, error) {
		var v T
		c := call
		if body != nil {
			c.Body = bytes.NewReader(body)
		}
		var out any = &v
		if _, none := out.(*struct{}); none {
			out = nil
		}
		return v, e.Do(ctx, c, out)
	})
}

// joined is the values of a fan-out's successes, each turned into a slice by f, joined in the engines' order.
func joined[T, V any](rs []cluster.Result[T], f func(T) []V) []V {
	out := []V{}
	for _, r := range rs {
		if r.Err == nil {
			out = append(out, f(r.Value)...)
		}
	}
	return out
}

// succeeded counts the successes of a fan-out.
func succeeded[T any](rs []cluster.Result[T]) int {
	n := 0
	for _, r := range rs {
		if r.Err == nil {
			n++
		}
	}
	return n
}

// failures is the failures of a fan-out as one nodeErrors, nil when every engine succeeded.
func failures[T any](rs []cluster.Result[T]) error {
	var errs nodeErrors
	for _, r := range rs {
		if r.Err != nil {
			errs = append(errs, nodeError{node: r.Engine.Name(), err: r.Err})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

type nodeError struct {
	node string
	err  error
}

// nodeErrors are the failures of a call made on several nodes, one per node; the status is the first
// failure's (404 stays 404, a 409 "in use" stays 409).
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

// splitNode splits "node/name" when node names one of the engines; otherwise the engine is nil.
func splitNode(engines []*cluster.Engine, ref string) (*cluster.Engine, string) {
	node, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, ref
	}
	for _, e := range engines {
		if e.Name() == node || e.ID() == node {
			return e, name
		}
	}
	return nil, ref
}

// undoPartial is the answer to a create that failed on some of the nodes it was asked of (err: their failures,
// as failures gives them). Where it succeeded, the object is removed again with the call undo gives (nil: leave
// it, it was there before), so that nothing is half made; the error names every node that failed. A create that
// failed everywhere is answered with the engines' own errors.
func undoPartial[T any](ctx context.Context, log *slog.Logger, what string, rs []cluster.Result[T], err error, undo func(cluster.Result[T]) *cluster.Call) error {
	if succeeded(rs) == 0 {
		return err
	}
	ctx = context.WithoutCancel(ctx) // removed even if the client left
	for _, res := range rs {
		if res.Err != nil {
			continue
		}
		if call := undo(res); call != nil {
			if uerr := res.Engine.Do(ctx, *call, nil); uerr != nil {
				log.Warn("a half-made create could not be undone", "object", what, "node", res.Engine.Name(), "err", uerr)
			}
		}
	}
	return &partialCreate{what: what, failed: err.(nodeErrors)}
}

// partialCreate is a create refused by some nodes and undone on the others.
type partialCreate struct {
	what   string
	failed nodeErrors
}

func (p *partialCreate) Error() string {
	parts := make([]string, len(p.failed))
	for i, e := range p.failed {
		parts[i] = fmt.Sprintf("%s: %v", e.node, e.err)
	}
	return fmt.Sprintf("%s was not created: it failed on %d node(s), so it was removed again from the others (%s)",
		p.what, len(p.failed), strings.Join(parts, "; "))
}

func (p *partialCreate) HTTPStatus() int { return p.failed.HTTPStatus() }
