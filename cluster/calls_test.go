package cluster

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"

	"swarm/internal/simengine"
	"swarm/scheduler"
)

// A call that says what it changes finds the cache showing the change when its answer is read: the container
// re-read before Send returns, a wait's container re-read before its body is given, a list re-read once the
// answer's body ended. A call that says nothing changes nothing in the cache.
func TestCallsKeepTheCacheRightBeforeTheirAnswerIsRead(t *testing.T) {
	var nets atomic.Value
	nets.Store(`[{"Name":"bridge","Id":"b","Scope":"local"}]`)
	var inspects atomic.Int32
	c, sim, _ := simCluster(t, "calls", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/networks"):
				io.WriteString(w, nets.Load().(string))
			case strings.HasSuffix(r.URL.Path, "/networks/create"):
				nets.Store(`[{"Name":"bridge","Id":"b","Scope":"local"},{"Name":"app","Id":"a","Scope":"local"}]`)
				io.WriteString(w, `{"Id":"a"}`)
			default:
				if strings.Contains(r.URL.Path, "/containers/") && strings.HasSuffix(r.URL.Path, "/json") &&
					!strings.HasSuffix(r.URL.Path, "/containers/json") {
					inspects.Add(1)
				}
				sim.ServeHTTP(w, r)
			}
		})
	})
	e := c.Engines()[0]
	id := sim.Create("web", "busybox", nil)
	e.store.reread(t.Context(), id) // its create event may come before the engine's event stream is followed
	waitFor(t, func() bool { return e.store.get(id) != nil })
	time.Sleep(50 * time.Millisecond)

	inspects.Store(0)
	send := func(path string, ch Changes) string {
		resp, err := e.Send(t.Context(), Call{Method: http.MethodPost, Path: path, Changes: ch})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		state := e.store.get(id).State // as the answer is read
		io.Copy(io.Discard, resp.Body)
		return state
	}
	sim.SetState(id, "exited")
	e.store.reread(t.Context(), id)
	inspects.Store(0)
	if got := send("/containers/"+id+"/start", Changes{Container: id}); got != "running" {
		t.Errorf("the answer to a start was read with the cache showing %q", got)
	}
	time.Sleep(100 * time.Millisecond) // the start's event arrives: the promised re-read covered it
	if n := inspects.Swap(0); n != 1 {
		t.Errorf("a start through Send re-read the container %d times, want once", n)
	}

	sim.SetState(id, "exited") // behind the manager's back; then a wait whose answer comes at once
	resp, err := e.Send(t.Context(), Call{Method: http.MethodPost, Path: "/containers/" + id + "/wait",
		Changes: Changes{Container: id, Wait: true}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := e.store.get(id).State; got != "exited" || !bytes.Contains(body, []byte("StatusCode")) {
		t.Errorf("after a wait's body (%s) the cache shows %q, want exited", body, got)
	}

	if err := e.Do(t.Context(), Call{Method: http.MethodPost, Path: "/networks/create", Changes: Changes{Lists: Networks}}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Networks()); n != 2 {
		t.Errorf("after a network create the cache holds %d networks, want 2", n)
	}
	nets.Store(`[]`)
	inspects.Store(0)
	if err := e.Do(t.Context(), Call{Method: http.MethodGet, Path: "/containers/" + id + "/json"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Networks()); n != 2 || inspects.Load() != 1 {
		t.Errorf("a call without Changes touched the cache: %d networks, %d inspects", n, inspects.Load())
	}
}

// With the original's --refresh-on-node-filter, a list filtered by node re-reads that engine's containers first;
// with --container-name-refresh-filter V, a list filtered by name=V re-reads every engine. Without them a list
// is served from the cache alone.
func TestListsRefreshAsTheOriginalsFlagsAsk(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		filter filters.Args
		want   [2]int32 // container lists each engine was asked for
	}{
		{"no flag, node filter", Options{}, filters.NewArgs(filters.Arg("node", "sim-0")), [2]int32{0, 0}},
		{"node flag, node filter", Options{RefreshOnNodeFilter: true}, filters.NewArgs(filters.Arg("node", "sim-0")), [2]int32{1, 0}},
		{"node flag, no filter", Options{RefreshOnNodeFilter: true}, filters.Args{}, [2]int32{0, 0}},
		{"name flag, that name", Options{NameRefreshFilter: "web"}, filters.NewArgs(filters.Arg("name", "web")), [2]int32{1, 1}},
		{"name flag, another name", Options{NameRefreshFilter: "web"}, filters.NewArgs(filters.Arg("name", "db")), [2]int32{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, lists := countedCluster(t, tc.opts, "sim-0", "sim-1")
			before := [2]int32{lists[0].Load(), lists[1].Load()}
			if _, err := c.ListContainers(t.Context(), ListOptions{All: true, Filters: tc.filter}); err != nil {
				t.Fatal(err)
			}
			if got := [2]int32{lists[0].Load() - before[0], lists[1].Load() - before[1]}; got != tc.want {
				t.Errorf("engines listed %v times for the list, want %v", got, tc.want)
			}
		})
	}
}

// countedCluster is a cluster of simulated engines with the given names (periodic refreshes off) and, for each,
// how many container lists it was asked for.
func countedCluster(t *testing.T, opts Options, names ...string) (*Cluster, []atomic.Int32) {
	t.Helper()
	lists := make([]atomic.Int32, len(names))
	sched, err := scheduler.New(scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	opts.RefreshMin, opts.RefreshMax = time.Hour, time.Hour
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	c := New(t.Context(), opts, sched)
	var addrs []string
	for i, name := range names {
		sim := simengine.New(simengine.Options{Name: name, Containers: 1})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/containers/json") {
				lists[i].Add(1)
			}
			sim.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	t.Cleanup(c.Close) // before the servers close: they wait for the event streams
	c.SetEngines(addrs)
	waitFor(t, func() bool { return len(Healthy(c.Engines())) == len(names) })
	return c, lists
}
