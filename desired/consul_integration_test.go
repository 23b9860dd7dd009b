//go:build integration

package desired

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
	"github.com/hashicorp/consul/api"

	"swarm/internal/testbed"
)

// consulBed starts a Consul agent, without engines, and returns a client of it.
func consulBed(t *testing.T) (*testbed.Bed, *api.Client) {
	t.Helper()
	bed := testbed.Start(t, testbed.Options{Consul: true})
	return bed, clientFor(t, bed.ConsulAddr)
}

// runConsul opens a store on prefix, runs its watch until the test ends and waits for its first read.
func runConsul(t *testing.T, client *api.Client, prefix string) (*Consul, *logBuffer) {
	t.Helper()
	log, logs := newTestLogger()
	c := NewConsul(client, prefix, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-c.Ready():
	case <-time.After(10 * time.Second):
		t.Fatalf("the store on %q never read Consul:\n%s", prefix, logs.buf.String())
	}
	return c, logs
}

// eventually retries check for up to two seconds: how long another manager's write may take to show.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConsulKeepsTheStoreContract(t *testing.T) {
	_, client := consulBed(t)
	n := 0
	storeContract(t, func(t *testing.T) Store {
		n++
		c, _ := runConsul(t, client, fmt.Sprintf("contract/%d", n))
		return c
	})
}

func TestAVersionIsTheKeysModifyIndex(t *testing.T) {
	_, client := consulBed(t)
	c, _ := runConsul(t, client, "swarm")
	ctx := context.Background()
	s := mustPut(t, c, service("web", 0))
	s.Spec.Labels["k"] = "v2"
	s = mustPut(t, c, s)
	n := mustPutNode(t, c, node("n1", 0))
	sec := mustPutRecord(t, c, secretKind, secret("s1", 0))
	cfg := mustPutRecord(t, c, configKind, config("c1", 0))
	for key, version := range map[string]uint64{
		"swarm/swarm/services/web": s.Version.Index, "swarm/swarm/nodes/n1": n.Version.Index,
		"swarm/swarm/secrets/s1": sec.Version.Index, "swarm/swarm/configs/c1": cfg.Version.Index,
	} {
		p, _, err := client.KV().Get(key, nil)
		if err != nil || p == nil {
			t.Fatalf("%s: %v %v", key, p, err)
		}
		if p.ModifyIndex != version {
			t.Errorf("%s: ModifyIndex %d, the store says version %d", key, p.ModifyIndex, version)
		}
		var rec struct {
			ID      string
			Version swarm.Version
		}
		if err := json.Unmarshal(p.Value, &rec); err != nil || rec.ID == "" || rec.Version.Index != 0 {
			t.Errorf("%s holds %s (%v), want the record without its version", key, p.Value, err)
		}
	}
	if err := c.DeleteService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if p, _, err := client.KV().Get("swarm/swarm/services/web", nil); err != nil || p != nil {
		t.Fatalf("the key is still there: %v %v", p, err)
	}
}

func TestAnotherManagerSeesWritesThroughItsWatch(t *testing.T) {
	_, client := consulBed(t)
	a, _ := runConsul(t, client, "swarm")
	b, _ := runConsul(t, client, "swarm")
	ctx := context.Background()

	drain(b)
	s := mustPut(t, a, service("web", 0))
	wantSignal(t, b, "another manager's create")
	eventually(t, "b sees a's create", func() error {
		if got, ok := b.Service("web"); !ok || !sameJSON(got, s) {
			return fmt.Errorf("b has %v %s, want %s", ok, toJSON(got), toJSON(s))
		}
		return nil
	})

	upd, _ := b.Service("web") // b updates from what it read; a's older version is then stale
	upd.Spec.Labels = map[string]string{"by": "b"}
	upd = mustPut(t, b, upd)
	eventually(t, "a sees b's update", func() error {
		if got, _ := a.Service("web"); got.Version != upd.Version || got.Spec.Labels["by"] != "b" {
			return fmt.Errorf("a has %s", toJSON(got))
		}
		return nil
	})
	_, err := a.PutService(ctx, s)
	wantOutOfSequence(t, err)
	_, err = b.PutService(ctx, service("web", 0))
	wantOutOfSequence(t, err)

	drain(b)
	if err := a.DeleteService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	wantSignal(t, b, "another manager's delete")
	eventually(t, "b sees a's delete", func() error {
		if _, ok := b.Service("web"); ok {
			return fmt.Errorf("still there")
		}
		return nil
	})
	if err := b.DeleteService(ctx, "web"); !errdefs.IsNotFound(err) {
		t.Fatalf("delete of a deleted service: %v", err)
	}

	n := mustPutNode(t, a, node("n1", 0))
	eventually(t, "b sees a's node", func() error {
		if got, ok := b.Node("n1"); !ok || !sameJSON(got, n) {
			return fmt.Errorf("b has %v %s", ok, toJSON(got))
		}
		return nil
	})
	if err := b.DeleteNode(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a sees b's node delete", func() error {
		if _, ok := a.Node("n1"); ok {
			return fmt.Errorf("still there")
		}
		return nil
	})
	if err := a.DeleteNode(ctx, "n1"); err != nil {
		t.Fatalf("delete of a deleted node: %v", err)
	}

	sec := mustPutRecord(t, a, secretKind, secret("s1", 0))
	cfg := mustPutRecord(t, a, configKind, config("c1", 0))
	eventually(t, "b sees a's secret and config", func() error {
		if !sameJSON(b.Secrets(), []swarm.Secret{sec}) || !sameJSON(b.Configs(), []swarm.Config{cfg}) {
			return fmt.Errorf("b has %s %s", toJSON(b.Secrets()), toJSON(b.Configs()))
		}
		return nil
	})
	_, err = b.PutSecret(ctx, secret("s1", 0))
	wantOutOfSequence(t, err)
	if err := b.DeleteSecret(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteConfig(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a sees b's deletes", func() error {
		if len(a.Secrets())+len(a.Configs()) != 0 {
			return fmt.Errorf("a has %s %s", toJSON(a.Secrets()), toJSON(a.Configs()))
		}
		return nil
	})
	if err := a.DeleteConfig(ctx, "c1"); !errdefs.IsNotFound(err) {
		t.Fatalf("delete of a deleted config: %v", err)
	}
}

func TestLoadReadsConsulsCurrentStateWithoutAWatch(t *testing.T) {
	_, client := consulBed(t)
	a, _ := runConsul(t, client, "swarm")
	mustPut(t, a, service("web", 0))
	mustPutNode(t, a, node("n1", 0))
	log, _ := newTestLogger()
	c := NewConsul(client, "swarm", log) // never Run
	if len(c.Services()) != 0 {
		t.Fatal("a store read Consul before Load")
	}
	if err := c.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-c.Ready()
	if !sameJSON(c.Services(), a.Services()) || !sameJSON(c.Nodes(), a.Nodes()) {
		t.Fatalf("after Load: %s %s, want %s %s", toJSON(c.Services()), toJSON(c.Nodes()), toJSON(a.Services()), toJSON(a.Nodes()))
	}
}

func TestUnreadableRecordsInConsulAreSkipped(t *testing.T) {
	_, client := consulBed(t)
	kv := client.KV()
	for key, value := range map[string]string{
		"swarm/swarm/services/bad":   "{not json",
		"swarm/swarm/services/other": `{"ID":"not-other"}`,
		"swarm/swarm/nodes/n1":       `"a string"`,
		"swarm/swarm/services/":      "",
		"swarm/swarm/elsewhere/x":    "{}",
	} {
		if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	good := mustPut(t, NewConsul(client, "swarm", nil), service("good", 0))
	c, logs := runConsul(t, client, "swarm")
	if got := c.Services(); len(got) != 1 || !sameJSON(got[0], good) || len(c.Nodes()) != 0 {
		t.Fatalf("services %s, nodes %s", toJSON(got), toJSON(c.Nodes()))
	}
	if n := logs.count("skipping an unreadable record"); n != 3 {
		t.Fatalf("%d warnings, want 3:\n%s", n, logs.buf.String())
	}
}

func TestAConsulOutageKeepsReadsAndFailsWritesClearly(t *testing.T) {
	bed, client := consulBed(t)
	a, logs := runConsul(t, client, "swarm")
	ctx := context.Background()
	var last swarm.Service
	for i := range 50 { // enough writes that a restarted (empty) agent's index is behind this one
		last = mustPut(t, a, service(fmt.Sprint("s", i), 0))
	}
	t.Logf("index before the outage: %d", last.Version.Index)

	bed.StopConsul(t)
	_, err := a.PutService(ctx, service("during", 0))
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "desired state store: Consul is unreachable: writing service during: ") {
		t.Fatalf("write during the outage: %v", err)
	}
	if len(a.Services()) != 50 {
		t.Fatalf("reads during the outage: %d services", len(a.Services()))
	}
	time.Sleep(3 * time.Second) // several retries
	if n := logs.count("cannot watch Consul"); n != 1 {
		t.Fatalf("%d warnings for one outage:\n%s", n, logs.buf.String())
	}

	drain(a)
	bed.StartConsul(t) // a dev agent: it comes back empty
	wantSignalWithin(t, a, 15*time.Second, "Consul back without its data")
	if got := a.Services(); len(got) != 0 {
		t.Fatalf("after Consul came back empty: %s\n%s", toJSON(got), logs.buf.String())
	}
	mustPut(t, a, service("after", 0))
	if logs.count("watching Consul again") != 1 || logs.count("index went backwards") != 1 {
		t.Fatalf("the recovery and the reset were not logged once each:\n%s", logs.buf.String())
	}
}

func wantSignalWithin(t *testing.T, st Store, d time.Duration, what string) {
	t.Helper()
	select {
	case <-st.Changed():
	case <-time.After(d):
		t.Fatalf("no change signalled: %s", what)
	}
}
