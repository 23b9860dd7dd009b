package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"swarm/internal/backoff"
)

// State is an engine's place in its life cycle: Pending until first validated, then Healthy or Unhealthy,
// Disconnected once discovery drops it.
type State int

const (
	StatePending State = iota
	StateHealthy
	StateUnhealthy
	StateDisconnected
)

func (s State) String() string {
	return [...]string{"Pending", "Healthy", "Unhealthy", "Disconnected"}[s]
}

// Probe timing while an engine's event stream is broken: a stopped engine is Unhealthy after failureRetry
// probes, i.e. within a few seconds, not at the next refresh.
const (
	probeInterval    = time.Second
	probeTimeout     = 3 * time.Second
	maxProbeInterval = 10 * time.Second
)

// health is whether an engine can be reached. It counts failed probes (pings) in a row: retry of them make a
// Healthy engine Unhealthy, one success makes it Healthy again. A failed call proves little by itself (a busy
// engine can hold one container's call past its deadline while answering everything else), so it starts one
// ping, whose outcome counts; a call the caller gave up on counts for nothing. The fields under mu change
// together; gen moves (under mu) at every change of them, and moved is called then, under mu.
type health struct {
	mu        sync.RWMutex
	state     State
	failures  int
	lastErr   string
	verifying bool // a ping checks whether a failed call means the engine is unreachable
	retry     int
	gen       atomic.Uint64
	now       atomic.Int32 // state, for readers that take no lock (written under mu)
	ping      func(ctx context.Context) error
	life      func() context.Context // the engine's life: a ping started by a call ends with it
	moved     func()                 // under mu, after gen moved; it may take leaf locks only
	told      func(event string)     // outside mu: a swarm event about the engine (engine_connect, ...)
}

// healthState is a copy of the health's fields.
type healthState struct {
	state    State
	failures int
	lastErr  string
}

func (h *health) snapshot() healthState {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return healthState{h.state, h.failures, h.lastErr}
}

// State is the engine's state, read without a lock (lists ask it of every container).
func (h *health) State() State { return State(h.now.Load()) }

// indicator is 0 for an unusable engine, else 100 minus a share per recent failure (the original's formula).
func (h *health) indicator() int64 {
	s := h.snapshot()
	if s.state != StateHealthy || s.failures >= h.retry {
		return 0
	}
	return int64(100 - s.failures*100/h.retry)
}

// set changes the fields under mu with f and, if they moved, moves gen; event is told if the state moved.
func (h *health) set(f func(), event func(was State) string) {
	h.mu.Lock()
	was := healthState{h.state, h.failures, h.lastErr}
	f()
	now := healthState{h.state, h.failures, h.lastErr}
	if now != was {
		h.now.Store(int32(h.state))
		h.gen.Add(1)
		h.moved()
	}
	h.mu.Unlock()
	if ev := event(was.state); ev != "" && was.state != now.state {
		h.told(ev)
	}
}

// observe records the outcome of a call: success counts as a probe that answered; a failure to reach the
// engine starts a ping (one at a time), whose outcome counts.
func (h *health) observe(err error) {
	if err == nil {
		h.count(nil)
		return
	}
	if !isConnectionError(err) {
		return
	}
	h.mu.Lock()
	start := !h.verifying
	h.verifying = true
	h.mu.Unlock()
	if start {
		go h.verify()
	}
}

// verify pings the engine once after a failed call and counts the outcome.
func (h *health) verify() {
	ctx := h.life()
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := h.ping(pctx)
	cancel()
	h.mu.Lock()
	h.verifying = false
	h.mu.Unlock()
	if ctx.Err() == nil {
		h.count(pingOutcome(err))
	}
}

// pingOutcome is a ping's error as it bears on health: an engine that answered at all, even with an error, is up.
func pingOutcome(err error) error {
	if err != nil && !isConnectionError(err) {
		return nil
	}
	return err
}

// count records whether the engine could be reached: retry failures in a row mark it unhealthy, a success
// heals it.
func (h *health) count(err error) {
	h.set(func() {
		if err == nil {
			h.failures, h.lastErr = 0, ""
			if h.state == StateUnhealthy {
				h.state = StateHealthy
			}
			return
		}
		h.failures++
		h.lastErr = err.Error()
		if h.state == StateHealthy && h.failures >= h.retry {
			h.state = StateUnhealthy
		}
	}, func(was State) string {
		if was == StateUnhealthy {
			return "engine_reconnect"
		}
		return "engine_disconnect"
	})
}

// probeUntilBack pings the engine until it answers, counting each failure.
func (h *health) probeUntilBack(ctx context.Context) {
	wait := probeInterval
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := h.ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		err = pingOutcome(err)
		h.count(err)
		if err == nil || !backoff.Sleep(ctx, wait) {
			return
		}
		if h.State() == StateUnhealthy {
			wait = min(wait*2, maxProbeInterval/2)
		}
	}
}

// connected makes a validated engine Healthy with no failures.
func (h *health) connected() {
	h.set(func() { h.state, h.failures, h.lastErr = StateHealthy, 0, "" },
		func(State) string { return "engine_connect" })
}

// failed records an error that is not a probe's (a failed validation, a broken event stream).
func (h *health) failed(msg string) {
	h.set(func() { h.lastErr = msg }, func(State) string { return "" })
}

// left marks the engine Disconnected (discovery dropped it); a Healthy one tells engine_disconnect.
func (h *health) left() {
	h.set(func() { h.state = StateDisconnected }, func(was State) string {
		if was == StateHealthy {
			return "engine_disconnect"
		}
		return ""
	})
}
