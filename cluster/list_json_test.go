package cluster

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// The list's encoded answer is ListContainers encoded: names with the node, 0.0.0.0 ports with the node's IP,
// status texts as of now ("Host Down" on an unhealthy node), labels that need escaping; and it follows changes.
func TestListContainersJSONIsTheListEncoded(t *testing.T) {
	web := summary("a1", "web", "running", 10, map[string]string{"html": "<b>&</b>", "quote": `say "hi"`})
	web.Ports = []container.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}
	web.Status = "Up 3 hours"
	c := testCluster(t, map[string][]*container.Summary{
		"node-0": {web, summary("a2", "old", "exited", 5, nil)},
		"node-1": {summary("b1", "db", "running", 20, nil)},
	})
	check := func(when string) []container.Summary {
		t.Helper()
		l, err := c.ListContainersJSON(t.Context(), ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := l.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		var got []container.Summary
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v in %s", when, err, buf.Bytes())
		}
		want, _ := c.ListContainers(t.Context(), ListOptions{All: true})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: encoded list\n%+v\nwant\n%+v", when, got, want)
		}
		if len(got) != l.Len() {
			t.Errorf("%s: Len %d, %d entries written", when, l.Len(), len(got))
		}
		return got
	}
	check("first answer")
	check("from the kept entries")
	e := c.Engines()[1]
	before := e.views.listEntries()
	e.store.mu.Lock()
	e.store.containers["b2"] = e.store.newContainer(*summary("b2", "cache", "running", 30, nil), nil, time.Now(), 0)
	e.store.changedLocked()
	e.store.mu.Unlock()
	if got := check("after a container was added"); len(got) != 4 || got[0].Names[0] != "/node-1/cache" {
		t.Errorf("the newest container is not listed first: %+v", got)
	}
	if b1 := e.store.get("b1"); &e.views.listEntries().of[b1].head[0] != &before.of[b1].head[0] {
		t.Error("the entry of an unchanged container was encoded again")
	}
	e.store.mu.Lock()
	e.store.containers["b1"] = e.store.newContainer(*summary("b1", "db", "exited", 20, nil), nil, time.Now(), 0)
	e.store.changedLocked()
	e.store.mu.Unlock()
	if got := check("after a container changed"); got[1].State != "exited" {
		t.Errorf("the changed container is listed as %+v", got[1])
	}
	forceState(e, StateUnhealthy)
	check("on an unhealthy node")
	l, _ := c.ListContainersJSON(t.Context(), ListOptions{Filters: filters.NewArgs(filters.Arg("name", "nothing"))})
	var buf bytes.Buffer
	l.WriteJSON(&buf)
	if buf.String() != "[]\n" {
		t.Errorf("empty list written as %q", buf.String())
	}
}
