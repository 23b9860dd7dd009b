package cluster

import (
	"context"
	"sync"
)

// fanOutWidth bounds how many engines a fan-out calls at once, so a fleet of thousands is not sent thousands of
// calls (and connections) at the same moment.
const fanOutWidth = 256

// Result is one engine's outcome in a fan-out.
type Result[T any] struct {
	Engine *Engine
	Value  T
	Err    error
}

// FanOut calls f on every engine given, in parallel (at most fanOutWidth at once), and returns the outcomes in
// the engines' order.
func FanOut[T any](ctx context.Context, engines []*Engine, f func(context.Context, *Engine) (T, error)) []Result[T] {
	out := make([]Result[T], len(engines))
	width := make(chan struct{}, fanOutWidth)
	var wg sync.WaitGroup
	for i, e := range engines {
		width <- struct{}{}
		wg.Go(func() {
			defer func() { <-width }()
			v, err := f(ctx, e)
			out[i] = Result[T]{Engine: e, Value: v, Err: err}
		})
	}
	wg.Wait()
	return out
}

// Healthy keeps the engines that are Healthy.
func Healthy(engines []*Engine) []*Engine {
	out := make([]*Engine, 0, len(engines))
	for _, e := range engines {
		if e.Healthy() {
			out = append(out, e)
		}
	}
	return out
}
