package cluster

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"swarm/internal/simengine"
	"swarm/scheduler"
)

// Clients that give up on slow calls (a ctrl-C, a closed connection) say nothing about the engine: its health
// must not suffer, while calls that find the engine gone do count.
func TestCancelledCallsDoNotCountAgainstTheEngine(t *testing.T) {
	sim := simengine.New(simengine.Options{Name: "slow"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			<-r.Context().Done()
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sched, err := scheduler.New(scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := New(t.Context(), Options{RefreshMin: time.Hour, RefreshMax: time.Hour, FailureRetry: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sched)
	defer c.Close()
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	waitFor(t, func() bool { return c.Engines()[0].Healthy() })
	e := c.Engines()[0]
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		go func() { time.Sleep(5 * time.Millisecond); cancel() }()
		if _, err := e.Do(ctx, http.MethodGet, "", "/slow", nil, nil, nil, nil); err == nil {
			t.Fatal("a cancelled call succeeded")
		}
		cancel()
	}
	e.mu.RLock()
	failures := e.failures
	e.mu.RUnlock()
	if !e.Healthy() || failures != 0 {
		t.Fatalf("after 5 cancelled calls: healthy %v, failures %d; want healthy with none", e.Healthy(), failures)
	}
	srv.CloseClientConnections()
	srv.Close()
	for range 2 {
		e.Do(context.Background(), http.MethodGet, "", "/_ping", nil, nil, nil, nil)
	}
	if e.Healthy() {
		t.Fatal("engine still healthy after 2 failed connections with --engine-failure-retry 2")
	}
}
