package cluster

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Clients that give up on slow calls (a ctrl-C, a closed connection) say nothing about the engine: its health
// must not suffer, while calls that find the engine gone do count.
func TestCancelledCallsDoNotCountAgainstTheEngine(t *testing.T) {
	c, _, srv := simCluster(t, "slow", 2, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/slow") {
				<-r.Context().Done()
				return
			}
			sim.ServeHTTP(w, r)
		})
	})
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
	// The listener first: closed connections alone let the cluster's event stream reconnect at once, and
	// srv.Close would then wait for that stream (cleanup closes the server after the cluster).
	srv.Listener.Close()
	srv.CloseClientConnections()
	for range 2 {
		e.Do(context.Background(), http.MethodGet, "", "/_ping", nil, nil, nil, nil)
	}
	if e.Healthy() {
		t.Fatal("engine still healthy after 2 failed connections with --engine-failure-retry 2")
	}
}
