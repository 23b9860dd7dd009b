package join

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"swarm/overlay/agent"
)

// healthEngine stands in for an engine's events and container list: its first events stream sends two
// health events and breaks, the second stays open. The list says web.1.x is starting, then (after the events)
// healthy.
func healthEngine(t *testing.T) (*client.Client, *atomic.Int32) {
	t.Helper()
	var streams atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/events"):
			args, err := filters.FromJSON(r.URL.Query().Get("filters"))
			if err != nil || !args.ExactMatch("event", "health_status") || !args.ExactMatch("type", "container") {
				http.Error(w, "unexpected filters "+r.URL.Query().Get("filters"), http.StatusBadRequest)
				return
			}
			n := streams.Add(1) // before the client sees the stream open and lists the containers
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			if n > 1 {
				<-r.Context().Done()
				return
			}
			enc := json.NewEncoder(w)
			for _, action := range []events.Action{events.ActionHealthStatusHealthy, "health_status: /bin/sh -c test -f /tmp/ok",
				events.ActionHealthStatusUnhealthy} {
				enc.Encode(events.Message{Type: events.ContainerEventType, Action: action,
					Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": "web.1.x"}}})
			}
		case strings.HasSuffix(r.URL.Path, "/containers/json"):
			args, _ := filters.FromJSON(r.URL.Query().Get("filters"))
			want := container.Starting
			if streams.Load() > 1 {
				want = container.Healthy
			}
			var out []container.Summary
			if args.ExactMatch("health", want) {
				out = append(out, container.Summary{ID: "abc", Names: []string{"/web.1.x", "/client/web"}})
			}
			json.NewEncoder(w).Encode(out)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithVersion("1.41"))
	if err != nil {
		t.Fatal(err)
	}
	return cli, &streams
}

// The health of the containers is reported at connection, then at each event; when the stream breaks it is
// reported again at reconnection, so a change missed meanwhile is caught.
func TestHealthIsFollowedFromTheEnginesEventsAndCaughtUpAtEachConnection(t *testing.T) {
	cli, streams := healthEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	n := engineNamer{engine: cli, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n.FollowHealth(ctx, func(c agent.HealthChange) {
		got = append(got, c.Container+" "+c.Health)
		if len(got) == 4 {
			cancel()
		}
	})
	want := []string{"web.1.x starting", "web.1.x healthy", "web.1.x unhealthy", "web.1.x healthy"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("changes %q, want %q", got, want)
	}
	if streams.Load() != 2 {
		t.Fatalf("%d event streams, want 2 (one reconnection)", streams.Load())
	}
}

func TestOnlyHealthyAndUnhealthyActionsAreHealth(t *testing.T) {
	for action, want := range map[events.Action]string{
		"health_status: healthy": "healthy", "health_status: unhealthy": "unhealthy",
		"health_status: running": "", "health_status: test -f /tmp/ok": "", "start": "",
	} {
		if got, ok := healthOf(action); got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", action, got, ok, want)
		}
	}
	if got := containerName([]string{"/client/web", "/web.1.x"}); got != "web.1.x" {
		t.Errorf("containerName: %q, want the container's own name, not a link's", got)
	}
}
