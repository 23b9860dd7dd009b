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

	"github.com/docker/docker/api/types/container"

	"swarm/internal/simengine"
	"swarm/scheduler"
)

// Changes made through the manager and behind its back both reach the cache.
func TestEventsKeepTheCacheCurrent(t *testing.T) {
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
	// Usually 2 (one per call); 3 when an event arrives after the call's own re-read began (it cannot tell then).
	t.Logf("create + start through the manager inspected the container %d times", inspects.Load()-before)
	if ct, _ := c.Container(resp.ID); ct == nil || ct.State != "running" {
		t.Fatalf("cache after start: %+v", ct)
	}
	// Behind the manager's back: only the engine's event tells.
	req := httptest.NewRequest(http.MethodPost, "/v1.41/containers/"+resp.ID+"/stop", nil)
	sim.ServeHTTP(httptest.NewRecorder(), req)
	waitFor(t, func() bool { ct, _ := c.Container(resp.ID); return ct != nil && ct.State == "exited" })
}

// An event needs no re-read of its container when a re-read began after the event arrived, finished or under way.
func TestReadSince(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{"node-0": {summary("aaaa1111", "web", "running", 1, nil)}})
	e := c.Engines()[0]
	t0 := time.Now()
	e.containers["aaaa1111"].seen = t0
	for _, tt := range []struct {
		id      string
		event   time.Time
		started time.Time // of a re-read under way; zero for none
		want    bool
	}{
		{"aaaa1111", t0.Add(-time.Millisecond), time.Time{}, true}, // cached from a read that began after the event
		{"aaaa1111", t0.Add(time.Millisecond), time.Time{}, false}, // the cached read is older than the event
		{"aaaa1111", t0.Add(time.Millisecond), t0.Add(2 * time.Millisecond), true},
		{"aaaa1111", t0.Add(time.Millisecond), t0, false},
		{"bbbb2222", t0, time.Time{}, false}, // not cached: read it
		{"bbbb2222", t0, t0.Add(time.Millisecond), true},
	} {
		e.refreshing = map[string]time.Time{}
		if !tt.started.IsZero() {
			e.refreshing[tt.id] = tt.started
		}
		if got := e.readSinceLocked(tt.id, tt.event); got != tt.want {
			t.Errorf("%s, event at %v, re-read under way since %v: %v, want %v", tt.id, tt.event.Sub(t0), tt.started, got, tt.want)
		}
	}
}
