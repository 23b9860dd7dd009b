package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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

// BenchmarkCreateStartParallel is BenchmarkCreateStart from 64 clients at once; it also reports how many
// container inspects the engines answered per run (the start's re-read is one; events must not add more).
func BenchmarkCreateStartParallel(b *testing.B) {
	engines := sims(8, 30)
	f := newFixture(b, engines...)
	f.waitHealthy(b, 8)
	var before int64
	for _, e := range engines {
		before += e.Inspects()
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Post(f.api.URL+"/containers/create", "application/json",
				strings.NewReader(`{"Image":"busybox","Cmd":["sleep","1d"]}`))
			if err != nil {
				b.Error(err)
				return
			}
			var created struct{ ID string }
			json.NewDecoder(resp.Body).Decode(&created)
			resp.Body.Close()
			resp, err = hc.Post(f.api.URL+"/containers/"+created.ID+"/start", "", nil)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // re-reads that events started
	var after int64
	for _, e := range engines {
		after += e.Inspects()
	}
	b.ReportMetric(float64(after-before)/float64(b.N), "inspects/op")
}
