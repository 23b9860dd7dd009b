package cluster

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowPath serves the engine, but never answers a call to /slow.
func slowPath(sim http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			<-r.Context().Done()
			return
		}
		sim.ServeHTTP(w, r)
	})
}

// Clients that give up on slow calls (a ctrl-C, a closed connection) say nothing about the engine: its health
// must not suffer, while calls that find the engine gone do count.
func TestCancelledCallsDoNotCountAgainstTheEngine(t *testing.T) {
	c, _, srv := simCluster(t, "slow", 2, slowPath)
	e := c.Engines()[0]
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		go func() { time.Sleep(5 * time.Millisecond); cancel() }()
		if err := e.Do(ctx, Call{Method: http.MethodGet, Path: "/slow"}, nil); err == nil {
			t.Fatal("a cancelled call succeeded")
		}
		cancel()
	}
	failures := e.health.snapshot().failures
	if !e.Healthy() || failures != 0 {
		t.Fatalf("after 5 cancelled calls: healthy %v, failures %d; want healthy with none", e.Healthy(), failures)
	}
	// The listener first: closed connections alone let the cluster's event stream reconnect at once, and
	// srv.Close would then wait for that stream (cleanup closes the server after the cluster).
	srv.Listener.Close()
	srv.CloseClientConnections()
	for range 2 {
		e.Do(context.Background(), Call{Method: http.MethodGet, Path: "/_ping"}, nil)
	}
	waitFor(t, func() bool { return e.State() == StateUnhealthy })
}

// A call that runs out of time on an engine that still answers pings (dockerd holds one container's lock
// through a slow start) does not count against the engine; the ping each failure starts decides.
func TestTimedOutCallsOnALiveEngineDoNotCount(t *testing.T) {
	c, _, _ := simCluster(t, "busy", 2, slowPath)
	e := c.Engines()[0]
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := e.Do(ctx, Call{Method: http.MethodGet, Path: "/slow"}, nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a call past its deadline: %v, want a deadline error", err)
		}
		waitFor(t, func() bool { e.health.mu.RLock(); defer e.health.mu.RUnlock(); return !e.health.verifying })
	}
	failures := e.health.snapshot().failures
	if !e.Healthy() || failures != 0 {
		t.Fatalf("after 5 timed-out calls on a live engine: healthy %v, failures %d; want healthy with none", e.Healthy(), failures)
	}
}

// An engine whose event stream breaks as soon as it opens (garbage, a proxy closing it) is reconnected after a
// pause, not in a loop as fast as the machine goes.
func TestBrokenEventStreamIsRetriedAfterAPause(t *testing.T) {
	var streams atomic.Int32
	c, _, _ := simCluster(t, "garbled", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/events") {
				streams.Add(1)
				w.Write([]byte("not json"))
				return
			}
			sim.ServeHTTP(w, r)
		})
	})
	base := streams.Load()
	time.Sleep(2 * time.Second)
	if n := streams.Load() - base; n > 5 {
		t.Errorf("the event stream was reopened %d times in 2 s", n)
	}
	if !c.Engines()[0].Healthy() {
		t.Error("an engine that answers everything but a usable event stream was marked unhealthy")
	}
}
