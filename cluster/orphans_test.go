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

// An engine that refuses to remove the orphan at first (its storage driver still busy with the container, as
// one is right after its own restart): the removal is tried again until the container is gone.
func TestAnOrphanTheEngineRefusesToRemoveAtFirstIsRemovedLater(t *testing.T) {
	var refusals atomic.Int32
	c, sim, _ := simCluster(t, "busy", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/containers/create"):
				sim.ServeHTTP(httptest.NewRecorder(), r)
				http.Error(w, `{"message":"daemon is shutting down"}`, http.StatusInternalServerError)
			case r.Method == http.MethodDelete && refusals.Add(1) <= 3:
				http.Error(w, `{"message":"driver \"overlay2\" failed to remove root filesystem: device or resource busy"}`, http.StatusInternalServerError)
			default:
				sim.ServeHTTP(w, r)
			}
		})
	})
	if _, err := c.CreateContainer(context.Background(), CreateRequest{Name: "orphan", Body: []byte(`{"Image":"busybox"}`)}); err == nil {
		t.Fatal("create succeeded although the engine failed it")
	}
	waitFor(t, func() bool { return sim.ContainerCount() == 0 && len(c.Containers()) == 0 })
	if n := refusals.Load(); n < 4 {
		t.Fatalf("the engine was asked %d times to remove the orphan, want the 3 refusals and one more", n)
	}
}
