package orchestrator

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// With Parallelism 2 and Delay 2 s, the third slot waits until a replacer has rested Delay after its slot's
// new task ran, even while the other slot of the first two is still being replaced.
func TestARolloutsReplacersRestDelayAfterEachSlot(t *testing.T) {
	s := swarm.Service{ID: "s1", Spec: replicated("web", "nginx:2", 3)}
	s.Spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 2, Delay: 2 * time.Second}
	t0 := time.Now()
	p := &pass{o: &reconciler{shared: &shared{}}, m: newMemory(), now: t0,
		v: &view{services: map[string]swarm.Service{s.ID: s}, slots: map[slotKey][]*task{}}}
	old := func(slot int) *task {
		return &task{ID: "old" + itoa(slot), ServiceID: s.ID, Slot: slot, Hash: "old", state: swarm.TaskStateRunning}
	}
	for slot := 1; slot <= 3; slot++ {
		p.v.slots[slotKey{s.ID, slot, ""}] = []*task{old(slot)}
	}
	r := p.rollout(s)
	replaced := func(slot int) bool {
		k := slotKey{s.ID, slot, ""}
		return r.replace(p, s, k, p.v.current(k)) != nil
	}
	if !replaced(1) || !replaced(2) || replaced(3) {
		t.Fatalf("first pass: want slots 1 and 2 replaced, 3 waiting (batch %v)", r.batch)
	}
	// slot 1's new task runs, slot 2's does not yet
	p.now = t0.Add(time.Second)
	p.v.slots[slotKey{s.ID, 1, ""}] = []*task{{ID: "new1", ServiceID: s.ID, Slot: 1, Hash: curHash(s), state: swarm.TaskStateRunning}, old(1)}
	r.settle(p, s)
	if replaced(3) {
		t.Fatal("slot 3 replaced as soon as slot 1 was done: its replacer must rest Delay first")
	}
	p.now = t0.Add(2900 * time.Millisecond)
	if replaced(3) {
		t.Fatal("slot 3 replaced 1.9 s after slot 1 was done, before Delay (2 s) passed")
	}
	p.now = t0.Add(3100 * time.Millisecond)
	if !replaced(3) {
		t.Fatal("slot 3 not replaced once slot 1's replacer rested Delay")
	}
}

// An update that leaves the tasks' spec as it is (here a longer delay; a scale is the same) does not drop the
// rollout under way: the slots it replaced still count, so the third slot keeps waiting out the delay instead
// of being replaced at once.
func TestAnUpdateThatKeepsTheTasksSpecKeepsTheRolloutsPace(t *testing.T) {
	b := newBed(t, 3)
	s := b.create(replicated("web", "nginx:1", 3))
	b.waitFor("3 running", func() bool { n, _ := b.running("web"); return n == 3 })
	update := func(change func(*swarm.ServiceSpec)) {
		t.Helper()
		cur, _ := b.o.Service(s.ID, false)
		spec := cur.Spec
		change(&spec)
		if _, err := b.o.UpdateService(context.Background(), s.ID, cur.Version.Index, spec, swarm.ServiceUpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	images := func() map[string]int {
		out := map[string]int{}
		for _, cs := range b.tasks("web") {
			for _, c := range cs {
				if c.State == "running" {
					out[c.Image]++
				}
			}
		}
		return out
	}
	update(func(spec *swarm.ServiceSpec) {
		spec.TaskTemplate.ContainerSpec.Image = "nginx:2"
		spec.UpdateConfig.Parallelism, spec.UpdateConfig.Delay = 2, time.Minute
	})
	b.waitFor("the first two slots updated", func() bool { im := images(); return im["nginx:2"] == 2 && im["nginx:1"] == 1 })
	update(func(spec *swarm.ServiceSpec) { spec.UpdateConfig.Delay = 2 * time.Minute })
	time.Sleep(time.Second) // passes run every 20 ms here
	if im := images(); im["nginx:1"] != 1 {
		t.Fatalf("right after an update of the delay only, running images %v: the third slot did not wait", im)
	}
}

// An update made from a version read before the primary wrote the previous update's status (the CLI reads the
// service, then resolves the image for seconds) is taken: only the status changed since. One made from a
// version older than a spec change is still out of sequence.
func TestAnUpdateFromBeforeAStatusWriteIsTakenButNotFromBeforeASpecChange(t *testing.T) {
	b := newBed(t, 2)
	s := b.create(replicated("web", "nginx:1", 2))
	b.waitFor("2 running", func() bool { n, _ := b.running("web"); return n == 2 })
	withImage := func(image string) swarm.ServiceSpec {
		cur, _ := b.o.Service(s.ID, false)
		spec := cur.Spec
		spec.TaskTemplate.ContainerSpec.Image = image
		spec.UpdateConfig.Monitor = 50 * time.Millisecond
		return spec
	}
	if _, err := b.o.UpdateService(context.Background(), s.ID, s.Version.Index, withImage("nginx:2"), swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	read, _ := b.o.Service(s.ID, false) // what a client reads while the update runs
	b.waitFor("update completed", func() bool {
		got, _ := b.o.Service(s.ID, false)
		return got.UpdateStatus != nil && got.UpdateStatus.State == swarm.UpdateStateCompleted
	})
	if got, _ := b.o.Service(s.ID, false); got.Version.Index == read.Version.Index {
		t.Fatal("the completed status did not move the version: the test shows nothing")
	}
	if _, err := b.o.UpdateService(context.Background(), s.ID, read.Version.Index, withImage("nginx:3"), swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatalf("an update from the version before the status write: %v", err)
	}
	got, _ := b.o.Service(s.ID, false)
	if img := got.Spec.TaskTemplate.ContainerSpec.Image; img != "nginx:3" || got.PreviousSpec.TaskTemplate.ContainerSpec.Image != "nginx:2" {
		t.Fatalf("spec %s, previous %s", img, got.PreviousSpec.TaskTemplate.ContainerSpec.Image)
	}
	_, err := b.o.UpdateService(context.Background(), s.ID, read.Version.Index, withImage("nginx:4"), swarm.ServiceUpdateOptions{})
	if !errdefs.IsConflict(err) {
		t.Fatalf("an update from before a spec change: %v, want a conflict", err)
	}
	// a spec change written by another manager (primary for a while) is one too, though this one wrote last
	read, _ = b.o.Service(s.ID, false)
	other := read
	three := uint64(3)
	other.Spec.Mode.Replicated.Replicas = &three
	if _, err := b.store.PutService(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	_, err = b.o.UpdateService(context.Background(), s.ID, read.Version.Index, withImage("nginx:5"), swarm.ServiceUpdateOptions{})
	if !errdefs.IsConflict(err) {
		t.Fatalf("an update from before another manager's spec change: %v, want a conflict", err)
	}
}
