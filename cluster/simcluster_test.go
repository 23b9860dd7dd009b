package cluster

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swarm/internal/simengine"
	"swarm/scheduler"
)

// simCluster runs a cluster on one simulated engine named name, served through wrap (nil: as it is), with
// periodic refreshes off and the given --engine-failure-retry (0: the default), and waits until the engine
// is Healthy. The cluster is closed before the server, whose Close waits for the cluster's event stream.
func simCluster(t testing.TB, name string, failureRetry int, wrap func(sim http.Handler) http.Handler) (*Cluster, *simengine.Engine, *httptest.Server) {
	t.Helper()
	sim := simengine.New(simengine.Options{Name: name})
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	sched, err := scheduler.New(scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := New(t.Context(), Options{RefreshMin: time.Hour, RefreshMax: time.Hour, FailureRetry: failureRetry,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sched)
	t.Cleanup(c.Close)
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	waitFor(t, func() bool { return c.Engines()[0].Healthy() })
	return c, sim, srv
}

func waitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An engine's event stream has a connection of its own: the connection the start-up sync used stays for the
// calls, so the first call after connecting opens none (with TLS, none means no handshake).
func TestFirstCallAfterConnectingReusesTheSyncsConnection(t *testing.T) {
	sim := simengine.New(simengine.Options{Name: "pooled"})
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(sim)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := New(t.Context(), Options{RefreshMin: time.Hour, RefreshMax: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	t.Cleanup(c.Close)
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	waitFor(t, func() bool {
		e := c.Engines()
		if len(e) == 0 || !e[0].Healthy() {
			return false
		}
		e[0].kept.mu.Lock()
		defer e[0].kept.mu.Unlock()
		return e[0].kept.live
	})
	if n := opened.Load(); n != 2 {
		t.Fatalf("%d connections after connecting, want 2 (the sync's and the event stream's)", n)
	}
	for range 3 {
		if err := c.Engines()[0].Do(t.Context(), Call{Method: http.MethodGet, Path: "/containers/json"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := opened.Load(); n != 2 {
		t.Fatalf("calls after connecting opened %d connections, want none", n-2)
	}
}

// With more engines than the pool keeps idle connections, streams take the sync's connection as calls would:
// a kept one would only be evicted by the next call to another engine.
func TestStreamsShareThePoolWhenItCannotKeepOneConnectionPerEngine(t *testing.T) {
	c := New(t.Context(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	t.Cleanup(c.Close)
	for _, tt := range []struct {
		engines int64
		want    http.RoundTripper
	}{{1, c.set.streams}, {maxIdle, c.set.streams}, {maxIdle + 1, c.set.transport}, {10000, c.set.transport}} {
		c.set.engines.Store(tt.engines)
		if got := c.set.streamTransport(); got != tt.want {
			t.Errorf("%d engines: streams on the calls' pool = %v, want %v", tt.engines, got == c.set.transport, tt.want == c.set.transport)
		}
	}
}

// Changes beside the containers (connecting, health, info, images) leave the cache holding the last container
// list, so the first periodic refresh after connecting, which lists the same containers, decodes none.
func TestTheCacheHoldsTheLastListAfterConnecting(t *testing.T) {
	c, _, _ := simCluster(t, "listed", 0, nil)
	e := c.Engines()[0]
	s := e.store
	held := func() bool { s.mu.RLock(); defer s.mu.RUnlock(); return s.listed == s.gen.Load() }
	if !held() {
		t.Fatal("after connecting the cache does not count as holding the last list")
	}
	e.health.count(errors.New("a failed probe")) // which the scheduler weighs
	e.objects.refresh(t.Context(), Images)
	if !held() {
		t.Fatal("after a change of health the cache no longer counts as holding the last list")
	}
	s.mu.Lock()
	s.changedLocked() // a container's change
	s.mu.Unlock()
	if held() {
		t.Fatal("after a container's change the cache still counts as holding the last list")
	}
}
