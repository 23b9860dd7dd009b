package proxy_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"swarm/internal/simengine"
)

// Calls that change a container are relayed: the engine's status (304 and errors included), Content-Type and
// body reach the client, and the client's query, Content-Type and body reach the engine.
func TestChangesAreRelayedAsTheEngineAnswers(t *testing.T) {
	got := make(chan string, 1)
	wrap := func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/start"):
				w.WriteHeader(http.StatusNotModified)
			case strings.HasSuffix(r.URL.Path, "/kill"):
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"message":"Container is not running"}`)
			case strings.HasSuffix(r.URL.Path, "/update"):
				b, _ := io.ReadAll(r.Body)
				got <- r.Header.Get("Content-Type") + " " + string(b)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"Warnings":["kept"]}`)
			case strings.HasSuffix(r.URL.Path, "/stop"):
				got <- r.URL.RawQuery
				w.WriteHeader(http.StatusNoContent)
			default:
				sim.ServeHTTP(w, r)
			}
		})
	}
	f := newWrappedFixture(t, wrap, simengine.New(simengine.Options{Name: "sim-0"}))
	f.waitHealthy(t, 1)
	if _, err := f.cli.ContainerCreate(context.Background(), &container.Config{Image: "busybox"}, nil, nil, nil, "relayed"); err != nil {
		t.Fatal(err)
	}
	call := func(path, contentType, body string) (int, string, string) {
		t.Helper()
		r, err := http.Post(f.api.URL+"/v1.41/containers/relayed/"+path, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, r.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := call("start", "", ""); code != http.StatusNotModified || body != "" {
		t.Errorf("start: %d %q, want 304 without body", code, body)
	}
	if code, _, body := call("kill", "", ""); code != http.StatusConflict || !strings.Contains(body, "Container is not running") {
		t.Errorf("kill: %d %q, want the engine's 409", code, body)
	}
	code, ctype, body := call("update", "application/json", `{"CpuShares":512}`)
	if code != http.StatusOK || ctype != "application/json" || !strings.Contains(body, `"kept"`) {
		t.Errorf("update: %d %s %q, want the engine's answer", code, ctype, body)
	}
	if sent := <-got; sent != `application/json {"CpuShares":512}` {
		t.Errorf("the engine received %q", sent)
	}
	if code, _, _ := call("stop?t=7", "", ""); code != http.StatusNoContent {
		t.Errorf("stop: %d", code)
	}
	if q := <-got; q != "t=7" {
		t.Errorf("the engine received the query %q", q)
	}
}
