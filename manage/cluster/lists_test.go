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
	e.RefreshImages(t.Context())
	if again := e.Images(); &again[0] != &first[0] {
		t.Error("an unchanged image list was decoded again")
	}
	body.Store(`[{"Id":"sha256:aaaa","RepoTags":["app:1","app:latest"]}]`)
	e.RefreshImages(t.Context())
	if got := e.Images(); len(got) != 1 || len(got[0].RepoTags) != 2 {
		t.Errorf("after a tag was added the images are %+v", got)
	}
	body.Store("fail")
	e.RefreshImages(t.Context())
	if got := e.Images(); len(got) != 1 || len(got[0].RepoTags) != 2 {
		t.Errorf("a failed read changed the cache: %+v", got)
	}
}
