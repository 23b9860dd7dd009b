package list

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// consul stands in for Consul's KV list endpoint with handle and returns a consul:// URL with prefix p.
func consul(t *testing.T, handle http.HandlerFunc) string {
	srv := httptest.NewServer(handle)
	t.Cleanup(srv.Close)
	return "consul://" + srv.Listener.Addr().String() + "/p"
}

// nodesInConsul answers with the classic layout: the directory key, then one key per engine.
func nodesInConsul(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/kv/p/docker/swarm/nodes/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Consul-Index", "3")
	w.Header().Set("X-Consul-LastContact", "0")
	json.NewEncoder(w).Encode(api.KVPairs{
		{Key: "p/docker/swarm/nodes/"},
		{Key: "p/docker/swarm/nodes/10.0.0.2:2375", Value: []byte("10.0.0.2:2375")},
		{Key: "p/docker/swarm/nodes/10.0.0.1:2375", Value: []byte("10.0.0.1:2375")},
	})
}

func engineFile(t *testing.T, content string) string {
	path := filepath.Join(t.TempDir(), "engines")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

func run(discovery string, opts map[string]string, timeout time.Duration) (string, error) {
	var out bytes.Buffer
	err := Run(context.Background(), Config{Discovery: discovery, DiscoveryOpts: opts, Timeout: timeout, Out: &out,
		Logger: slog.New(slog.DiscardHandler)})
	return out.String(), err
}

func TestListPrintsTheFirstListOneEnginePerLine(t *testing.T) {
	for _, tt := range []struct {
		name, url string
	}{
		{"nodes", "nodes://10.0.0.2:2375,10.0.0.1:2375"},
		{"bare list with a range", "10.0.0.[1:2]:2375"},
		{"file", engineFile(t, "# rack 1\n10.0.0.2:2375\n10.0.0.1:2375\n")},
		{"consul", consul(t, nodesInConsul)},
	} {
		out, err := run(tt.url, nil, 5*time.Second)
		if err != nil || out != "10.0.0.1:2375\n10.0.0.2:2375\n" {
			t.Errorf("%s: printed %q, error %v", tt.name, out, err)
		}
	}
}

func TestListTimesOutSayingWhy(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	noLeader := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "No cluster leader", http.StatusInternalServerError)
	}
	silent := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	for _, tt := range []struct {
		name, url, cause string
	}{
		{"a file that is not there", "file://" + missing,
			": discovery file " + missing + ": open " + missing + ": no such file or directory"},
		{"Consul without a leader", consul(t, noLeader),
			": watching p/docker/swarm/nodes/ in Consul: Unexpected response code: 500 (No cluster leader)"},
		{"Consul that never answers", consul(t, silent), ""},
	} {
		out, err := run(tt.url, nil, 300*time.Millisecond)
		want := "Timed out after 300ms waiting for the list of engines from " + tt.url + tt.cause
		if err == nil || err.Error() != want || out != "" {
			t.Errorf("%s: printed %q, error %v\nwant error %q", tt.name, out, err, want)
		}
	}
}

func TestListRefusesAnUnknownDiscoveryOption(t *testing.T) {
	out, err := run("nodes://10.0.0.1:2375", map[string]string{"kv.paht": "x"}, time.Second)
	want := `unknown discovery option "kv.paht": known options are consul.token, kv.cacertfile, kv.certfile, kv.keyfile, kv.path`
	if err == nil || err.Error() != want || out != "" {
		t.Fatalf("printed %q, error %v\nwant %q", out, err, want)
	}
}
