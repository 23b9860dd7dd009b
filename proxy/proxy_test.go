package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"swarm/cluster"
	"swarm/internal/metrics"
	"swarm/internal/simengine"
	"swarm/proxy"
	"swarm/scheduler"
)

// fixture is a manager API over simulated engines.
type fixture struct {
	cl      *cluster.Cluster
	api     *httptest.Server
	cli     *client.Client
	engines []*httptest.Server
	metrics *metrics.Metrics
}

func newFixture(t testing.TB, sims ...*simengine.Engine) *fixture {
	t.Helper()
	return newWrappedFixture(t, nil, sims...)
}

// newWrappedFixture is newFixture with each engine served through wrap (nil: as it is).
func newWrappedFixture(t testing.TB, wrap func(http.Handler) http.Handler, sims ...*simengine.Engine) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sched, err := scheduler.New(scheduler.Config{Strategy: "spread"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var cl *cluster.Cluster
	m := metrics.New(func() (map[string]int, map[string]int) { return cl.StateCounts() })
	cl = cluster.New(ctx, cluster.Options{Strategy: "spread", Filters: []string{"health"}, FailureRetry: 3,
		RefreshMin: time.Hour, RefreshMax: time.Hour, Metrics: m, Logger: log}, sched)
	f := &fixture{cl: cl, metrics: m}
	var addrs []string
	for _, s := range sims {
		var h http.Handler = s
		if wrap != nil {
			h = wrap(s)
		}
		srv := httptest.NewServer(h)
		f.engines = append(f.engines, srv)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	f.api = httptest.NewServer(proxy.New(proxy.Config{Backend: cl, Logger: log, Metrics: f.metrics}))
	f.cli, err = client.NewClientWithOpts(client.WithHost("tcp://"+strings.TrimPrefix(f.api.URL, "http://")),
		client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cl.Close()
		f.api.Close()
		for _, s := range f.engines {
			s.Close()
		}
	})
	cl.SetEngines(addrs)
	return f
}

func (f *fixture) waitHealthy(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		healthy := 0
		for _, e := range f.cl.Engines() {
			if e.Healthy() {
				healthy++
			}
		}
		if healthy == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("engines not healthy")
}

func sims(n, containers int) []*simengine.Engine {
	var out []*simengine.Engine
	for i := 0; i < n; i++ {
		out = append(out, simengine.New(simengine.Options{Name: "sim-" + string(rune('0'+i)), Containers: containers}))
	}
	return out
}

func TestListCreateInspect(t *testing.T) {
	f := newFixture(t, sims(3, 2)...)
	f.waitHealthy(t, 3)
	ctx := context.Background()
	list, err := f.cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil || len(list) != 6 {
		t.Fatalf("list: %d containers, err %v", len(list), err)
	}
	for _, c := range list {
		if !strings.HasPrefix(c.Names[0], "/sim-") || strings.Count(c.Names[0], "/") != 2 {
			t.Fatalf("name %q lacks the node prefix", c.Names[0])
		}
	}
	resp, err := f.cli.ContainerCreate(ctx, &container.Config{Image: "busybox", Env: []string{"constraint:node==sim-1"}}, nil, nil, nil, "web")
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.cli.ContainerInspect(ctx, "web")
	if err != nil || in.ID != resp.ID || in.Config.Labels[cluster.LabelSwarmID] == "" {
		t.Fatalf("inspect: %+v %v", in.Config, err)
	}
	var raw struct{ Node struct{ Name string } }
	b, _ := httpGet(t, f.api.URL+"/containers/web/json")
	json.Unmarshal(b, &raw)
	if raw.Node.Name == "" {
		t.Fatalf("inspect lacks Node: %s", b)
	}
	byNode, err := f.cli.ContainerInspect(ctx, raw.Node.Name+"/web")
	if err != nil || byNode.ID != resp.ID {
		t.Fatalf("lookup by node/name: %v", err)
	}
	bySwarmID, err := f.cli.ContainerInspect(ctx, in.Config.Labels[cluster.LabelSwarmID][:16])
	if err != nil || bySwarmID.ID != resp.ID {
		t.Fatalf("lookup by swarm ID prefix: %v", err)
	}
	_, err = f.cli.ContainerCreate(ctx, &container.Config{Image: "busybox"}, nil, nil, nil, "web")
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "Conflict") {
		t.Fatalf("duplicate name: %v", err)
	}
	_, err = f.cli.ContainerInspect(ctx, "nope")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "No such container: nope") {
		t.Fatalf("missing container: %v", err)
	}
	named, _ := f.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", "web"))})
	if len(named) != 1 || named[0].ID != resp.ID {
		t.Fatalf("name filter: %+v", named)
	}
}

func TestPingVersionAndErrors(t *testing.T) {
	f := newFixture(t, sims(1, 0)...)
	resp, err := http.Head(f.api.URL + "/_ping")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Api-Version") == "" {
		t.Fatalf("HEAD /_ping: %v %v", resp, err)
	}
	for path, want := range map[string]string{
		"/v1.12/info":       "client version 1.12 is too old",
		"/v9.99/info":       "client version 9.99 is too new",
		"/v1.41/nosuchpath": "is not served by swarm",
	} {
		b, status := httpGet(t, f.api.URL+path)
		var m map[string]string
		if json.Unmarshal(b, &m) != nil || !strings.Contains(m["message"], want) || status < 400 {
			t.Errorf("%s: %d %s, want a JSON message containing %q", path, status, b, want)
		}
	}
}

func TestEventsCarryTheNode(t *testing.T) {
	f := newFixture(t, sims(2, 0)...)
	f.waitHealthy(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, errs := f.cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("event", "create"))})
	time.Sleep(100 * time.Millisecond)
	if _, err := f.cli.ContainerCreate(ctx, &container.Config{Image: "busybox"}, nil, nil, nil, "evt"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		if m.Action != "create" || !strings.HasPrefix(m.Actor.Attributes["node.name"], "sim-") {
			t.Fatalf("event %+v", m)
		}
	case err := <-errs:
		t.Fatal(err)
	}
}

func TestManagerPosingAsEngineIsRefused(t *testing.T) {
	f := newFixture(t, sims(1, 0)...)
	f.waitHealthy(t, 1)
	other := newFixture(t)
	other.cl.SetEngines([]string{strings.TrimPrefix(f.api.URL, "http://")})
	time.Sleep(500 * time.Millisecond)
	e := other.cl.Engines()[0]
	if e.State() != cluster.StatePending || !strings.Contains(e.LastError(), "swarm manager") {
		t.Fatalf("state %v, error %q", e.State(), e.LastError())
	}
}

func TestEnginesSharingAnIDBothWork(t *testing.T) {
	a := simengine.New(simengine.Options{Name: "clone-a", ID: "SAME", Containers: 1})
	b := simengine.New(simengine.Options{Name: "clone-b", ID: "SAME", Containers: 1})
	f := newFixture(t, a, b)
	f.waitHealthy(t, 2)
	list, err := f.cli.ContainerList(context.Background(), container.ListOptions{All: true})
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
}

func httpGet(t *testing.T, url string) ([]byte, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

func TestMetricsParseAndMove(t *testing.T) {
	f := newFixture(t, sims(2, 3)...)
	f.waitHealthy(t, 2)
	scrape := func() map[string]float64 {
		b, status := httpGet(t, f.api.URL+"/metrics")
		if status != 200 {
			t.Fatalf("/metrics: %d", status)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("metrics do not parse: %v", err)
		}
		out := map[string]float64{}
		for name, fam := range fams {
			for _, m := range fam.Metric {
				key := name
				for _, l := range m.Label {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				switch {
				case m.Counter != nil:
					out[key] = m.Counter.GetValue()
				case m.Gauge != nil:
					out[key] = m.Gauge.GetValue()
				case m.Histogram != nil:
					out[key] = float64(m.Histogram.GetSampleCount())
				}
			}
		}
		return out
	}
	before := scrape()
	if before["swarm_engines,state=Healthy"] != 2 || before["swarm_containers,state=running"] != 6 {
		t.Fatalf("state gauges: engines %v containers %v", before["swarm_engines,state=Healthy"], before["swarm_containers,state=running"])
	}
	for i := 0; i < 3; i++ {
		httpGet(t, f.api.URL+"/v1.41/containers/json")
	}
	if _, err := f.cli.ContainerCreate(context.Background(), &container.Config{Image: "busybox"}, nil, nil, nil, ""); err != nil {
		t.Fatal(err)
	}
	after := scrape()
	key := "swarm_api_requests_total,code=OK,method=GET,route=/containers/json"
	if after[key]-before[key] != 3 {
		t.Fatalf("%s moved by %v, want 3", key, after[key]-before[key])
	}
	if after["swarm_placement_duration_seconds"] != before["swarm_placement_duration_seconds"]+1 {
		t.Fatalf("placement histogram did not move: %v -> %v", before["swarm_placement_duration_seconds"], after["swarm_placement_duration_seconds"])
	}
}
