package cluster

import (
	"bytes"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

func TestKeptInspects(t *testing.T) {
	c := testCluster(t, map[string][]*container.Summary{"a": nil, "b": nil})
	var a, b *Engine
	for _, e := range c.pool.engines {
		if e.Name() == "a" {
			a = e
		} else {
			b = e
		}
	}
	body := []byte(`{"Id":"x","State":{"Status":"running"}}`)
	keep := func(e *Engine, id string) bool {
		e.kept.keep(id, "1.41", body, e.kept.mark())
		return e.kept.get(id, "1.41") != nil
	}
	if keep(a, "x") {
		t.Fatal("an answer was kept while the engine's event stream was closed")
	}
	a.kept.reset(true)
	b.kept.reset(true)
	if !keep(a, "x") || a.kept.get("x", "1.41") == nil {
		t.Fatal("an answer was not kept")
	}
	if a.kept.get("x", "1.40") != nil || b.kept.get("x", "1.41") != nil {
		t.Fatal("an answer served for another API version or engine")
	}

	mark := a.kept.mark()
	a.kept.forget("other") // anything forgotten on the engine while a read is under way
	a.kept.keep("y", "1.41", body, mark)
	if a.kept.get("y", "1.41") != nil {
		t.Fatal("an answer read across a forget was kept")
	}
	for _, ev := range []events.Message{
		{Type: events.ContainerEventType, Action: events.ActionDie, Actor: events.Actor{ID: "x"}},
		{Type: events.ContainerEventType, Action: "exec_create: sh", Actor: events.Actor{ID: "x"}},
		{Type: events.NetworkEventType, Action: events.ActionConnect, Actor: events.Actor{ID: "net", Attributes: map[string]string{"container": "x"}}},
		{Type: events.DaemonEventType, Action: events.ActionReload},
	} {
		if !keep(a, "x") {
			t.Fatal("an answer was not kept")
		}
		a.kept.forgetOf(ev)
		if a.kept.get("x", "1.41") != nil {
			t.Fatalf("the answer outlived event %s %s", ev.Type, ev.Action)
		}
	}
	keep(a, "x")
	a.kept.forgetOf(events.Message{Type: events.ContainerEventType, Action: events.ActionTop, Actor: events.Actor{ID: "x"}})
	if a.kept.get("x", "1.41") == nil {
		t.Fatal("a read (top) dropped the answer")
	}
	a.store.rereads.start("x", false) // a call through the manager re-reads what it changed
	if a.kept.get("x", "1.41") != nil {
		t.Fatal("the answer outlived a re-read")
	}

	healthy := []byte(`{"Id":"h","State":{"Status":"running","Health":{"Status":"healthy","Log":[]}}}`)
	a.kept.keep("h", "1.41", healthy, a.kept.mark())
	if a.kept.get("h", "1.41") != nil {
		t.Fatal("the answer of a container with health probes was kept")
	}

	big := bytes.Repeat([]byte("x"), maxKeptBytes/3)
	for _, id := range []string{"1", "2", "3", "4"} {
		a.kept.keep(id, "1.41", big, a.kept.mark())
		b.kept.keep(id, "1.41", big, b.kept.mark())
		if n := c.set.keptBytes.Load(); n > maxKeptBytes {
			t.Fatalf("%d bytes kept, over the budget of %d", n, maxKeptBytes)
		}
	}
	if a.kept.get("4", "1.41") == nil {
		t.Fatal("an engine over the budget did not make room from its own answers")
	}
	a.kept.reset(false) // the stream broke
	if keep(a, "x") {
		t.Fatal("an answer was kept after the stream broke")
	}
	b.kept.reset(false)
	if n := c.set.keptBytes.Load(); n != 0 {
		t.Fatalf("%d bytes still counted after every answer was dropped", n)
	}
}
