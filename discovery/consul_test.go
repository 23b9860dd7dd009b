package discovery

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// kvListServer stands in for Consul's KV list endpoint: it answers a first list with pairs and holds blocking
// queries (index set) until the caller leaves. Each request's token and path are sent on seen.
func kvListServer(t *testing.T, pairs api.KVPairs) (addr string, seen <-chan string) {
	requests := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case requests <- r.Header.Get("X-Consul-Token") + " " + r.URL.Path:
		default:
		}
		if r.URL.Query().Get("index") != "" {
			<-r.Context().Done() // nothing changes
			return
		}
		w.Header().Set("X-Consul-Index", "7")
		w.Header().Set("X-Consul-LastContact", "0")
		json.NewEncoder(w).Encode(pairs)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), requests
}

func TestNewConsulWatchesThroughTheGivenClient(t *testing.T) {
	addr, seen := kvListServer(t, api.KVPairs{
		{Key: "p/nodes/b:2", Value: []byte("b:2")},
		{Key: "p/nodes/a:1", Value: []byte("a:1")},
	})
	client, err := api.NewClient(&api.Config{Address: addr, Token: "the-shared-client"})
	if err != nil {
		t.Fatal(err)
	}
	// The token option is the client's business: NewConsul ignores it.
	b, err := NewConsul(client, "/p/", Options{Opts: map[string]string{"kv.path": "/nodes/", "consul.token": "not-this-one"}})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := b.Watch(t.Context())
	select {
	case got := <-entries:
		if addrs(got) != "a:1,b:2" {
			t.Fatalf("entries %q", addrs(got))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no entries")
	}
	if got := <-seen; got != "the-shared-client /v1/kv/p/nodes/" {
		t.Fatalf("first request %q, want the given client's token and the prefixed nodes directory", got)
	}
	if c, ok := b.(interface{ Client() *api.Client }); !ok || c.Client() != client {
		t.Fatal("the backend does not expose the given client")
	}
}

func TestNewConsulNeedsAClient(t *testing.T) {
	_, err := NewConsul(nil, "p", Options{})
	if err == nil || err.Error() != "consul discovery needs a Consul client" {
		t.Fatalf("error %v", err)
	}
}
