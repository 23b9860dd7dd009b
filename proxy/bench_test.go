package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkCreateStart is `docker run -d` through the manager's API (create, then start) over 8 simulated
// engines in this process; its allocations per run are the manager's, the engines' and the client's.
func BenchmarkCreateStart(b *testing.B) {
	f := newFixture(b, sims(8, 30)...)
	f.waitHealthy(b, 8)
	hc := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.Post(f.api.URL+"/containers/create", "application/json",
			strings.NewReader(`{"Image":"busybox","Cmd":["sleep","1d"]}`))
		if err != nil {
			b.Fatal(err)
		}
		var created struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: %s", resp.Status)
		}
		resp, err = hc.Post(f.api.URL+"/containers/"+created.ID+"/start", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("start: %s", resp.Status)
		}
	}
}
