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

// A change made through the manager is re-read once, by the call itself; the engine's event about it does not
// cause a second read. A change made behind the manager's back still reaches the cache through its event.
func TestEventsRereadOnlyWhatCallsDidNot(t *testing.T) {
	sim := simengine.New(simengine.Options{Name: "sim"})
	var inspects atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/json") && !strings.HasSuffix(r.URL.Path, "/containers/json") {
			inspects.Add(1)
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
	ctx := context.Background()
	before := inspects.Load()
	resp, err := c.CreateContainer(ctx, CreateRequest{Name: "web", Body: []byte(`{"Image":"busybox"}`)})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := c.Container(resp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ct.Engine.Do(ctx, http.MethodPost, "", "/containers/"+resp.ID+"/start", nil, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	c.Refresh(ctx, ct) // as the API does after a call that changes a container
	time.Sleep(300 * time.Millisecond)
	if n := inspects.Load() - before; n != 2 {
		t.Errorf("create + start through the manager inspected the container %d times; want 2 (one per call)", n)
	}
	if ct, _ := c.Container(resp.ID); ct == nil || ct.State != "running" {
		t.Fatalf("cache after start: %+v", ct)
	}
	// Behind the manager's back: only the engine's event tells.
	req := httptest.NewRequest(http.MethodPost, "/v1.41/containers/"+resp.ID+"/stop", nil)
	sim.ServeHTTP(httptest.NewRecorder(), req)
	waitFor(t, func() bool { ct, _ := c.Container(resp.ID); return ct != nil && ct.State == "exited" })
}
