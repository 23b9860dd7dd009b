package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/errdefs"
)

// testCluster builds a cluster whose engines are filled by hand (no network).
func testCluster(t *testing.T, engines map[string][]*container.Summary) *Cluster {
	t.Helper()
	c := New(t.Context(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	i := 0
	for name, cts := range engines {
		e := handEngine(t, c.set, "10.0.0."+string(rune('1'+i))+":2375", name)
		i++
		for _, s := range cts {
			e.store.containers[s.ID] = e.store.newContainer(*s, &container.InspectResponse{
				ContainerJSONBase: &container.ContainerJSONBase{ID: s.ID, HostConfig: &container.HostConfig{}}}, time.Time{}, 0)
		}
		c.pool.engines[e.Addr()] = e
	}
	return c
}

// forceState sets an engine's state as a test needs it, without the probes that would move it.
func forceState(e *Engine, st State) {
	e.health.mu.Lock()
	e.health.state = st
	e.health.now.Store(int32(st))
	e.health.mu.Unlock()
}

// handEngine is a Healthy engine named name that was never run: its parts are filled by the test.
func handEngine(t *testing.T, set *shared, addr, name string) *Engine {
	t.Helper()
	e, err := newEngine(addr, set)
	if err != nil {
		t.Fatal(err)
	}
	e.conn.spec.Store(&engineSpec{id: "ID-" + name, name: name, labels: map[string]string{}})
	forceState(e, StateHealthy)
	return e
}

var primaryLines = [][2]string{{"Role", "primary"}}

func summary(id, name, state string, created int64, labels map[string]string) *container.Summary {
	return &container.Summary{ID: id, Names: []string{"/" + name}, State: state, Created: created, Labels: labels, Image: "busybox"}
}

func TestContainerLookup(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary("aaaa1111", "web", "running", 1, map[string]string{LabelSwarmID: "swarm0001"})},
		"node-1": {summary("aaaa2222", "db", "running", 2, nil), summary("bbbb3333", "web2", "exited", 3, nil)},
		"node-2": {summary("cccc4444", "dup", "running", 4, nil)},
		"node-3": {summary("dddd5555", "dup", "running", 5, nil)},
	})
	for _, tt := range []struct{ ref, want, err string }{
		{"aaaa1111", "aaaa1111", ""},
		{"web", "aaaa1111", ""},
		{"/web", "aaaa1111", ""},
		{"node-0/web", "aaaa1111", ""},
		{"ID-node-0/web", "aaaa1111", ""},
		{"swarm0001", "aaaa1111", ""},
		{"swarm", "aaaa1111", ""},
		{"bbbb", "bbbb3333", ""},
		{"node-3/dup", "dddd5555", ""},
		{"aaaa", "", "ambiguous: it matches 2 containers"},
		{"dup", "", "ambiguous"},
		{"node-1/web", "", "No such container: node-1/web"},
		{"zzz", "", "No such container: zzz"},
	} {
		got, err := c.Container(tt.ref)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.ref, err, tt.err)
			}
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("%s: got %v %v, want %s", tt.ref, got, err, tt.want)
		}
	}
	if _, err := c.Container("zzz"); !errdefs.IsNotFound(err) {
		t.Errorf("missing container is not a not-found error: %v", err)
	}
}

func TestListContainers(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary("a1", "web", "running", 10, map[string]string{"tier": "front"}), summary("a2", "old", "exited", 5, nil)},
		"node-1": {summary("b1", "db", "running", 20, nil), summary("b2", "paused", "paused", 15, nil)},
	})
	names := func(opts ListOptions) string {
		list, err := c.ListContainers(t.Context(), opts)
		if err != nil {
			return "error: " + err.Error()
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Names[0])
		}
		return strings.Join(out, " ")
	}
	args := func(kv ...string) filters.Args {
		f := filters.NewArgs()
		for i := 0; i < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
		return f
	}
	for _, tt := range []struct {
		opts ListOptions
		want string
	}{
		{ListOptions{}, "/node-1/db /node-1/paused /node-0/web"},
		{ListOptions{All: true}, "/node-1/db /node-1/paused /node-0/web /node-0/old"},
		{ListOptions{Limit: 2}, "/node-1/db /node-1/paused"},
		{ListOptions{Filters: args("node", "node-0")}, "/node-0/web"},
		{ListOptions{Filters: args("status", "exited")}, "/node-0/old"},
		{ListOptions{Filters: args("label", "tier=front")}, "/node-0/web"},
		{ListOptions{Filters: args("name", "node-1/d")}, "/node-1/db"},
		{ListOptions{Filters: args("id", "b")}, "/node-1/db /node-1/paused"},
		{ListOptions{All: true, Before: "db"}, "/node-1/paused /node-0/web /node-0/old"},
		{ListOptions{Filters: args("bogus", "1")}, "error: invalid filter 'bogus'"},
		{ListOptions{Filters: args("status", "sleeping")}, "error: invalid filter 'status=sleeping'"},
	} {
		if got := names(tt.opts); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.opts, got, tt.want)
		}
	}
	forceState(c.Engines()[0], StateUnhealthy)
	list, _ := c.ListContainers(t.Context(), ListOptions{All: true, Filters: args("node", "node-0")})
	if len(list) != 2 || list[0].Status != "Host Down" {
		t.Errorf("containers of an unhealthy node: %+v", list)
	}
}

func TestEngineCreateBodyKeepsUnknownFields(t *testing.T) {
	raw := []byte(`{"Image":"busybox","Env":["A=1","constraint:node==x"],"FutureField":{"x":1},"HostConfig":{"CpuShares":2,"Memory":5}}`)
	var cr container.CreateRequest
	json.Unmarshal(raw, &cr)
	cr.Config.Env = []string{"A=1"}
	cr.Config.Labels = map[string]string{"com.docker.swarm.constraints": `["node==x"]`}
	out, err := engineCreateBody(raw, &cr, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(out, &m)
	hc := m["HostConfig"].(map[string]any)
	if m["FutureField"] == nil || hc["CpuShares"].(float64) != 256 || hc["Memory"].(float64) != 5 ||
		len(m["Env"].([]any)) != 1 || m["Labels"].(map[string]any)["com.docker.swarm.constraints"] == nil {
		t.Fatalf("body %s", out)
	}
}

// A request the caller built is sent as it is, CPUs turned into the engine's shares, the caller's copy intact.
func TestEngineCreateBodyOfABuiltRequest(t *testing.T) {
	cr := container.CreateRequest{Config: &container.Config{Image: "busybox", Labels: map[string]string{"a": "1"}},
		HostConfig: &container.HostConfig{Resources: container.Resources{CPUShares: 2}}}
	out, err := engineCreateBody(nil, &cr, 8, false)
	if err != nil {
		t.Fatal(err)
	}
	var got container.CreateRequest
	if err := json.Unmarshal(out, &got); err != nil || got.Config == nil || got.HostConfig == nil {
		t.Fatalf("body %s: %v", out, err)
	}
	if got.Image != "busybox" || got.Labels["a"] != "1" || got.HostConfig.CPUShares != 256 || cr.HostConfig.CPUShares != 2 {
		t.Errorf("body %s (caller's shares now %d): want busybox, label a=1, CpuShares 256 (2 of 8 CPUs), the caller's 2", out, cr.HostConfig.CPUShares)
	}
}

func TestCPUShares(t *testing.T) {
	for _, tt := range []struct{ cpus, ncpu, shares int64 }{{1, 4, 256}, {2, 4, 512}, {1, 3, 342}, {4, 4, 1024}, {0, 4, 0}} {
		if got := cpusToShares(tt.cpus, tt.ncpu); got != tt.shares {
			t.Errorf("cpusToShares(%d,%d) = %d, want %d", tt.cpus, tt.ncpu, got, tt.shares)
		}
		if tt.cpus > 0 && sharesToCPUs(tt.shares, tt.ncpu) != tt.cpus {
			t.Errorf("sharesToCPUs(%d,%d) != %d", tt.shares, tt.ncpu, tt.cpus)
		}
	}
}

func TestEventHubSinceAndSlowSubscriber(t *testing.T) {
	h := newEventHub()
	base := time.Now()
	for i := 0; i < 5; i++ {
		h.publish(Event{Message: events.Message{Action: events.Action("a" + string(rune('0'+i))), TimeNano: base.Add(time.Duration(i) * time.Second).UnixNano()}})
	}
	past, ch, cancel := h.Subscribe(base.Add(2 * time.Second))
	if len(past) != 3 || past[0].Action != "a2" {
		t.Fatalf("past %+v", past)
	}
	h.publish(Event{Message: events.Message{Action: "new"}})
	if ev := <-ch; ev.Action != "new" {
		t.Fatalf("got %+v", ev)
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel open after cancel")
	}
	_, slow, _ := h.Subscribe(time.Time{})
	for i := 0; i < subscriberBuff+1; i++ {
		h.publish(Event{})
	}
	n := 0
	for range slow {
		n++
	}
	if n != subscriberBuff || h.Listeners() != 0 {
		t.Fatalf("slow subscriber got %d events, %d listeners left", n, h.Listeners())
	}
}

// A hint only speeds a lookup by full ID: a wrong one, or one naming an engine that left, still finds the
// container where it is, and a removed container is not found through its old hint.
func TestIDHintsAreOnlyHints(t *testing.T) {
	id := strings.Repeat("ab", 32)
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary(id, "web", "running", 1, nil)},
		"node-1": {summary("bbbb3333", "db", "running", 2, nil)},
	})
	var on, other *Engine
	for _, e := range c.pool.engines {
		if e.store.get(id) != nil {
			on = e
		} else {
			other = e
		}
	}
	gone := handEngine(t, c.set, "10.0.0.9:2375", "gone")
	gone.store.containers[id] = gone.store.newContainer(container.Summary{ID: id}, nil, time.Time{}, 0)
	for i, hint := range []*Engine{nil, other, gone, on} {
		if hint != nil {
			c.hints.put(id, hint)
		}
		if got, err := c.Container(id); err != nil || got.Engine != on {
			t.Fatalf("hint %d: got %v, %v; want the container on %s", i, got, err, on.Name())
		}
	}
	on.store.forget(id)
	if got, err := c.Container(id); !errdefs.IsNotFound(err) {
		t.Fatalf("removed container found through its hint: %v, %v", got, err)
	}
}

func TestSchedNodesArePatchedWhereEnginesChanged(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary("aaaa1111", "web", "running", 1, nil)},
		"node-1": {summary("bbbb2222", "db", "running", 2, nil)},
	})
	first := c.placer.nodes()
	if len(first) != 2 || first[0].Name != "node-0" || first[1].Name != "node-1" {
		t.Fatalf("nodes %v, want node-0 and node-1 in name order", first)
	}
	if again := c.placer.nodes(); again[0] != first[0] || again[1] != first[1] {
		t.Error("nothing changed, yet nodes were rebuilt")
	}
	e := c.Engines()[0]
	e.store.mu.Lock()
	e.store.containers["cccc3333"] = e.store.newContainer(*summary("cccc3333", "cache", "running", 3, nil), nil, time.Now(), 0)
	e.store.changedLocked()
	e.store.mu.Unlock()
	patched := c.placer.nodes()
	if len(patched[0].Containers) != 2 {
		t.Errorf("node-0 shows %d containers after one was added, want 2", len(patched[0].Containers))
	}
	if patched[1] != first[1] || patched[0] == first[0] || len(first[0].Containers) != 1 {
		t.Error("node-1 did not change, yet its node was rebuilt (or node-0's old view was changed)")
	}
	e.health.left()
	if left := c.placer.nodes(); len(left) != 1 || left[0].Name != "node-1" {
		t.Errorf("after node-0 disconnected the nodes are %v, want node-1 alone", left)
	}
}

func TestInfoJSONIsInfoEncoded(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary("aaaa1111", "web", "running", 1, nil)},
		"node-1": {summary("bbbb2222", "db", "exited", 2, nil)},
	})
	for range 2 { // the second answer comes from the engines' kept blocks
		pieces, err := c.InfoJSON(primaryLines, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := bytes.Join(pieces, nil)
		var got system.Info
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v in %s", err, b)
		}
		want := c.Info(primaryLines)
		got.SystemTime, want.SystemTime = "", ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("InfoJSON decodes to\n%+v\nInfo is\n%+v", got, want)
		}
		if len(got.SystemStatus) != 4+2*10 || got.ContainersRunning != 1 || got.ContainersStopped != 1 {
			t.Errorf("%d status lines (want 4 + 10 per engine), %d running, %d stopped", len(got.SystemStatus), got.ContainersRunning, got.ContainersStopped)
		}
	}
}

// A name is unique cluster-wide: held by a container on any engine, or by a create under way.
func TestReserveName(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary("aaaa1111", "web", "running", 1, nil)},
		"node-1": {summary("bbbb2222", "db", "exited", 2, nil)},
	})
	for _, name := range []string{"web", "db"} {
		if err := c.creator.reserveName(name); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "already in use by container") {
			t.Errorf("%s: %v, want a conflict naming the holder", name, err)
		}
	}
	if err := c.creator.reserveName("cache"); err != nil {
		t.Fatal(err)
	}
	if err := c.creator.reserveName("cache"); !errdefs.IsConflict(err) {
		t.Errorf("a name being created was given twice: %v", err)
	}
	c.creator.releaseName("cache")
	if err := c.creator.reserveName("cache"); err != nil {
		t.Errorf("a released name stays taken: %v", err)
	}
}

// A short ID as `docker ps` prints it finds its container through the engines' indexes; one shared by two
// containers is ambiguous, and a name outranks it.
func TestContainerByShortID(t *testing.T) {
	id := func(head, tail string) string { return head + strings.Repeat(tail, 52) }
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {summary(id("0123456789ab", "0"), "web", "running", 1, nil), summary(id("cafecafecafe", "1"), "x", "running", 1, nil)},
		"node-1": {summary(id("cafecafecafe", "2"), "y", "running", 2, nil), summary(id("fedcba987654", "3"), "0123456789ab", "running", 2, nil)},
	})
	if got, err := c.Container("0123456789ab"); err != nil || got.Name() != "0123456789ab" {
		t.Errorf("a name equal to another container's short ID: %v, %v; want the named container", got, err)
	}
	if got, err := c.Container("fedcba987654"); err != nil || got.Name() != "0123456789ab" {
		t.Errorf("short ID: %v, %v", got, err)
	}
	if _, err := c.Container("cafecafecafe"); !errdefs.IsInvalidParameter(err) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("a short ID of two containers: %v, want ambiguous", err)
	}
	if got, err := c.Container("0123456789"); err != nil || got.Name() != "web" {
		t.Errorf("a shorter prefix: %v, %v", got, err)
	}
}

// Name and id patterns match as filters.Args.Match does (equal, or matched as a regexp), plain text included,
// and on "node/name" whether or not the pattern crosses the slash.
func TestPatternsMatchAsTheEngineDoes(t *testing.T) {
	reference := func(vals []string, s string) bool {
		for _, v := range vals {
			if re, err := regexp.Compile(v); v == s || err == nil && re.MatchString(s) {
				return true
			}
		}
		return false
	}
	vals := []string{"web", "node-1/d", "^web$", "e-1/w", "[", "a.b", "", "(?i)WEB", "node", "1/", "/", "^node-1/web$", "x"}
	targets := []struct{ node, name string }{{"node-1", "web"}, {"node-1", "db"}, {"n", "["}, {"node-2", "axb"}, {"node-1", "WEB-2"}}
	for i := range vals {
		for j := i; j <= len(vals); j++ {
			set := vals[i:j]
			p := compilePatterns(set)
			for _, tg := range targets {
				if got, want := p.match(tg.name), reference(set, tg.name); got != want {
					t.Errorf("%q on %q: %v, want %v", set, tg.name, got, want)
				}
				if got, want := p.matchOnNode(tg.node, tg.name), reference(set, tg.node+"/"+tg.name); got != want {
					t.Errorf("%q on %q: %v, want %v", set, tg.node+"/"+tg.name, got, want)
				}
			}
		}
	}
}
