package cluster

import (
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

// simCluster runs a cluster on one simulated engine named name, served through wrap (nil: as it is), with
// periodic refreshes off and the given --engine-failure-retry (0: the default), and waits until the engine
// is Healthy. The cluster is closed before the server, whose Close waits for the cluster's event stream.
func simCluster(t *testing.T, name string, failureRetry int, wrap func(sim http.Handler) http.Handler) (*Cluster, *simengine.Engine, *httptest.Server) {
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

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
