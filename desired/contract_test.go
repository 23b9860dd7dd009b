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
	t.Run("each kind is apart", func(t *testing.T) {
		st := open(t)
		mustPut(t, st, service("a", 0))
		mustPutNode(t, st, node("a", 0))
		mustPutRecord(t, st, secretKind, secret("a", 0))
		mustPutRecord(t, st, configKind, config("a", 0))
		if len(st.Services())+len(st.Nodes())+len(st.Secrets())+len(st.Configs()) != 4 {
			t.Fatalf("records of ID a: %s %s %s %s", toJSON(st.Services()), toJSON(st.Nodes()), toJSON(st.Secrets()), toJSON(st.Configs()))
		}
		if err := st.DeleteSecret(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Config("a"); !ok || len(st.Services()) != 1 {
			t.Fatal("deleting a secret deleted another kind's record")
		}
	})
	t.Run("secrets", func(t *testing.T) { versionedContract(t, open, secretKind) })
	t.Run("configs", func(t *testing.T) { versionedContract(t, open, configKind) })
}

// versioned is a kind of record kept as services are (created at version 0, written with a check-and-set, a
// missing one's delete not found), for the part of the contract that is the same for each.
type versioned[T any] struct {
	noun string                            // as the not-found error says it
	make func(id string, version uint64) T // with the label k=v and the data "sealed"
	f    fields[T]
	spec func(*T) (*swarm.Annotations, *[]byte) // the record's labels and data, to change
	list func(Store) []T
	get  func(Store, string) (T, bool)
	put  func(Store, context.Context, T) (T, error)
	del  func(Store, context.Context, string) error
}

var secretKind = versioned[swarm.Secret]{noun: "secret", make: secret, f: secretFields,
	spec: func(s *swarm.Secret) (*swarm.Annotations, *[]byte) { return &s.Spec.Annotations, &s.Spec.Data },
	list: Store.Secrets, get: Store.Secret, put: Store.PutSecret, del: Store.DeleteSecret}

var configKind = versioned[swarm.Config]{noun: "config", make: config, f: configFields,
	spec: func(c *swarm.Config) (*swarm.Annotations, *[]byte) { return &c.Spec.Annotations, &c.Spec.Data },
	list: Store.Configs, get: Store.Config, put: Store.PutConfig, del: Store.DeleteConfig}

// versionedContract checks what a Store promises of a kind kept as services are.
func versionedContract[T any](t *testing.T, open func(t *testing.T) Store, k versioned[T]) {
	ctx := context.Background()
	version := func(rec T) uint64 { _, v := k.f(&rec); return v.Index }
	label := func(rec T) string { a, _ := k.spec(&rec); return a.Labels["k"] }
	t.Run("a create gives a version that reads see at once; a second create is out of sequence", func(t *testing.T) {
		st := open(t)
		got, err := k.put(st, ctx, k.make("x", 0))
		if err != nil || version(got) == 0 {
			t.Fatalf("create: %d, %v", version(got), err)
		}
		if read, ok := k.get(st, "x"); !ok || !sameJSON(read, got) {
			t.Fatalf("read after create: %v %s, want %s", ok, toJSON(read), toJSON(got))
		}
		_, err = k.put(st, ctx, k.make("x", 0))
		wantOutOfSequence(t, err)
		if read, _ := k.get(st, "x"); !sameJSON(read, got) {
			t.Fatalf("the failed create changed the record: %s", toJSON(read))
		}
	})
	t.Run("an update names the version it read; a stale or missing one is out of sequence", func(t *testing.T) {
		st := open(t)
		v1 := mustPutRecord(t, st, k, k.make("x", 0))
		upd := k.make("x", version(v1))
		a, _ := k.spec(&upd)
		a.Labels["k"] = "v2"
		v2, err := k.put(st, ctx, upd)
		if err != nil || version(v2) <= version(v1) {
			t.Fatalf("update: %d, %v (was %d)", version(v2), err, version(v1))
		}
		_, err = k.put(st, ctx, v1)
		wantOutOfSequence(t, err)
		if read, _ := k.get(st, "x"); label(read) != "v2" || version(read) != version(v2) {
			t.Fatalf("after a stale update: %s", toJSON(read))
		}
		_, err = k.put(st, ctx, k.make("ghost", 42))
		wantOutOfSequence(t, err)
		if _, ok := k.get(st, "ghost"); ok {
			t.Fatal("the failed update created the record")
		}
	})
	t.Run("lists are sorted by ID", func(t *testing.T) {
		st := open(t)
		for _, id := range []string{"c", "a", "b"} {
			mustPutRecord(t, st, k, k.make(id, 0))
		}
		var ids []string
		for _, rec := range k.list(st) {
			ids = append(ids, k.f.id(rec))
		}
		if got := toJSON(ids); got != `["a","b","c"]` {
			t.Fatalf("IDs %s", got)
		}
	})
	t.Run("a delete removes the record; a missing one is not found", func(t *testing.T) {
		st := open(t)
		mustPutRecord(t, st, k, k.make("x", 0))
		if err := k.del(st, ctx, "x"); err != nil {
			t.Fatal(err)
		}
		if _, ok := k.get(st, "x"); ok || len(k.list(st)) != 0 {
			t.Fatal("still there after its delete")
		}
		if err := k.del(st, ctx, "x"); !errdefs.IsNotFound(err) || err.Error() != k.noun+" x not found" {
			t.Fatalf("second delete: %v", err)
		}
		if err := k.del(st, ctx, "never"); !errdefs.IsNotFound(err) {
			t.Fatalf("delete of a record never created: %v", err)
		}
		mustPutRecord(t, st, k, k.make("x", 0)) // created again from version 0
	})
	t.Run("invalid IDs are refused", func(t *testing.T) {
		st := open(t)
		for _, id := range []string{"", "a/b", ".", ".."} {
			if _, err := k.put(st, ctx, k.make(id, 0)); !errdefs.IsInvalidParameter(err) {
				t.Errorf("%q: %v", id, err)
			}
		}
		if len(k.list(st)) != 0 {
			t.Fatalf("refused records were kept: %s", toJSON(k.list(st)))
		}
	})
	t.Run("records handed out are copies", func(t *testing.T) {
		st := open(t)
		change := func(rec T) {
			a, data := k.spec(&rec)
			a.Labels["k"] = "changed by the caller"
			if len(*data) > 0 {
				(*data)[0] = 'X'
			}
		}
		in := k.make("x", 0)
		got := mustPutRecord(t, st, k, in)
		change(in)
		change(got)
		read, _ := k.get(st, "x")
		change(read)
		change(k.list(st)[0])
		read, _ = k.get(st, "x")
		if _, data := k.spec(&read); label(read) != "v" || string(*data) != "sealed" {
			t.Fatalf("the store shares its maps or slices: %s", toJSON(read))
		}
	})
	t.Run("changes are signalled", func(t *testing.T) {
		st := open(t)
		drain(st)
		rec := mustPutRecord(t, st, k, k.make("x", 0))
		wantSignal(t, st, "create")
		a, _ := k.spec(&rec)
		a.Labels = nil // an update that changes nothing may keep its version (Consul's does)
		mustPutRecord(t, st, k, rec)
		wantSignal(t, st, "update")
		if err := k.del(st, ctx, "x"); err != nil {
			t.Fatal(err)
		}
		wantSignal(t, st, "delete")
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

func secret(id string, version uint64) swarm.Secret {
	return swarm.Secret{ID: id, Meta: swarm.Meta{Version: swarm.Version{Index: version}, CreatedAt: created, UpdatedAt: created},
		Spec: swarm.SecretSpec{Annotations: swarm.Annotations{Name: "secret-" + id, Labels: map[string]string{"k": "v"}},
			Data: []byte("sealed")}}
}

func config(id string, version uint64) swarm.Config {
	return swarm.Config{ID: id, Meta: swarm.Meta{Version: swarm.Version{Index: version}, CreatedAt: created, UpdatedAt: created},
		Spec: swarm.ConfigSpec{Annotations: swarm.Annotations{Name: "config-" + id, Labels: map[string]string{"k": "v"}},
			Data: []byte("sealed")}}
}

func mustPutRecord[T any](t *testing.T, st Store, k versioned[T], rec T) T {
	t.Helper()
	got, err := k.put(st, context.Background(), rec)
	if err != nil {
		t.Fatalf("put %s %s: %v", k.noun, k.f.id(rec), err)
	}
	return got
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
