package desired

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// storeContract checks what every Store promises (store.go). open returns a new, empty store; the stores
// under test run it for Memory (memory_test.go) and Consul (consul_integration_test.go).
func storeContract(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("a create gives a version that reads see at once", func(t *testing.T) {
		st := open(t)
		got, err := st.PutService(ctx, service("web", 0))
		if err != nil || got.Version.Index == 0 {
			t.Fatalf("create: %+v, %v", got.Version, err)
		}
		read, ok := st.Service("web")
		if !ok || !sameJSON(read, got) {
			t.Fatalf("read after create: %v %s, want %s", ok, toJSON(read), toJSON(got))
		}
		if list := st.Services(); len(list) != 1 || !sameJSON(list[0], got) {
			t.Fatalf("list after create: %s", toJSON(list))
		}
	})
	t.Run("a create of an existing service is out of sequence", func(t *testing.T) {
		st := open(t)
		first := mustPut(t, st, service("web", 0))
		_, err := st.PutService(ctx, service("web", 0))
		wantOutOfSequence(t, err)
		if read, _ := st.Service("web"); !sameJSON(read, first) {
			t.Fatalf("the failed create changed the record: %s", toJSON(read))
		}
	})
	t.Run("an update names the version it read; a stale one is out of sequence", func(t *testing.T) {
		st := open(t)
		v1 := mustPut(t, st, service("web", 0))
		upd := v1
		upd.Spec.Labels = map[string]string{"v": "2"}
		v2, err := st.PutService(ctx, upd)
		if err != nil || v2.Version.Index <= v1.Version.Index {
			t.Fatalf("update: %+v, %v (was %d)", v2.Version, err, v1.Version.Index)
		}
		stale := v1
		stale.Spec.Labels = map[string]string{"v": "stale"}
		_, err = st.PutService(ctx, stale)
		wantOutOfSequence(t, err)
		if read, _ := st.Service("web"); read.Spec.Labels["v"] != "2" || read.Version != v2.Version {
			t.Fatalf("after a stale update: %s", toJSON(read))
		}
	})
	t.Run("an update of a missing service is out of sequence", func(t *testing.T) {
		st := open(t)
		_, err := st.PutService(ctx, service("ghost", 42))
		wantOutOfSequence(t, err)
		if _, ok := st.Service("ghost"); ok {
			t.Fatal("the failed update created the service")
		}
	})
	t.Run("of concurrent creates exactly one wins", func(t *testing.T) {
		st := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { _, err := st.PutService(ctx, service("race", 0)); errs <- err })
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			if err == nil {
				won++
			} else {
				wantOutOfSequence(t, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d creates won", won)
		}
	})
	t.Run("a delete removes the service; a missing one is not found", func(t *testing.T) {
		st := open(t)
		mustPut(t, st, service("web", 0))
		if err := st.DeleteService(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Service("web"); ok || len(st.Services()) != 0 {
			t.Fatal("still there after its delete")
		}
		if err := st.DeleteService(ctx, "web"); !errdefs.IsNotFound(err) {
			t.Fatalf("second delete: %v", err)
		}
		if err := st.DeleteService(ctx, "never"); !errdefs.IsNotFound(err) {
			t.Fatalf("delete of a service never created: %v", err)
		}
		mustPut(t, st, service("web", 0)) // created again from version 0
	})
	t.Run("lists are sorted by ID", func(t *testing.T) {
		st := open(t)
		for _, id := range []string{"c", "a", "b"} {
			mustPut(t, st, service(id, 0))
			mustPutNode(t, st, node(id, 0))
		}
		var ids []string
		for _, s := range st.Services() {
			ids = append(ids, s.ID)
		}
		for _, n := range st.Nodes() {
			ids = append(ids, n.ID)
		}
		if got := toJSON(ids); got != `["a","b","c","a","b","c"]` {
			t.Fatalf("IDs %s", got)
		}
	})
	t.Run("records handed out are copies", func(t *testing.T) {
		st := open(t)
		in := service("web", 0)
		got := mustPut(t, st, in)
		in.Spec.Labels["k"] = "changed by the caller"
		got.Spec.Labels["k"] = "changed by the caller"
		read, _ := st.Service("web")
		read.Spec.Labels["k"] = "changed by the caller"
		st.Services()[0].Spec.Labels["k"] = "changed by the caller"
		if read, _ := st.Service("web"); read.Spec.Labels["k"] != "v" {
			t.Fatalf("the store shares its maps: %s", toJSON(read))
		}
	})
	t.Run("invalid IDs are refused", func(t *testing.T) {
		st := open(t)
		for _, id := range []string{"", "a/b", ".", ".."} {
			if _, err := st.PutService(ctx, service(id, 0)); !errdefs.IsInvalidParameter(err) {
				t.Errorf("service %q: %v", id, err)
			}
			if _, err := st.PutNode(ctx, node(id, 0)); !errdefs.IsInvalidParameter(err) {
				t.Errorf("node %q: %v", id, err)
			}
		}
	})
	t.Run("a node keeps what users set, versioned like a service", func(t *testing.T) {
		st := open(t)
		in := node("n1", 0)
		in.Description.Hostname = "reported by the engine"
		in.Status.State = swarm.NodeStateReady
		in.ManagerStatus = &swarm.ManagerStatus{Leader: true}
		got, err := st.PutNode(ctx, in)
		if err != nil || got.Version.Index == 0 {
			t.Fatalf("create: %+v, %v", got.Version, err)
		}
		want := swarm.Node{ID: "n1", Meta: swarm.Meta{Version: got.Version, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}, Spec: in.Spec}
		if read, ok := st.Node("n1"); !ok || !sameJSON(read, want) || !sameJSON(got, want) {
			t.Fatalf("node %s (returned %s), want %s", toJSON(read), toJSON(got), toJSON(want))
		}
		_, err = st.PutNode(ctx, node("n1", 0))
		wantOutOfSequence(t, err)
		upd := got
		upd.Spec.Availability = swarm.NodeAvailabilityDrain
		if _, err := st.PutNode(ctx, upd); err != nil {
			t.Fatal(err)
		}
		_, err = st.PutNode(ctx, got)
		wantOutOfSequence(t, err)
		if err := st.DeleteNode(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Node("n1"); ok || len(st.Nodes()) != 0 {
			t.Fatal("node still there after its delete")
		}
		if err := st.DeleteNode(ctx, "n1"); err != nil {
			t.Fatalf("delete of a missing node: %v", err)
		}
	})
	t.Run("changes are signalled", func(t *testing.T) {
		st := open(t)
		drain(st)
		s := mustPut(t, st, service("web", 0))
		wantSignal(t, st, "create")
		s.Spec.Labels = nil
		mustPut(t, st, s)
		wantSignal(t, st, "update")
		if err := st.DeleteService(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		wantSignal(t, st, "delete")
		mustPutNode(t, st, node("n1", 0))
		wantSignal(t, st, "node create")
		if err := st.DeleteNode(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		wantSignal(t, st, "node delete")
	})
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func service(id string, version uint64) swarm.Service {
	return swarm.Service{ID: id, Meta: swarm.Meta{Version: swarm.Version{Index: version}, CreatedAt: created, UpdatedAt: created},
		Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "svc-" + id, Labels: map[string]string{"k": "v"}}}}
}

func node(id string, version uint64) swarm.Node {
	return swarm.Node{ID: id, Meta: swarm.Meta{Version: swarm.Version{Index: version}, CreatedAt: created, UpdatedAt: created},
		Spec: swarm.NodeSpec{Annotations: swarm.Annotations{Labels: map[string]string{"disk": "ssd"}},
			Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityActive}}
}

func mustPut(t *testing.T, st Store, s swarm.Service) swarm.Service {
	t.Helper()
	got, err := st.PutService(context.Background(), s)
	if err != nil {
		t.Fatalf("put service %s: %v", s.ID, err)
	}
	return got
}

func mustPutNode(t *testing.T, st Store, n swarm.Node) swarm.Node {
	t.Helper()
	got, err := st.PutNode(context.Background(), n)
	if err != nil {
		t.Fatalf("put node %s: %v", n.ID, err)
	}
	return got
}

func wantOutOfSequence(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrOutOfSequence) || !errdefs.IsConflict(err) {
		t.Fatalf("got %v, want %v (a conflict)", err, ErrOutOfSequence)
	}
}

func drain(st Store) {
	for {
		select {
		case <-st.Changed():
		default:
			return
		}
	}
}

// wantSignal waits a little: a store may learn of a change from its own write or from its watch first.
func wantSignal(t *testing.T, st Store, what string) {
	t.Helper()
	select {
	case <-st.Changed():
	case <-time.After(2 * time.Second):
		t.Fatalf("no change signalled after the %s", what)
	}
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func sameJSON(a, b any) bool { return toJSON(a) == toJSON(b) }
