package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
)

// A network or a volume asked for on every node but refused by some is not left half made: it is removed again
// where this create made it (a volume a node held before stays), and the answer, with the first refusal's
// status, names every node that refused it.
func TestCreatesRefusedBySomeNodesAreUndone(t *testing.T) {
	var mu sync.Mutex
	var removed []string
	n := 0
	wrap := func(sim http.Handler) http.Handler {
		node := fmt.Sprintf("sim-%d", n)
		n++
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			refuse := func(status int, msg string) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"message":%q}`, msg)
			}
			switch p := r.URL.Path; {
			case strings.HasSuffix(p, "/networks/create") && node == "sim-1":
				refuse(http.StatusConflict, "network with name app already exists")
			case strings.HasSuffix(p, "/networks/create"):
				io.WriteString(w, `{"Id":"net-`+node+`"}`)
			case strings.HasSuffix(p, "/volumes/create") && node == "sim-2":
				refuse(http.StatusInternalServerError, "no space left on device")
			case strings.HasSuffix(p, "/volumes/create"):
				io.WriteString(w, `{"Name":"data","Driver":"local"}`)
			case strings.HasSuffix(p, "/volumes") && node == "sim-0": // sim-0 held the volume before
				io.WriteString(w, `{"Volumes":[{"Name":"data","Driver":"local"}]}`)
			case r.Method == http.MethodDelete:
				mu.Lock()
				removed = append(removed, node+" "+p[strings.Index(p[1:], "/")+1:])
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			default:
				sim.ServeHTTP(w, r)
			}
		})
	}
	f := newWrappedFixture(t, wrap, sims(3, 0)...)
	f.waitHealthy(t, 3)
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(removed)
		slices.Sort(out)
		removed = nil
		return out
	}

	_, err := f.cli.NetworkCreate(context.Background(), "app", network.CreateOptions{})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "sim-1: network with name app already exists") ||
		!strings.Contains(err.Error(), "network app was not created") {
		t.Errorf("network refused by sim-1: %v; want a conflict naming sim-1", err)
	}
	if got := taken(); !slices.Equal(got, []string{"sim-0 /networks/net-sim-0", "sim-2 /networks/net-sim-2"}) {
		t.Errorf("removed %v, want the network made on sim-0 and sim-2", got)
	}

	_, err = f.cli.VolumeCreate(context.Background(), volume.CreateOptions{Name: "data"})
	if err == nil || !strings.Contains(err.Error(), "sim-2: no space left on device") {
		t.Errorf("volume refused by sim-2: %v; want an error naming sim-2", err)
	}
	if got := taken(); !slices.Equal(got, []string{"sim-1 /volumes/data"}) {
		t.Errorf("removed %v, want the volume made on sim-1 alone (sim-0 held it before)", got)
	}

	if _, err := f.cli.NetworkCreate(context.Background(), "sim-0/solo", network.CreateOptions{}); err != nil {
		t.Errorf("a network on one node: %v", err)
	}
	if got := taken(); len(got) != 0 {
		t.Errorf("a create that succeeded removed %v", got)
	}
}
