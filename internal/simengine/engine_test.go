package simengine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// The list of every container, kept encoded between changes, shows each create, change of state and removal.
func TestListFollowsChanges(t *testing.T) {
	e := New(Options{Name: "sim", Containers: 2})
	call := func(method, path, body string) []byte {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, "/v1.41"+path, strings.NewReader(body)))
		if rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	states := func() []string {
		var list []container.Summary
		if err := json.Unmarshal(call(http.MethodGet, "/containers/json?all=1", ""), &list); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, strings.TrimPrefix(c.Names[0], "/")+":"+c.State)
		}
		return out
	}
	check := func(want ...string) {
		t.Helper()
		if got := states(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("list: %v, want %v", got, want)
		}
	}
	check("sim-c1:running", "sim-c0:running")
	call(http.MethodPost, "/containers/create?name=web", `{"Image":"busybox"}`)
	check("web:created", "sim-c1:running", "sim-c0:running")
	call(http.MethodPost, "/containers/web/start", "")
	call(http.MethodPost, "/containers/sim-c1/stop", "")
	check("web:running", "sim-c1:exited", "sim-c0:running")
	call(http.MethodDelete, "/containers/sim-c0", "")
	check("web:running", "sim-c1:exited")
	for _, want := range []string{"running", "exited", "running"} { // an inspect, kept encoded, follows too
		var in container.InspectResponse
		if err := json.Unmarshal(call(http.MethodGet, "/containers/web/json", ""), &in); err != nil || in.State.Status != want {
			t.Fatalf("inspect: %+v %v, want %s", in.State, err, want)
		}
		call(http.MethodPost, "/containers/web/"+map[string]string{"running": "stop", "exited": "start"}[want], "")
	}
}
