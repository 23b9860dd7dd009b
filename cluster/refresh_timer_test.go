package cluster

import (
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

// The periodic refresh re-reads an engine at its interval, at once when nudged (a burst of nudges is one
// refresh, or two when one is under way), never two at a time, and stops when the engine leaves.
func TestRefreshTimer(t *testing.T) {
	var lists, running, overlaps atomic.Int32
	sim := simengine.New(simengine.Options{Name: "sim", Containers: 2})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/containers/json") {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
			lists.Add(1)
			defer running.Add(-1)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sched, _ := scheduler.New(scheduler.Config{})
	c := New(t.Context(), Options{RefreshMin: 400 * time.Millisecond, RefreshMax: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sched)
	t.Cleanup(c.Close)
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	waitFor(t, func() bool { return len(c.Engines()) == 1 && c.Engines()[0].Healthy() })
	e := c.Engines()[0]

	base := lists.Load() // the connect's own list
	time.Sleep(1500 * time.Millisecond)
	if n := lists.Load() - base; n < 1 || n > 4 {
		t.Errorf("%d periodic refreshes in 1.5 s at a 400-500 ms interval", n)
	}
	base = lists.Load()
	for range 20 {
		e.ticker.nudge()
	}
	waitFor(t, func() bool { return lists.Load() > base })
	time.Sleep(60 * time.Millisecond) // a second refresh, if one was under way when nudged
	if n := lists.Load() - base; n > 2 {
		t.Errorf("20 nudges at once made %d refreshes, want 1 (2 if one was under way)", n)
	}
	if overlaps.Load() > 0 {
		t.Errorf("%d refreshes of one engine overlapped", overlaps.Load())
	}
	c.SetEngines(nil)
	time.Sleep(50 * time.Millisecond)
	base = lists.Load()
	time.Sleep(600 * time.Millisecond)
	if n := lists.Load() - base; n != 0 {
		t.Errorf("%d refreshes after the engine left", n)
	}
}

// A full refresh reads the cache while re-reads of single containers change it in place: the race detector
// (go test -race) must see no unsynchronized access (a CI run's manager once died of "concurrent map read and
// map write" there).
func TestFullRefreshBesideReReads(t *testing.T) {
	c, _, _ := simCluster(t, "sim", 0, nil)
	e := c.Engines()[0]
	ctx := t.Context()
	var ids []string
	for range 8 {
		resp, err := c.CreateContainer(ctx, CreateRequest{Body: []byte(`{"Image":"busybox"}`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.ID)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			e.store.reread(ctx, ids[i%len(ids)])
		}
	}()
	for i := 0; i < 50; i++ {
		e.store.mu.Lock()
		e.store.listSum = 0 // the list is taken in again, not skipped as unchanged
		e.store.mu.Unlock()
		if err := e.store.refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

// A periodic refresh lists the containers each time and the images, networks and volumes (which events keep)
// at every sideListsEvery-th one; a nudge re-reads all four.
func TestPeriodicRefreshReadsTheOtherListsLessOften(t *testing.T) {
	e, counts := countingEngine(t, 40*time.Millisecond)
	for i, n := range counts() {
		if n != 1 {
			t.Fatalf("connecting read %s %d times, want once", listPaths[i], n)
		}
	}
	waitFor(t, func() bool { return counts()[0] >= 1+4*sideListsEvery })
	n := counts()
	periodic := n[0] - 1
	for i := 1; i < 4; i++ {
		if want := 1 + periodic/sideListsEvery; n[i] != want || n[i] >= n[0] {
			t.Errorf("%d periodic refreshes read %s %d times besides connecting, want %d", periodic, listPaths[i], n[i]-1, want-1)
		}
	}

	e, counts = countingEngine(t, time.Hour) // no periodic refresh: the nudge's is the first
	e.ticker.nudge()
	waitFor(t, func() bool { return counts()[0] == 2 })
	if n := counts(); n != [4]int32{2, 2, 2, 2} {
		t.Errorf("a nudged refresh read the lists %v times (containers, images, networks, volumes; connecting included), want 2 each", n)
	}
}

var listPaths = [4]string{"/containers/json", "/images/json", "/networks", "/volumes"}

// countingEngine is a connected engine refreshed every interval (to 1.25 times it) and a function that
// counts how often it has read each of listPaths, taken between two refreshes.
func countingEngine(t *testing.T, interval time.Duration) (*Engine, func() [4]int32) {
	var reads [4]atomic.Int32
	sim := simengine.New(simengine.Options{Name: "sim", Containers: 2})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i, p := range listPaths {
			if strings.HasSuffix(r.URL.Path, p) {
				reads[i].Add(1)
			}
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sched, _ := scheduler.New(scheduler.Config{})
	c := New(t.Context(), Options{RefreshMin: interval, RefreshMax: interval * 5 / 4,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sched)
	t.Cleanup(c.Close)
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	waitFor(t, func() bool { return len(c.Engines()) == 1 && c.Engines()[0].Healthy() })
	e := c.Engines()[0]
	return e, func() (n [4]int32) {
		e.ticker.ticking.Lock()
		defer e.ticker.ticking.Unlock()
		for i := range reads {
			n[i] = reads[i].Load()
		}
		return n
	}
}
