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
	for _, e := range c.engines {
		if e.name == "a" {
			a = e
		} else {
			b = e
		}
	}
	body := []byte(`{"Id":"x","State":{"Status":"running"}}`)
	keep := func(e *Engine, id string) bool {
		e.KeepInspect(id, "1.41", body, e.InspectMark())
		return e.KeptInspect(id, "1.41") != nil
	}
	if keep(a, "x") {
		t.Fatal("an answer was kept while the engine's event stream was closed")
	}
	a.forgetInspects(true)
	b.forgetInspects(true)
	if !keep(a, "x") || a.KeptInspect("x", "1.41") == nil {
		t.Fatal("an answer was not kept")
	}
	if a.KeptInspect("x", "1.40") != nil || b.KeptInspect("x", "1.41") != nil {
		t.Fatal("an answer served for another API version or engine")
	}

	mark := a.InspectMark()
	a.forgetInspect("other") // anything forgotten on the engine while a read is under way
	a.KeepInspect("y", "1.41", body, mark)
	if a.KeptInspect("y", "1.41") != nil {
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
		a.forgetInspectsOf(ev)
		if a.KeptInspect("x", "1.41") != nil {
			t.Fatalf("the answer outlived event %s %s", ev.Type, ev.Action)
		}
	}
	keep(a, "x")
	a.forgetInspectsOf(events.Message{Type: events.ContainerEventType, Action: events.ActionTop, Actor: events.Actor{ID: "x"}})
	if a.KeptInspect("x", "1.41") == nil {
		t.Fatal("a read (top) dropped the answer")
	}
	a.startRefresh("x", false) // a call through the manager re-reads what it changed
	if a.KeptInspect("x", "1.41") != nil {
		t.Fatal("the answer outlived a re-read")
	}

	healthy := []byte(`{"Id":"h","State":{"Status":"running","Health":{"Status":"healthy","Log":[]}}}`)
	a.KeepInspect("h", "1.41", healthy, a.InspectMark())
	if a.KeptInspect("h", "1.41") != nil {
		t.Fatal("the answer of a container with health probes was kept")
	}

	big := bytes.Repeat([]byte("x"), maxKeptBytes/3)
	for _, id := range []string{"1", "2", "3", "4"} {
		a.KeepInspect(id, "1.41", big, a.InspectMark())
		b.KeepInspect(id, "1.41", big, b.InspectMark())
		if n := c.set.keptBytes.Load(); n > maxKeptBytes {
			t.Fatalf("%d bytes kept, over the budget of %d", n, maxKeptBytes)
		}
	}
	if a.KeptInspect("4", "1.41") == nil {
		t.Fatal("an engine over the budget did not make room from its own answers")
	}
	a.forgetInspects(false) // the stream broke
	if keep(a, "x") {
		t.Fatal("an answer was kept after the stream broke")
	}
	b.forgetInspects(false)
	if n := c.set.keptBytes.Load(); n != 0 {
		t.Fatalf("%d bytes still counted after every answer was dropped", n)
	}
}
