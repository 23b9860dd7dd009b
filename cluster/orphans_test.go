package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// An engine that creates the container and then drops the connection, or answers with a failure of its own
// (a 500, as an engine shutting down can): the client is told the create failed, so the container must not
// survive.
func TestAmbiguousCreateLeavesNoOrphan(t *testing.T) {
	for _, answer := range []string{"dropped", "500"} {
		t.Run(answer, func(t *testing.T) { ambiguousCreate(t, answer) })
	}
}

func ambiguousCreate(t *testing.T, answer string) {
	var drop atomic.Bool
	drop.Store(true)
	c, sim, _ := simCluster(t, "flaky", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/containers/create") && drop.Load() {
				sim.ServeHTTP(httptest.NewRecorder(), r) // the engine creates it...
				if answer == "500" {
					http.Error(w, `{"message":"daemon is shutting down"}`, http.StatusInternalServerError)
					return
				}
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close() // ...and the answer never arrives
				return
			}
			sim.ServeHTTP(w, r)
		})
	})
	_, err := c.CreateContainer(context.Background(), CreateRequest{Name: "orphan", Body: []byte(`{"Image":"busybox"}`)})
	if err == nil {
		t.Fatal("create succeeded although the answer was lost")
	}
	// Gone from the engine and from the cluster's view, so the name is free again.
	waitFor(t, func() bool { return sim.ContainerCount() == 0 && len(c.Containers()) == 0 })
	drop.Store(false)
	resp, err := c.CreateContainer(context.Background(), CreateRequest{Name: "orphan", Body: []byte(`{"Image":"busybox"}`)})
	if err != nil {
		t.Fatalf("second create: %v", err)
	}
	c.Engines()[0].store.orphans.removeDoomed(context.Background())
	if sim.ContainerCount() != 1 {
		t.Fatalf("engine holds %d containers, want only the confirmed %s", sim.ContainerCount(), resp.ID)
	}
}
