package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

// Changes made through the manager and behind its back both reach the cache.
func TestEventsKeepTheCacheCurrent(t *testing.T) {
	var inspects atomic.Int32
	c, sim, _ := simCluster(t, "sim", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/json") && !strings.HasSuffix(r.URL.Path, "/containers/json") {
				inspects.Add(1)
			}
			sim.ServeHTTP(w, r)
		})
	})
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
	start := Call{Method: http.MethodPost, Path: "/containers/" + resp.ID + "/start", Changes: Changes{Container: resp.ID}}
	if err := ct.Engine.Do(ctx, start, nil); err != nil { // as the API does a call that changes a container
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	// Usually 1 (the start's re-read: a create caches from its request); 2 when an event arrives after that
	// re-read began (it cannot tell then).
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
	e.store.containers["aaaa1111"].seen = t0
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
		r := &e.store.rereads
		r.refreshing = map[string]time.Time{}
		if !tt.started.IsZero() {
			r.refreshing[tt.id] = tt.started
		}
		if got := r.readSinceLocked(tt.id, tt.event); got != tt.want {
			t.Errorf("%s, event at %v, re-read under way since %v: %v, want %v", tt.id, tt.event.Sub(t0), tt.started, got, tt.want)
		}
	}
}

// An event needs no re-read when the cache already shows it by the engine's own clock.
func TestAlreadyCached(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ct := func(running, provisional bool, started, finished time.Time) *Container {
		info := &container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{
			Running: running, StartedAt: started.Format(time.RFC3339Nano), FinishedAt: finished.Format(time.RFC3339Nano)}}}
		c := &Container{RunState: info.State, times: timesOf(info), provisional: provisional}
		return c
	}
	ev := func(action events.Action, at time.Time) events.Message {
		return events.Message{Action: action, TimeNano: at.UnixNano()}
	}
	ms := time.Millisecond
	for _, tt := range []struct {
		what string
		ct   *Container
		m    events.Message
		want bool
	}{
		{"create of an uncached container", nil, ev(events.ActionCreate, t0), false},
		{"create of a cached one", ct(false, true, time.Time{}, time.Time{}), ev(events.ActionCreate, t0), true},
		{"start the cache holds", ct(true, false, t0, time.Time{}), ev(events.ActionStart, t0.Add(3*ms)), true},
		{"start of a provisional entry", ct(true, true, t0, time.Time{}), ev(events.ActionStart, t0.Add(3*ms)), false},
		{"start the cache does not hold yet", ct(false, false, time.Time{}, time.Time{}), ev(events.ActionStart, t0), false},
		{"a later start than the cached one", ct(true, false, t0, time.Time{}), ev(events.ActionStart, t0.Add(5*time.Second)), false},
		{"start before the cached one", ct(true, false, t0, time.Time{}), ev(events.ActionStart, t0.Add(-ms)), false},
		{"exit the cache holds", ct(false, false, t0, t0.Add(time.Second)), ev(events.ActionDie, t0.Add(time.Second+ms)), true},
		{"exit while the cache shows it running", ct(true, false, t0, time.Time{}), ev(events.ActionDie, t0.Add(time.Second)), false},
		{"pause (no time to compare)", ct(true, false, t0, time.Time{}), ev(events.ActionPause, t0.Add(ms)), false},
	} {
		if got := alreadyCached(tt.ct, tt.m); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.what, got, tt.want)
		}
	}
}

// Events that a call through the manager causes start no re-read of their own: a create in flight caches its
// container itself, a promised re-read (a call's Changes) covers the events before it, and a re-read that began
// before an event decides, once done, whether the event needs another. Events from elsewhere are re-read as
// before.
func TestEventsOfCallsThroughTheManagerCostNoReread(t *testing.T) {
	var inspects atomic.Int32
	c, sim, _ := simCluster(t, "sim", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/containers/") && strings.HasSuffix(r.URL.Path, "/json") &&
				!strings.HasSuffix(r.URL.Path, "/containers/json") {
				inspects.Add(1)
			}
			sim.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	e := c.Engines()[0]
	direct := func(method, path, body string) string { // a call that reaches the engine without the manager
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, httptest.NewRequest(method, "/v1.41"+path, strings.NewReader(body)))
		var out struct{ ID string }
		json.Unmarshal(rec.Body.Bytes(), &out)
		return out.ID
	}
	settled := func(what string, want int32) {
		t.Helper()
		time.Sleep(150 * time.Millisecond) // the event arrived and its settle time passed
		if got := inspects.Swap(0); got != want {
			t.Fatalf("%s: %d inspects, want %d", what, got, want)
		}
	}
	body := func(swarmID string) string {
		return `{"Image":"busybox","Labels":{"` + LabelSwarmID + `":"` + swarmID + `"}}`
	}

	done := e.store.orphans.creating("in-flight")
	id := direct(http.MethodPost, "/containers/create", body("in-flight"))
	settled("the create event of a create in flight", 0)
	done(id)
	id = direct(http.MethodPost, "/containers/create", body("elsewhere"))
	settled("the create event of a container made elsewhere", 1)

	ct := e.store.get(id)
	if ct == nil {
		t.Fatal("the container created elsewhere is not cached after its event's re-read")
	}
	reread := e.store.promise(ct.ID)
	direct(http.MethodPost, "/containers/"+id+"/start", "")
	settled("the start event during a call with a promised re-read", 0)
	reread(ctx)
	settled("the promised re-read", 1)
	reread(ctx)
	settled("a second call of the promised re-read", 0)
	if ct := e.store.get(id); ct == nil || ct.State != "running" {
		t.Fatalf("after the promised re-read: %+v", ct)
	}

	e.store.mu.Lock()
	e.store.rereads.refreshing[id] = time.Now() // a re-read under way that began before the next event
	e.store.mu.Unlock()
	direct(http.MethodPost, "/containers/"+id+"/stop", "")
	settled("a stop event while an earlier re-read is under way", 0)
	e.store.mu.Lock()
	delete(e.store.rereads.refreshing, id) // it ended without showing the stop
	e.store.mu.Unlock()
	settled("the stop event once that re-read ended", 1)
	if ct := e.store.get(id); ct == nil || ct.State != "exited" {
		t.Fatalf("after the stop's re-read: %+v", ct)
	}
}

// A re-read that began after a container's first event but before a later one does not show the later one: the
// container is re-read again (a task's exit right after its start was once left unseen this way).
func TestARereadBetweenTwoEventsDoesNotCoverTheLaterOne(t *testing.T) {
	c, sim, _ := simCluster(t, "sim", 0, func(h http.Handler) http.Handler { return h })
	e := c.Engines()[0]
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1.41/containers/create", strings.NewReader(`{"Image":"busybox"}`)))
	var out struct{ ID string }
	json.Unmarshal(rec.Body.Bytes(), &out)
	sim.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1.41/containers/"+out.ID+"/start", nil))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) { // its events are re-read
		ct := e.store.get(out.ID)
		if ct != nil && ct.State == "running" {
			time.Sleep(150 * time.Millisecond) // and any re-read still due has run
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the started container is not cached as running: %+v", ct)
		}
	}
	ev := func(a events.Action) *events.Message {
		return &events.Message{Type: events.ContainerEventType, Action: a, Actor: events.Actor{ID: out.ID}, TimeNano: time.Now().UnixNano()}
	}
	ctx := context.Background()
	e.store.mu.Lock()
	e.store.rereads.draining = true // the marks wait for the next call below, not for a drain of their own
	e.store.mu.Unlock()
	e.store.rereads.mark(ctx, out.ID, ev(events.ActionStart))
	time.Sleep(time.Millisecond)
	e.store.mu.Lock()
	readAfterStart := *e.store.containers[out.ID] // as a re-read begun after the start event cached it
	readAfterStart.seen = time.Now()
	e.store.containers[out.ID] = &readAfterStart
	e.store.mu.Unlock()
	time.Sleep(time.Millisecond)
	e.store.rereads.mark(ctx, out.ID, ev(events.ActionDie))
	todo, _ := e.store.rereads.next(context.Background())
	if !slices.Contains(todo, out.ID) {
		t.Errorf("re-reads after a start and a die with the cache read between them: %v, want the container", todo)
	}
}
