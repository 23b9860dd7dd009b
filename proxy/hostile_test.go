package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"swarm/cluster"
)

func TestPanicBecomesA500AndIsLogged(t *testing.T) {
	var logs bytes.Buffer
	s := New(Config{Backend: &fakeBackend{list: func(cluster.ListOptions) (cluster.ContainerList, error) { panic("boom") }},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/v1.41/containers/json", nil))
	var m map[string]string
	json.Unmarshal(rec.Body.Bytes(), &m)
	if rec.Code != 500 || !strings.Contains(m["message"], "boom") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "panic in API handler") || !strings.Contains(logs.String(), "goroutine") {
		t.Fatalf("panic not logged with its stack: %s", logs.String())
	}
}

func TestHostileBodies(t *testing.T) {
	called := false
	s := New(Config{Backend: &fakeBackend{create: func(context.Context, cluster.CreateRequest) (*cluster.CreateResponse, error) {
		called = true
		return &cluster.CreateResponse{}, nil
	}}})
	huge := bytes.Repeat([]byte("x"), maxJSONBody+10)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/containers/create", bytes.NewReader(huge)))
	if rec.Code != http.StatusBadRequest || called || !strings.Contains(rec.Body.String(), "larger than") {
		t.Fatalf("huge body: %d %s (backend called: %v)", rec.Code, rec.Body, called)
	}
	for _, path := range []string{"/containers/json?filters=%7Bbad", "/containers/json?limit=abc", "/events?since=yesterday"} {
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"message"`) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
