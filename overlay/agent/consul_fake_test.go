package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"

	"swarm/overlay/netstate"
)

// fakeKV answers Consul's KV endpoints as the store uses them outside blocking queries: get (one key or a
// prefix with recurse), put (check-and-set with cas), delete. Every write moves the index.
type fakeKV struct {
	mu    sync.Mutex
	index uint64
	pairs map[string]*api.KVPair
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
	switch r.Method {
	case http.MethodGet:
		var out api.KVPairs
		for k, p := range f.pairs {
			if k == key || (q.Has("recurse") && strings.HasPrefix(k, key)) {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			http.NotFound(w, r)
			return
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		json.NewEncoder(w).Encode(out)
	case http.MethodPut:
		val, _ := io.ReadAll(r.Body)
		if cas := q.Get("cas"); cas != "" {
			idx, _ := strconv.ParseUint(cas, 10, 64)
			if cur := f.pairs[key]; (cur == nil && idx != 0) || (cur != nil && cur.ModifyIndex != idx) {
				io.WriteString(w, "false")
				return
			}
		}
		f.index++
		f.pairs[key] = &api.KVPair{Key: key, Value: val, ModifyIndex: f.index}
		io.WriteString(w, "true")
	case http.MethodDelete:
		for k := range f.pairs {
			if k == key || (q.Has("recurse") && strings.HasPrefix(k, key)) {
				delete(f.pairs, k)
			}
		}
		f.index++
		io.WriteString(w, "true")
	}
}

// storeForTest is a netstate store on a fresh fakeKV.
func storeForTest(t *testing.T) *netstate.Store {
	t.Helper()
	srv := httptest.NewServer(&fakeKV{pairs: map[string]*api.KVPair{}, index: 1})
	t.Cleanup(srv.Close)
	client, err := api.NewClient(&api.Config{Address: strings.TrimPrefix(srv.URL, "http://")})
	if err != nil {
		t.Fatal(err)
	}
	st, err := netstate.New(client, "test", netstate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fakeEngine is an Engine whose answers the test sets.
type fakeEngine struct {
	names        func(engineNetwork, endpoint string) (Naming, bool, error)
	followHealth func(ctx context.Context, changed func(HealthChange))
}

var _ Engine = (*fakeEngine)(nil)

func (f *fakeEngine) Names(_ context.Context, engineNetwork, endpoint string) (Naming, bool, error) {
	return f.names(engineNetwork, endpoint)
}

func (f *fakeEngine) Endpoints(context.Context, string) (map[string]bool, error) { return nil, nil }

func (f *fakeEngine) FollowHealth(ctx context.Context, changed func(HealthChange)) {
	if f.followHealth != nil {
		f.followHealth(ctx, changed)
	}
}

// noPlane is a Plane the test never expects to be used.
type noPlane struct{ Plane }

// agentForTest is an agent of host h1 on st, reading engine.
func agentForTest(t *testing.T, st *netstate.Store, engine Engine) *Agent {
	t.Helper()
	a, err := New(Config{Host: "h1", VTEP: net.ParseIP("10.99.0.10"), State: st, Plane: noPlane{}, Engine: engine,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
