package proxy

import (
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"
)

// BenchmarkRouteMatch is finding the handler of the calls a `docker run -d` makes (create, start, inspect),
// with the versioned paths the CLI sends.
func BenchmarkRouteMatch(b *testing.B) {
	s := New(Config{Backend: &fakeBackend{}})
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	reqs := []struct{ method, path string }{
		{"POST", "/v1.41/containers/create"},
		{"POST", "/v1.41/containers/" + id + "/start"},
		{"GET", "/v1.41/containers/" + id + "/json"},
		{"POST", "/v1.41/containers/" + id + "/wait"},
	}
	for _, rq := range reqs {
		var m mux.RouteMatch
		if !s.router.Match(httptest.NewRequest(rq.method, rq.path, nil), &m) || m.MatchErr != nil {
			b.Fatalf("%s %s: no route", rq.method, rq.path)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, rq := range reqs {
			var m mux.RouteMatch
			s.router.Match(httptest.NewRequest(rq.method, rq.path, nil), &m)
		}
	}
}
