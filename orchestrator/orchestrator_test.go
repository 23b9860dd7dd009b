package orchestrator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"swarm/cluster"
	"swarm/desired"
	"swarm/internal/simengine"
	"swarm/scheduler"
)

// bed is a cluster of simulated engines node-1..node-n with an orchestrator acting as primary.
type bed struct {
	t     testing.TB
	o     *Orchestrator
	cl    *cluster.Cluster
	sims  []*simengine.Engine
	srvs  []*httptest.Server
	store *desired.Memory
}

func newBed(t testing.TB, n int) *bed {
	t.Helper()
	return newBedWith(t, n, func(*Config) {})
}

// newBedWith is newBed with the orchestrator's configuration changed by with.
func newBedWith(t testing.TB, n int, with func(*Config)) *bed {
	t.Helper()
	b := &bed{t: t, store: desired.NewMemory()}
	var addrs []string
	for i := 1; i <= n; i++ {
		sim := simengine.New(simengine.Options{Name: fmt.Sprintf("node-%d", i), ID: fmt.Sprintf("ID%d", i)})
		srv := httptest.NewServer(sim)
		b.sims, b.srvs = append(b.sims, sim), append(b.srvs, srv)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	t.Cleanup(func() {
		for _, s := range b.srvs {
			s.Close()
		}
	})
	sched, err := scheduler.New(scheduler.Config{})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	b.cl = cluster.New(ctx, cluster.Options{RefreshMin: time.Hour, RefreshMax: time.Hour, Logger: quiet}, sched)
	b.cl.SetEngines(addrs)
	b.waitFor("engines healthy", func() bool {
		for _, e := range b.cl.Engines() {
			if !e.Healthy() {
				return false
			}
		}
		return len(b.cl.Engines()) == n
	})
	cfg := Config{Cluster: b.cl, Store: b.store, Logger: quiet, Tick: 20 * time.Millisecond}
	with(&cfg)
	b.o = New(cfg)
	done := make(chan struct{})
	go func() { b.o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; b.cl.Close() })
	return b
}

func (b *bed) patience() time.Duration {
	if _, ok := b.t.(*testing.B); ok {
		return 5 * time.Minute
	}
	return 10 * time.Second
}

func (b *bed) waitFor(what string, ok func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(b.patience())
	for !ok() {
		if time.Now().After(deadline) {
			b.t.Fatalf("not within %v: %s", b.patience(), what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tasks are the task containers on each simulated engine, by node name, as the engines hold them.
func (b *bed) tasks(service string) map[string][]container.Summary {
	out := map[string][]container.Summary{}
	for _, sim := range b.sims {
		for _, c := range sim.Summaries() {
			if c.Labels[LabelServiceName] == service {
				out[sim.Name()] = append(out[sim.Name()], c)
			}
		}
	}
	return out
}

// running counts the service's running task containers per node.
func (b *bed) running(service string) (total int, perNode map[string]int) {
	perNode = map[string]int{}
	for node, cs := range b.tasks(service) {
		for _, c := range cs {
			if c.State == "running" {
				total++
				perNode[node]++
			}
		}
	}
	return total, perNode
}

func (b *bed) create(spec swarm.ServiceSpec) swarm.Service {
	b.t.Helper()
	resp, err := b.o.CreateService(context.Background(), spec, "")
	if err != nil {
		b.t.Fatal(err)
	}
	s, err := b.o.Service(resp.ID, true)
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func replicated(name, image string, n uint64) swarm.ServiceSpec {
	return swarm.ServiceSpec{Annotations: swarm.Annotations{Name: name},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &n}}}
}

func TestAReplicatedServiceRunsItsReplicasSpreadOverTheNodes(t *testing.T) {
	b := newBed(t, 3)
	s := b.create(replicated("web", "nginx", 3))
	b.waitFor("3 running tasks", func() bool { n, _ := b.running("web"); return n == 3 })
	_, per := b.running("web")
	if len(per) != 3 {
		t.Fatalf("tasks per node = %v, want one on each of 3 nodes", per)
	}
	b.waitFor("status 3/3", func() bool {
		got, _ := b.o.Service(s.ID, true)
		return got.ServiceStatus.RunningTasks == 3 && got.ServiceStatus.DesiredTasks == 3
	})
	tasks, err := b.o.Tasks(filters.NewArgs(filters.Arg("service", "web")))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tk := range tasks {
		names[tk.Name] = true
		if tk.DesiredState != swarm.TaskStateRunning || tk.Status.State != swarm.TaskStateRunning || tk.Spec.ContainerSpec.Image != "nginx" {
			t.Errorf("task %s: desired %s, state %s, image %s", tk.Name, tk.DesiredState, tk.Status.State, tk.Spec.ContainerSpec.Image)
		}
	}
	if !names["web.1"] || !names["web.2"] || !names["web.3"] || len(tasks) != 3 {
		t.Errorf("task names %v, want web.1..web.3", names)
	}
}

func TestScalingAddsAndRemovesSlots(t *testing.T) {
	b := newBed(t, 3)
	s := b.create(replicated("web", "nginx", 2))
	b.waitFor("2 running", func() bool { n, _ := b.running("web"); return n == 2 })
	b.scale(s.ID, 5)
	b.waitFor("5 running", func() bool { n, _ := b.running("web"); return n == 5 })
	b.scale(s.ID, 1)
	b.waitFor("1 task container left", func() bool {
		total := 0
		for _, cs := range b.tasks("web") {
			total += len(cs)
		}
		return total == 1
	})
	if err := b.o.RemoveService(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	b.waitFor("no task container left", func() bool { return len(b.tasks("web")) == 0 })
	if _, err := b.o.Service("web", false); err == nil || !strings.Contains(err.Error(), "service web not found") {
		t.Errorf("inspect after rm: %v", err)
	}
}

func (b *bed) scale(id string, n uint64) {
	b.t.Helper()
	s, err := b.o.Service(id, false)
	if err != nil {
		b.t.Fatal(err)
	}
	spec := s.Spec
	spec.Mode.Replicated.Replicas = &n
	if _, err := b.o.UpdateService(context.Background(), id, s.Version.Index, spec, swarm.ServiceUpdateOptions{}); err != nil {
		b.t.Fatal(err)
	}
}

func TestAStaleVersionIsAConflict(t *testing.T) {
	b := newBed(t, 1)
	s := b.create(replicated("web", "nginx", 1))
	b.scale(s.ID, 2)
	_, err := b.o.UpdateService(context.Background(), s.ID, s.Version.Index, s.Spec, swarm.ServiceUpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "update out of sequence") {
		t.Fatalf("update from a stale version: %v, want update out of sequence", err)
	}
}

func TestAGlobalServiceRunsOneTaskPerNode(t *testing.T) {
	b := newBed(t, 3)
	b.create(swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "agent"},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "busybox"}},
		Mode:         swarm.ServiceMode{Global: &swarm.GlobalService{}}})
	b.waitFor("one task on each node", func() bool {
		n, per := b.running("agent")
		return n == 3 && len(per) == 3
	})
	tasks, _ := b.o.Tasks(filters.NewArgs(filters.Arg("service", "agent")))
	for _, tk := range tasks {
		if tk.Slot != 0 || tk.Name != "agent."+tk.NodeID {
			t.Errorf("global task %q slot %d on %s", tk.Name, tk.Slot, tk.NodeID)
		}
	}
}

func TestSwarmInfoFollowsTheEnginesAtOnce(t *testing.T) {
	b := newBed(t, 3)
	if si := b.o.SwarmInfo(); si.Nodes != 3 || si.Managers != 1 || si.NodeID == "" {
		t.Fatalf("3 engines: %+v", si)
	}
	all := make([]string, len(b.srvs))
	for i, s := range b.srvs {
		all[i] = strings.TrimPrefix(s.URL, "http://")
	}
	b.cl.SetEngines(all[:2])
	if si := b.o.SwarmInfo(); si.Nodes != 2 {
		t.Fatalf("right after an engine left, /info's swarm shows %d nodes", si.Nodes)
	}
	b.cl.SetEngines(all)
	b.waitFor("the engine back in /info", func() bool { return b.o.SwarmInfo().Nodes == 3 })
}

func TestAFailedTaskIsReplacedAfterTheRestartDelay(t *testing.T) {
	b := newBed(t, 2)
	spec := replicated("web", "nginx", 1)
	delay := 100 * time.Millisecond
	spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, Delay: &delay}
	b.create(spec)
	b.waitFor("1 running", func() bool { n, _ := b.running("web"); return n == 1 })
	for _, sim := range b.sims {
		for _, c := range sim.Summaries() {
			if c.Labels[LabelServiceName] == "web" {
				sim.Exit(c.ID, 3)
			}
		}
	}
	var tasks []swarm.Task
	b.waitFor("a new task running, as the tasks show it", func() bool { // the engine's state reaches the tasks after a re-read
		tasks, _ = b.o.Tasks(filters.NewArgs(filters.Arg("service", "web")))
		n, _ := b.running("web")
		return n == 1 && len(tasks) == 2 && tasks[0].Status.State == swarm.TaskStateRunning
	})
	if len(tasks) != 2 || tasks[1].Status.State != swarm.TaskStateFailed || tasks[1].Status.Err != "task: non-zero exit (3)" ||
		tasks[1].DesiredState != swarm.TaskStateShutdown || tasks[0].Status.State != swarm.TaskStateRunning {
		t.Fatalf("tasks after a failure: %+v", taskStates(tasks))
	}
	if tasks[0].NodeID == tasks[1].NodeID {
		t.Errorf("the replacement runs on the node where the task failed (%s), though another fits", tasks[0].NodeID)
	}
}

func taskStates(ts []swarm.Task) []string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s@%s %s/%s %q", t.Name, t.NodeID, t.DesiredState, t.Status.State, t.Status.Err))
	}
	return out
}

func TestARollingUpdateReplacesEveryTaskAndCompletes(t *testing.T) {
	b := newBed(t, 3)
	s := b.create(replicated("web", "nginx:1", 4))
	b.waitFor("4 running", func() bool { n, _ := b.running("web"); return n == 4 })
	s, _ = b.o.Service(s.ID, false)
	spec := s.Spec
	spec.TaskTemplate.ContainerSpec.Image = "nginx:2"
	spec.UpdateConfig.Parallelism, spec.UpdateConfig.Monitor = 2, 50*time.Millisecond
	if _, err := b.o.UpdateService(context.Background(), s.ID, s.Version.Index, spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("update completed", func() bool {
		got, _ := b.o.Service(s.ID, false)
		return got.UpdateStatus != nil && got.UpdateStatus.State == swarm.UpdateStateCompleted
	})
	running := 0
	for _, cs := range b.tasks("web") {
		for _, c := range cs {
			if c.State == "running" {
				running++
				if c.Image != "nginx:2" {
					t.Errorf("task %s still runs %s", c.Names[0], c.Image)
				}
			}
		}
	}
	if running != 4 {
		t.Errorf("%d tasks running after the update, want 4", running)
	}
	// rollback goes back to the previous image
	s, _ = b.o.Service(s.ID, false)
	if _, err := b.o.UpdateService(context.Background(), s.ID, s.Version.Index, swarm.ServiceSpec{}, swarm.ServiceUpdateOptions{Rollback: "previous"}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("rollback completed", func() bool {
		got, _ := b.o.Service(s.ID, false)
		return got.UpdateStatus != nil && got.UpdateStatus.State == swarm.UpdateStateRollbackCompleted &&
			got.Spec.TaskTemplate.ContainerSpec.Image == "nginx:1"
	})
}

func TestDrainingANodeMovesItsTasksAndKeepsTheirHistory(t *testing.T) {
	b := newBed(t, 3)
	b.create(replicated("web", "nginx", 3))
	b.waitFor("3 running, one per node", func() bool { n, per := b.running("web"); return n == 3 && len(per) == 3 })
	n, err := b.o.Node("node-2")
	if err != nil {
		t.Fatal(err)
	}
	spec := n.Spec
	spec.Availability = swarm.NodeAvailabilityDrain
	if err := b.o.UpdateNode(context.Background(), "node-2", n.Version.Index, spec); err != nil {
		t.Fatal(err)
	}
	b.waitFor("3 running, none on node-2", func() bool {
		total, per := b.running("web")
		return total == 3 && per["node-2"] == 0
	})
	tasks, _ := b.o.Tasks(filters.NewArgs(filters.Arg("node", "node-2")))
	if len(tasks) != 1 || tasks[0].Status.State != swarm.TaskStateShutdown || tasks[0].DesiredState != swarm.TaskStateShutdown {
		t.Errorf("node-2's tasks after drain: %v", taskStates(tasks))
	}
	got, _ := b.o.Node("node-2")
	if got.Spec.Availability != swarm.NodeAvailabilityDrain || got.Version.Index == 0 {
		t.Errorf("node-2 after update: %+v", got.Spec)
	}
}

func TestBadSpecsAreRefusedWithAReason(t *testing.T) {
	b := newBed(t, 1)
	cases := map[string]struct {
		spec swarm.ServiceSpec
		want string
	}{
		"no image":       {replicated("a", "", 1), "image reference must be provided"},
		"ingress port":   {withPorts(replicated("b", "nginx", 1), swarm.PortConfig{TargetPort: 80, PublishedPort: 8080}), "mode=host,target=80,published=8080"},
		"bad name":       {replicated("-x", "nginx", 1), `invalid name "-x"`},
		"bad constraint": {withConstraint(replicated("c", "nginx", 1), "node.hostname~~x"), "constraint"},
	}
	for name, c := range cases {
		_, err := b.o.CreateService(context.Background(), c.spec, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
	if len(b.store.Services()) != 0 {
		t.Errorf("refused specs were stored: %d services", len(b.store.Services()))
	}
	b.create(replicated("dup", "nginx", 1))
	if _, err := b.o.CreateService(context.Background(), replicated("dup", "nginx", 1), ""); err == nil ||
		!strings.Contains(err.Error(), "service dup already exists") {
		t.Errorf("duplicate name: %v", err)
	}
}

func withPorts(s swarm.ServiceSpec, ps ...swarm.PortConfig) swarm.ServiceSpec {
	s.EndpointSpec = &swarm.EndpointSpec{Ports: ps}
	return s
}

func withConstraint(s swarm.ServiceSpec, cs ...string) swarm.ServiceSpec {
	s.TaskTemplate.Placement = &swarm.Placement{Constraints: cs}
	return s
}
