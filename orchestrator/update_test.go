package orchestrator

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// With Parallelism 2 and Delay 2 s, the third slot waits until a replacer has rested Delay after its slot's
// new task ran, even while the other slot of the first two is still being replaced.
func TestARolloutsReplacersRestDelayAfterEachSlot(t *testing.T) {
	s := swarm.Service{ID: "s1", Spec: replicated("web", "nginx:2", 3)}
	s.Spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 2, Delay: 2 * time.Second}
	t0 := time.Now()
	p := &pass{o: &Orchestrator{}, m: newMemory(), now: t0,
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
