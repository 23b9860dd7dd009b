package cluster

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A create answers without reading the container back: it is cached from the request at once (the scheduler
// counts its port), and the engine's view replaces that entry as soon as the engine can be asked.
func TestCreatedContainerIsCachedFromTheRequest(t *testing.T) {
	gate := make(chan struct{})
	c, _, _ := simCluster(t, "sim", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v") && strings.Contains(r.URL.Path, "/containers/") &&
				strings.HasSuffix(r.URL.Path, "/json") && !strings.HasSuffix(r.URL.Path, "/containers/json") {
				<-gate // inspects wait until the test lets them through
			}
			sim.ServeHTTP(w, r)
		})
	})
	type result struct {
		resp *CreateResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.CreateContainer(context.Background(), CreateRequest{Name: "web",
			Body: []byte(`{"Image":"busybox","Cmd":["sleep","1d"],"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}`)})
		done <- result{resp, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(5 * time.Second):
		close(gate)
		t.Fatal("the create waited for an inspect of the new container")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	ct, err := c.Container("web")
	if err != nil {
		t.Fatalf("created container not found by name at once: %v", err)
	}
	if !ct.provisional || ct.ID != res.resp.ID || ct.State != "created" || ct.Command != "sleep 1d" {
		t.Errorf("cached at create: provisional %v, ID %s (want %s), state %q, command %q", ct.provisional, ct.ID, res.resp.ID, ct.State, ct.Command)
	}
	var bound []string
	for _, sc := range c.placer.nodes()[0].Containers {
		for _, b := range sc.HostConfig.PortBindings["80/tcp"] {
			bound = append(bound, b.HostPort)
		}
	}
	if len(bound) != 1 || bound[0] != "8080" {
		t.Errorf("the scheduler sees host ports %v bound on the node, want the new container's 8080", bound)
	}
	close(gate)
	waitFor(t, func() bool { ct, _ := c.Container("web"); return ct != nil && !ct.provisional && ct.ImageID != "" })
}
