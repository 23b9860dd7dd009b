package cluster

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swarm/internal/simengine"
	"swarm/scheduler"
)

// An engine that creates the container and then drops the connection: the client is told the create failed,
// so the container must not survive.
func TestAmbiguousCreateLeavesNoOrphan(t *testing.T) {
	sim := simengine.New(simengine.Options{Name: "flaky"})
	var drop atomic.Bool
	drop.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/containers/create") && drop.Load() {
			sim.ServeHTTP(httptest.NewRecorder(), r) // the engine creates it...
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // ...and the answer never arrives
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sched, err := scheduler.New(scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := New(t.Context(), Options{RefreshMin: time.Hour, RefreshMax: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sched)
	defer c.Close()
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	waitFor(t, func() bool { return c.Engines()[0].Healthy() })
	_, err = c.CreateContainer(context.Background(), CreateRequest{Name: "orphan", Body: []byte(`{"Image":"busybox"}`)})
	if err == nil {
		t.Fatal("create succeeded although the answer was lost")
	}
	// Gone from the engine and from the cluster's view, so the name is free again.
	waitFor(t, func() bool { return sim.ContainerCount() == 0 && len(c.Containers()) == 0 })
	drop.Store(false)
	resp, err := c.CreateContainer(context.Background(), CreateRequest{Name: "orphan", Body: []byte(`{"Image":"busybox"}`)})
	if err != nil {
		t.Fatalf("second create: %v", err)
	}
	c.Engines()[0].removeDoomed(context.Background())
	if sim.ContainerCount() != 1 {
		t.Fatalf("engine holds %d containers, want only the confirmed %s", sim.ContainerCount(), resp.ID)
	}
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
