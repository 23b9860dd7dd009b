package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"

	"swarm/pipework/cmdline"
)

// fakeKV answers the few Consul KV calls the pool command makes (get, list, check-and-set put, delete) from a map.
type fakeKV struct {
	mu    sync.Mutex
	pairs map[string][]byte
	index uint64
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.TrimPrefix(r.URL.Path, "/v1/kv/")
	w.Header().Set("X-Consul-LastContact", "0")
	w.Header().Set("X-Consul-KnownLeader", "true")
	switch r.Method {
	case http.MethodGet:
		f.get(w, key, r.URL.Query().Has("recurse"))
	case http.MethodPut:
		_, exists := f.pairs[key]
		if r.URL.Query().Get("cas") == "0" && exists {
			io.WriteString(w, "false")
			return
		}
		f.pairs[key], _ = io.ReadAll(r.Body)
		f.index++
		io.WriteString(w, "true")
	case http.MethodDelete:
		delete(f.pairs, key)
		io.WriteString(w, "true")
	}
}

func (f *fakeKV) get(w http.ResponseWriter, key string, recurse bool) {
	var out api.KVPairs
	for k, v := range f.pairs {
		if k == key || recurse && strings.HasPrefix(k, key) {
			out = append(out, &api.KVPair{Key: k, Value: v, ModifyIndex: f.index})
		}
	}
	if len(out) == 0 {
		http.NotFound(w, nil)
		return
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	json.NewEncoder(w).Encode(out)
}

func runPoolLine(t *testing.T, line ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := Env{Program: "swarm", Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut}
	err := run(context.Background(), e, append([]string{"pipework", "pool"}, line...), fakeRunners(&captured{}))
	return out.String(), errOut.String(), err
}

func TestPoolsAreAddedListedAndRemovedInConsul(t *testing.T) {
	kv := &fakeKV{pairs: map[string][]byte{}}
	srv := httptest.NewServer(kv)
	defer srv.Close()
	disc := "consul://" + strings.TrimPrefix(srv.URL, "http://") + "/swarm"
	for _, line := range [][]string{
		{"add", disc, "lan", "10.99.0.0/24", "10.99.0.200-10.99.0.230@10.99.0.1"},
		{"add", disc, "dmz", "192.168.5.0/24", "192.168.5.10-192.168.5.20"},
	} {
		if out, stderr, err := runPoolLine(t, line...); err != nil || out != "" || stderr != "" {
			t.Fatalf("pool %v: %v %q %q", line, err, out, stderr)
		}
	}
	if _, ok := kv.pairs["swarm/pipework/pools/lan"]; !ok {
		t.Fatalf("pool lan is not under the discovery prefix: %v", kv.pairs)
	}
	out, _, err := runPoolLine(t, "ls", disc)
	want := "NAME  SUBNET          RANGE                      GATEWAY\n" +
		"dmz   192.168.5.0/24  192.168.5.10-192.168.5.20  \n" +
		"lan   10.99.0.0/24    10.99.0.200-10.99.0.230    10.99.0.1\n"
	if err != nil || out != want {
		t.Fatalf("pool ls: %v\n%s\nwant\n%s", err, out, want)
	}
	_, stderr, err := runPoolLine(t, "add", disc, "lan", "10.99.0.0/24", "10.99.0.1-10.99.0.2")
	if err == nil || stderr != "pipework pool: pool lan already exists\n" {
		t.Fatalf("a second pool lan: %v %q", err, stderr)
	}
	if _, _, err := runPoolLine(t, "rm", disc, "lan"); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := runPoolLine(t, "ls", disc); strings.Contains(out, "lan") {
		t.Fatalf("pool lan still listed after rm:\n%s", out)
	}
	_, stderr, _ = runPoolLine(t, "rm", disc, "lan")
	if stderr != "pipework pool: no pool named lan (swarm pipework pool ls lists them)\n" {
		t.Fatalf("rm of a missing pool: %q", stderr)
	}
}

func TestPoolCommandLineErrors(t *testing.T) {
	for _, tt := range []struct {
		line []string
		want string
	}{
		{nil, "pipework pool: wrong arguments\n" + poolUsage + "\n"},
		{[]string{"ls"}, "pipework pool: wrong arguments\n" + poolUsage + "\n"},
		{[]string{"add", "consul://c:8500/x", "lan"}, "pipework pool: wrong arguments\n" + poolUsage + "\n"},
		{[]string{"ls", "etcd://c:2379/x"}, `pipework pool: pools live in Consul: give a consul://HOST:PORT/PREFIX discovery URL, not "etcd://c:2379/x"` + "\n"},
		{[]string{"add", "consul://c:8500/x", "lan", "10.0.0.0/33", "10.0.0.1-10.0.0.2"}, `pipework pool: invalid pool subnet "10.0.0.0/33": use ADDRESS/LEN` + "\n"},
	} {
		out, stderr, err := runPoolLine(t, tt.line...)
		var ee *cmdline.ExitError
		if !errors.As(err, &ee) || ee.Code != cmdline.ExitUsage || stderr != tt.want || out != "" {
			t.Errorf("pool %v: %v, stderr %q, want %q (exit %d)", tt.line, err, stderr, tt.want, cmdline.ExitUsage)
		}
	}
}
