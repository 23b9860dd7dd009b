package orchestrator

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"

	"swarm/desired"
)

// slowPuts is a store whose service writes take a while, as Consul's do.
type slowPuts struct{ desired.Store }

func (s slowPuts) PutService(ctx context.Context, svc swarm.Service) (swarm.Service, error) {
	time.Sleep(5 * time.Millisecond)
	return s.Store.PutService(ctx, svc)
}

// Creates of one name at once: exactly one service is made, the others are told the name is taken.
func TestConcurrentCreatesOfOneNameMakeOneService(t *testing.T) {
	b := newBedWith(t, 1, func(c *Config) { c.Store = slowPuts{c.Store} })
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.o.CreateService(context.Background(), replicated("web", "nginx", 1), "")
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch {
		case err == nil:
			made++
		case !errdefs.IsConflict(err):
			t.Errorf("a create that lost: %v, want a conflict", err)
		}
	}
	if made != 1 || len(b.store.Services()) != 1 {
		t.Fatalf("%d creates succeeded, %d services stored; want 1", made, len(b.store.Services()))
	}
}

// Scaling down stops the tasks removed (their grace period) before removing their containers.
func TestScalingDownStopsATaskBeforeRemovingIt(t *testing.T) {
	b := newBed(t, 1)
	s := b.create(replicated("web", "nginx", 2))
	b.waitFor("2 running", func() bool { n, _ := b.running("web"); return n == 2 })
	b.scale(s.ID, 1)
	b.waitFor("1 task left", func() bool { return len(b.tasks("web")["node-1"]) == 1 })
	kept := b.tasks("web")["node-1"][0].ID
	var stopped, removed []string
	for _, c := range b.sims[0].Changes() {
		switch method, path, _ := strings.Cut(c, " "); {
		case method == "POST" && strings.HasSuffix(path, "/stop"):
			stopped = append(stopped, strings.Split(path, "/")[2])
		case method == "DELETE":
			if id := strings.Split(path, "/")[2]; !slices.Contains(stopped, id) {
				t.Fatalf("container %s removed without being stopped first: %v", id, b.sims[0].Changes())
			} else {
				removed = append(removed, id)
			}
		}
	}
	if len(removed) != 1 || removed[0] == kept {
		t.Fatalf("removed %v, kept %s", removed, kept)
	}
}

// A rolling update takes the next slot only once the new task of the last one passes its health check: a task
// whose check has not passed yet is starting, not running.
func TestAnUpdateWaitsForItsNewTaskToBeHealthy(t *testing.T) {
	b := newBed(t, 1)
	spec := replicated("web", "nginx:1", 2)
	spec.TaskTemplate.ContainerSpec.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "true"}}
	s := b.create(spec)
	b.waitFor("2 tasks", func() bool { n, _ := b.running("web"); return n == 2 })
	for _, c := range b.tasks("web")["node-1"] {
		b.sims[0].SetHealth(c.ID, "healthy")
	}
	b.waitFor("2 tasks running", func() bool { return runningTasks(b, "web") == 2 })
	s, _ = b.o.Service(s.ID, false)
	spec = s.Spec
	spec.TaskTemplate.ContainerSpec.Image = "nginx:2"
	spec.UpdateConfig.Monitor = time.Millisecond
	if _, err := b.o.UpdateService(context.Background(), s.ID, s.Version.Index, spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var fresh string
	b.waitFor("a first new task", func() bool {
		for _, c := range b.tasks("web")["node-1"] {
			if c.Image == "nginx:2" && c.State == "running" {
				fresh = c.ID
			}
		}
		return fresh != ""
	})
	time.Sleep(300 * time.Millisecond) // passes at 20 ms: the update would have gone on by now
	if n := images(b, "nginx:2"); n != 1 {
		t.Fatalf("%d new tasks while the first one's health check has not passed, want 1", n)
	}
	b.sims[0].SetHealth(fresh, "healthy")
	b.waitFor("a second new task", func() bool { return images(b, "nginx:2") == 2 })
}

// runningTasks counts the service's tasks in state running, as the API shows them.
func runningTasks(b *bed, service string) int {
	ts, _ := b.o.Tasks(filters.NewArgs(filters.Arg("service", service), filters.Arg("desired-state", "running")))
	n := 0
	for _, t := range ts {
		if t.Status.State == swarm.TaskStateRunning {
			n++
		}
	}
	return n
}

// images counts the service's running task containers of image.
func images(b *bed, image string) int {
	n := 0
	for _, cs := range b.tasks("web") {
		for _, c := range cs {
			if c.Image == image && c.State == "running" {
				n++
			}
		}
	}
	return n
}
