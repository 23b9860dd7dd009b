package proxy

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"swarm/cluster"
	"swarm/internal/simengine"
)

// engineOn is a real engine of a one-engine cluster, served by h: what the proxy forwards to, while the fake
// backend answers everything else.
func engineOn(t *testing.T, h http.Handler) *cluster.Engine {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := cluster.New(t.Context(), cluster.Options{RefreshMin: time.Hour, RefreshMax: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	t.Cleanup(c.Close) // before the server's Close, which waits for the engine's event stream
	c.SetEngines([]string{strings.TrimPrefix(srv.URL, "http://")})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if e := c.Engines(); len(e) == 1 && e[0].Healthy() {
			return e[0]
		}
	}
	t.Fatal("the engine did not become healthy")
	return nil
}

// A removal wait (docker run --rm) that the engine never answers, after the engine reported the removal, is
// answered by the manager with the exit code the engine reported: from the manager's event stream, or else from
// the engine's own event log. When neither has it, the answer is an error (the docker CLI exits 125), never an
// exit code the manager does not know.
func TestRemovalWaitNeverReportsAFalseSuccess(t *testing.T) {
	id := strings.Repeat("c1", 32)
	for _, tc := range []struct {
		name     string
		seen     []cluster.Event // what the manager's stream shows after the wait was sent
		log      string          // the engine's event log
		code     int64
		unknown  bool
		askedLog bool
	}{
		{name: "die seen", seen: []cluster.Event{containerEvent(id, "die", map[string]string{"exitCode": "3"}), containerEvent(id, "destroy", nil)}, code: 3},
		{name: "die in the engine's log", seen: []cluster.Event{containerEvent(id, "destroy", nil)},
			log: `{"Type":"container","Action":"die","Actor":{"ID":"` + id + `","Attributes":{"exitCode":"4"}}}`, code: 4, askedLog: true},
		{name: "no die anywhere", seen: []cluster.Event{containerEvent(id, "destroy", nil)}, code: -1, unknown: true, askedLog: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			asked := make(chan string, 1)
			sim := simengine.New(simengine.Options{Name: "node-0"})
			e := engineOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/wait"): // the status line, and never the exit code
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					<-r.Context().Done()
				case strings.HasSuffix(r.URL.Path, "/events") && r.URL.Query().Has("until"):
					asked <- r.URL.Query().Get("filters")
					io.WriteString(w, tc.log)
				default:
					sim.ServeHTTP(w, r)
				}
			}))
			ct := &cluster.Container{Summary: container.Summary{ID: id, Names: []string{"/web"}, State: "running"}, Engine: e}
			s := New(Config{Backend: &fakeBackend{
				container: func(string) (*cluster.Container, error) { return ct, nil },
				subscribe: func(time.Time) ([]cluster.Event, <-chan cluster.Event, func()) {
					ch := make(chan cluster.Event, len(tc.seen))
					for _, ev := range tc.seen {
						ch <- ev
					}
					return nil, ch, func() {}
				},
			}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1.41/containers/web/wait?condition=removed", nil))
			var got container.WaitResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
			}
			if got.StatusCode != tc.code || (got.Error != nil) != tc.unknown {
				t.Errorf("answer %s, want exit code %d and an error: %v", rec.Body, tc.code, tc.unknown)
			}
			if tc.unknown && got.Error != nil && !strings.Contains(got.Error.Message, "exit code is not known") {
				t.Errorf("error %q does not say the exit code is unknown", got.Error.Message)
			}
			select {
			case f := <-asked:
				if !tc.askedLog || !strings.Contains(f, id) || !strings.Contains(f, "die") {
					t.Errorf("the engine's log was asked with filters %s (asked: %v)", f, tc.askedLog)
				}
			default:
				if tc.askedLog {
					t.Error("the engine's event log was not asked")
				}
			}
		})
	}
}
