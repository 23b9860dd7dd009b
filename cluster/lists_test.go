package cluster

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// An engine list that is byte for byte the last one is not decoded again; a changed one is; a failed read keeps
// the cache.
func TestRefreshDecodesChangedListsOnly(t *testing.T) {
	var body atomic.Value
	body.Store(`[{"Id":"sha256:aaaa","RepoTags":["app:1"]}]`)
	c, _, _ := simCluster(t, "lists", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/images/json") {
				sim.ServeHTTP(w, r)
				return
			}
			b := body.Load().(string)
			if b == "fail" {
				http.Error(w, `{"message":"busy"}`, http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(b))
		})
	})
	e := c.Engines()[0]
	first := e.Images()
	if len(first) != 1 || first[0].RepoTags[0] != "app:1" {
		t.Fatalf("images %+v", first)
	}
	e.objects.refresh(t.Context(), Images)
	if again := e.Images(); &again[0] != &first[0] {
		t.Error("an unchanged image list was decoded again")
	}
	body.Store(`[{"Id":"sha256:aaaa","RepoTags":["app:1","app:latest"]}]`)
	e.objects.refresh(t.Context(), Images)
	if got := e.Images(); len(got) != 1 || len(got[0].RepoTags) != 2 {
		t.Errorf("after a tag was added the images are %+v", got)
	}
	body.Store("fail")
	e.objects.refresh(t.Context(), Images)
	if got := e.Images(); len(got) != 1 || len(got[0].RepoTags) != 2 {
		t.Errorf("a failed read changed the cache: %+v", got)
	}
}

// A container list's sum leaves the status texts out (they move with the clock) and nothing else.
func TestContainerListSum(t *testing.T) {
	base := `[{"Id":"aaaa","Names":["/web"],"State":"running","Status":"Up 5 minutes","Labels":{"a":"b"}}]`
	sum := containerListSum([]byte(base))
	for _, same := range []string{
		strings.Replace(base, "Up 5 minutes", "Up 6 minutes", 1),
		strings.Replace(base, "Up 5 minutes", `Up \"odd\" minutes`, 1),
		strings.Replace(base, "Up 5 minutes", "", 1),
	} {
		if containerListSum([]byte(same)) != sum {
			t.Errorf("%s: sum moved with the status text", same)
		}
	}
	for _, changed := range []string{
		strings.Replace(base, `"running"`, `"exited"`, 1),
		strings.Replace(base, "/web", "/web2", 1),
		strings.Replace(base, `"a":"b"`, `"a":"c"`, 1),
		"[]",
	} {
		if containerListSum([]byte(changed)) == sum {
			t.Errorf("%s: same sum as the list before", changed)
		}
	}
}

// A list like the last one is taken in again when the cache changed since: the list is the engine's truth.
func TestSameContainerListAfterACacheChange(t *testing.T) {
	c, _, _ := simCluster(t, "relist", 0, nil)
	e := c.Engines()[0]
	if _, err := c.CreateContainer(t.Context(), CreateRequest{Name: "web", Body: []byte(`{"Image":"busybox"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	ct := e.views.byName("web")
	if ct == nil {
		t.Fatal("created container not cached")
	}
	e.store.mu.Lock()
	delete(e.store.containers, ct.ID) // a change the engine does not show
	e.store.changedLocked()
	e.store.mu.Unlock()
	if err := e.store.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.views.byName("web") == nil {
		t.Error("the same list did not bring back a container the cache lost")
	}
}

// The refresh takes a list in again, whatever its sum, unless the cache holds exactly its containers.
func TestCachesExactly(t *testing.T) {
	e := &store{containers: map[string]*Container{"aaaa": {}, "bbbb": {}}}
	for list, want := range map[string]bool{
		`[{"Id":"aaaa","Names":["/a"]},{"Id":"bbbb","Labels":{"x":"y"}}]`: true,
		`[{"Id":"aaaa"}]`: false, // one cached container is not listed
		`[{"Id":"aaaa"},{"Id":"bbbb"},{"Id":"cccc"}]`:          false, // a listed one is not cached
		`[{"Id":"aaaa"},{"Id":"bbbb","Labels":{"Id":"aaaa"}}]`: false,
		`[]`: false,
	} {
		if got := e.cachesExactly([]byte(list)); got != want {
			t.Errorf("%s: %v, want %v", list, got, want)
		}
	}
}

// An engine that answers its container list with something that is not JSON gets a clear error, and the cache
// stays as it was.
func TestInvalidContainerListKeepsTheCache(t *testing.T) {
	var broken atomic.Bool
	c, _, _ := simCluster(t, "garbled", 0, func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if broken.Load() && strings.HasSuffix(r.URL.Path, "/containers/json") {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`[{"Id":`))
				return
			}
			sim.ServeHTTP(w, r)
		})
	})
	if _, err := c.CreateContainer(t.Context(), CreateRequest{Name: "web", Body: []byte(`{"Image":"busybox"}`)}); err != nil {
		t.Fatal(err)
	}
	e := c.Engines()[0]
	if err := e.store.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := e.Containers()
	broken.Store(true)
	err := e.store.refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "invalid container list") {
		t.Fatalf("a garbled list gave %v, want an invalid-list error", err)
	}
	if after := e.Containers(); len(after) != len(before) || after[0] != before[0] {
		t.Errorf("a garbled list changed the cache: %d containers before, %d after", len(before), len(after))
	}
}
