package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/errdefs"
)

// swarmServer is the API over the fake backend and sw (nil: a classic manager).
func swarmServer(sw Swarm, b *fakeBackend) *Server {
	if b == nil {
		b = &fakeBackend{}
	}
	cfg := Config{Backend: b, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if sw != nil { // a nil *fakeSwarm in the interface would not be a nil Swarm
		cfg.Swarm = sw
	}
	return New(cfg)
}

func call(s http.Handler, method, path, body string, header ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// message is an error answer's message ("" if the body is not one).
func message(rec *httptest.ResponseRecorder) string {
	var m struct{ Message string }
	json.Unmarshal(rec.Body.Bytes(), &m)
	return m.Message
}

func TestSwarmModeRoutesAreAbsentOnAClassicManager(t *testing.T) {
	var gotSw *swarm.Info
	called := false
	s := swarmServer(nil, &fakeBackend{info: func(_ [][2]string, sw *swarm.Info) ([][]byte, error) {
		called, gotSw = true, sw
		return [][]byte{[]byte("{}")}, nil
	}})
	for _, rt := range []struct{ method, path string }{
		{"GET", "/services"}, {"GET", "/v1.47/services/web"}, {"POST", "/services/create"},
		{"POST", "/services/web/update?version=1"}, {"DELETE", "/services/web"},
		{"GET", "/tasks"}, {"GET", "/tasks/t1"}, {"GET", "/tasks/t1/logs?stdout=1"},
		{"GET", "/nodes"}, {"GET", "/nodes/n1"}, {"POST", "/nodes/n1/update?version=1"}, {"DELETE", "/nodes/n1"},
		{"GET", "/swarm"}, {"POST", "/swarm/init"}, {"POST", "/swarm/join"}, {"POST", "/swarm/leave"},
	} {
		rec := call(s, rt.method, rt.path, "")
		if rec.Code != http.StatusNotFound || !strings.Contains(message(rec), "is not served by swarm") {
			t.Errorf("%s %s: %d %q, want 404 page not found", rt.method, rt.path, rec.Code, rec.Body)
		}
	}
	for _, m := range []string{"GET", "HEAD"} {
		if rec := call(s, m, "/_ping", ""); rec.Code != http.StatusOK || rec.Header().Values("Swarm") != nil {
			t.Errorf("%s /_ping: %d, Swarm header %q; want none", m, rec.Code, rec.Header().Values("Swarm"))
		}
	}
	if rec := call(s, "GET", "/info", ""); rec.Code != http.StatusOK || !called || gotSw != nil {
		t.Errorf("/info: %d, called %v with swarm section %+v; want nil", rec.Code, called, gotSw)
	}
}

func TestPingAndInfoSayThisIsASwarmModeManager(t *testing.T) {
	var gotSw *swarm.Info
	want := swarm.Info{NodeID: "node-0", LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true, Nodes: 3, Managers: 1}
	s := swarmServer(&fakeSwarm{swarmInfo: func() swarm.Info { return want }}, &fakeBackend{
		info: func(_ [][2]string, sw *swarm.Info) ([][]byte, error) {
			gotSw = sw
			return [][]byte{[]byte("{}")}, nil
		}})
	for _, m := range []string{"GET", "HEAD"} {
		rec := call(s, m, "/_ping", "")
		if rec.Code != http.StatusOK || rec.Header().Get("Swarm") != "active/manager" || rec.Header().Get("Api-Version") == "" ||
			rec.Header().Get("Cache-Control") == "" {
			t.Errorf("%s /_ping: %d, headers %v; want Swarm: active/manager beside the usual ones", m, rec.Code, rec.Header())
		}
	}
	if rec := call(s, "GET", "/v1.47/info", ""); rec.Code != http.StatusOK || gotSw == nil || !reflect.DeepEqual(*gotSw, want) {
		t.Errorf("/info: %d, swarm section %+v; want %+v", rec.Code, gotSw, want)
	}
	if rec := call(s, "GET", "/v1.24/info", ""); rec.Code != http.StatusOK || gotSw == nil || gotSw.ControlAvailable {
		t.Errorf("/v1.24/info: %d, swarm section %+v; want ControlAvailable false for a client below 1.25", rec.Code, gotSw)
	}
}

func TestServicesAreListedInspectedCreatedUpdatedAndRemoved(t *testing.T) {
	var got []any
	sw := &fakeSwarm{
		services: func(f filters.Args, status bool) ([]swarm.Service, error) {
			got = append(got, f.Get("label"), status)
			if f.Contains("name") {
				return nil, nil
			}
			return []swarm.Service{{ID: "s1"}}, nil
		},
		service: func(ref string, status bool) (swarm.Service, error) {
			if ref != "web" {
				return swarm.Service{}, errdefs.NotFound(errors.New("service " + ref + " not found"))
			}
			return swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "web"}}}, nil
		},
		createService: func(spec swarm.ServiceSpec, auth string) (swarm.ServiceCreateResponse, error) {
			got = append(got, spec.Name, auth)
			return swarm.ServiceCreateResponse{ID: "s2", Warnings: []string{"w"}}, nil
		},
		updateService: func(ref string, version uint64, spec swarm.ServiceSpec, opts swarm.ServiceUpdateOptions) (swarm.ServiceUpdateResponse, error) {
			got = append(got, ref, version, spec.Name, opts)
			if version < 7 {
				return swarm.ServiceUpdateResponse{}, errdefs.Conflict(errors.New("update out of sequence"))
			}
			return swarm.ServiceUpdateResponse{Warnings: []string{"u"}}, nil
		},
		removeService: func(ref string) error {
			got = append(got, ref)
			if ref != "web" {
				return errdefs.NotFound(errors.New("service " + ref + " not found"))
			}
			return nil
		},
	}
	s := swarmServer(sw, nil)
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		code                     int
		answer                   string // the body, or the error's message
		got                      []any
	}{
		{name: "list with filters and status", method: "GET", path: `/v1.47/services?status=true&filters={"label":{"com.docker.stack.namespace":true}}`,
			code: 200, answer: `[{"ID":"s1"`, got: []any{[]string{"com.docker.stack.namespace"}, true}},
		{name: "list without status", method: "GET", path: "/services", code: 200, answer: `[{"ID":"s1"`, got: []any{[]string{}, false}},
		{name: "an empty list is []", method: "GET", path: `/services?filters={"name":{"x":true}}`, code: 200, answer: "[]\n",
			got: []any{[]string{}, false}},
		{name: "malformed filters", method: "GET", path: "/services?filters={", code: 400, answer: "invalid filters: "},
		{name: "malformed status", method: "GET", path: "/services?status=maybe", code: 400,
			answer: `invalid value for status: "maybe": true or false is expected`},
		{name: "inspect", method: "GET", path: "/v1.47/services/web?insertDefaults=true", code: 200, answer: `{"ID":"s1"`},
		{name: "inspect unknown", method: "GET", path: "/services/nope", code: 404, answer: "service nope not found"},
		{name: "create", method: "POST", path: "/v1.47/services/create", body: `{"Name":"web"}`,
			header: []string{"X-Registry-Auth", "e30="}, code: 201, answer: `{"ID":"s2","Warnings":["w"]}`, got: []any{"web", "e30="}},
		{name: "create malformed", method: "POST", path: "/services/create", body: `{"Name":`, code: 400,
			answer: "invalid JSON: unexpected EOF"},
		{name: "create empty", method: "POST", path: "/services/create", code: 400,
			answer: "invalid JSON: got EOF while reading request body"},
		{name: "update", method: "POST", path: "/v1.47/services/web/update?version=7&registryAuthFrom=spec&rollback=none",
			body: `{"Name":"web"}`, header: []string{"X-Registry-Auth", "e30="}, code: 200, answer: `{"Warnings":["u"]}`,
			got: []any{"web", uint64(7), "web", swarm.ServiceUpdateOptions{Rollback: "none", RegistryAuthFrom: "spec", EncodedRegistryAuth: "e30="}}},
		{name: "rollback", method: "POST", path: "/services/web/update?version=8&rollback=previous", body: `{}`, code: 200,
			got: []any{"web", uint64(8), "", swarm.ServiceUpdateOptions{Rollback: "previous"}}},
		{name: "update out of sequence", method: "POST", path: "/services/web/update?version=6", body: `{}`, code: 409,
			answer: "update out of sequence", got: []any{"web", uint64(6), "", swarm.ServiceUpdateOptions{}}},
		{name: "update without version", method: "POST", path: "/services/web/update", body: `{}`, code: 400,
			answer: "missing service version: send ?version=N, the service's Version.Index as last read"},
		{name: "update with a bad version", method: "POST", path: "/services/web/update?version=-1", body: `{}`, code: 400,
			answer: `invalid service version "-1": the service's Version.Index, a whole number, is expected`},
		{name: "update malformed", method: "POST", path: "/services/web/update?version=7", body: `[1]`, code: 400,
			answer: "invalid JSON: json: cannot unmarshal array into Go value of type swarm.ServiceSpec"},
		{name: "remove", method: "DELETE", path: "/v1.47/services/web", code: 200, got: []any{"web"}},
		{name: "remove unknown", method: "DELETE", path: "/services/nope", code: 404, answer: "service nope not found", got: []any{"nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			rec := call(s, tc.method, tc.path, tc.body, tc.header...)
			answer := rec.Body.String()
			if rec.Code >= 400 {
				answer = message(rec)
			}
			if rec.Code != tc.code || !strings.HasPrefix(answer, tc.answer) {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.answer)
			}
			if !reflect.DeepEqual(got, tc.got) {
				t.Errorf("the backend got %#v, want %#v", got, tc.got)
			}
		})
	}
}

func TestTasksAreListedAndInspected(t *testing.T) {
	var gotFilters filters.Args
	s := swarmServer(&fakeSwarm{
		tasks: func(f filters.Args) ([]swarm.Task, error) { gotFilters = f; return nil, nil },
		task: func(ref string) (swarm.Task, error) {
			if ref != "t1" {
				return swarm.Task{}, errdefs.NotFound(errors.New("no such task: " + ref))
			}
			return swarm.Task{ID: "t1", ServiceID: "s1"}, nil
		},
	}, nil)
	rec := call(s, "GET", `/v1.47/tasks?filters={"service":{"web":true},"_up-to-date":{"true":true}}`, "")
	if rec.Code != 200 || rec.Body.String() != "[]\n" || !gotFilters.ExactMatch("service", "web") || !gotFilters.ExactMatch("_up-to-date", "true") {
		t.Errorf("list: %d %q, filters %v", rec.Code, rec.Body, gotFilters)
	}
	if rec := call(s, "GET", "/tasks?filters=nope", ""); rec.Code != 400 || !strings.HasPrefix(message(rec), "invalid filters: ") {
		t.Errorf("malformed filters: %d %q", rec.Code, rec.Body)
	}
	if rec := call(s, "GET", "/tasks/t1", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ServiceID":"s1"`) {
		t.Errorf("inspect: %d %q", rec.Code, rec.Body)
	}
	if rec := call(s, "GET", "/tasks/t9", ""); rec.Code != 404 || message(rec) != "no such task: t9" {
		t.Errorf("inspect unknown: %d %q", rec.Code, rec.Body)
	}
}

func TestNodesAreListedInspectedUpdatedAndRemoved(t *testing.T) {
	var got []any
	s := swarmServer(&fakeSwarm{
		nodes: func(f filters.Args) ([]swarm.Node, error) {
			got = append(got, f.Get("role"))
			return []swarm.Node{{ID: "n1"}}, nil
		},
		node: func(ref string) (swarm.Node, error) {
			if ref != "node-1" {
				return swarm.Node{}, errdefs.NotFound(errors.New("node " + ref + " not found"))
			}
			return swarm.Node{ID: "n1"}, nil
		},
		updateNode: func(ref string, version uint64, spec swarm.NodeSpec) error {
			got = append(got, ref, version, spec.Availability, spec.Labels)
			if version < 3 {
				return errdefs.Conflict(errors.New("update out of sequence"))
			}
			return nil
		},
		removeNode: func(ref string, force bool) error {
			got = append(got, ref, force)
			if !force {
				return errdefs.Conflict(errors.New("node n1 is ready: use --force to remove it"))
			}
			return nil
		},
	}, nil)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		answer                   string
		got                      []any
	}{
		{name: "list", method: "GET", path: `/v1.47/nodes?filters={"role":{"manager":true}}`, code: 200, answer: `[{"ID":"n1"`,
			got: []any{[]string{"manager"}}},
		{name: "inspect", method: "GET", path: "/nodes/node-1", code: 200, answer: `{"ID":"n1"`},
		{name: "inspect unknown", method: "GET", path: "/nodes/node-9", code: 404, answer: "node node-9 not found"},
		{name: "drain", method: "POST", path: "/v1.47/nodes/n1/update?version=3", body: `{"Availability":"drain","Labels":{"k":"v"}}`,
			code: 200, got: []any{"n1", uint64(3), swarm.NodeAvailabilityDrain, map[string]string{"k": "v"}}},
		{name: "update out of sequence", method: "POST", path: "/nodes/n1/update?version=2", body: `{}`, code: 409,
			answer: "update out of sequence", got: []any{"n1", uint64(2), swarm.NodeAvailability(""), map[string]string(nil)}},
		{name: "update without version", method: "POST", path: "/nodes/n1/update", body: `{}`, code: 400,
			answer: "missing node version: send ?version=N, the node's Version.Index as last read"},
		{name: "update with a bad version", method: "POST", path: "/nodes/n1/update?version=x", body: `{}`, code: 400,
			answer: `invalid node version "x": the node's Version.Index, a whole number, is expected`},
		{name: "update malformed", method: "POST", path: "/nodes/n1/update?version=3", body: `{"Availability":1}`, code: 400,
			answer: "invalid JSON: json: cannot unmarshal number into Go struct field NodeSpec.Availability of type swarm.NodeAvailability"},
		{name: "remove", method: "DELETE", path: "/nodes/n1", code: 409, answer: "node n1 is ready: use --force to remove it",
			got: []any{"n1", false}},
		{name: "remove with force=1", method: "DELETE", path: "/v1.47/nodes/n1?force=1", code: 200, got: []any{"n1", true}},
		{name: "remove with force=true", method: "DELETE", path: "/nodes/n1?force=true", code: 200, got: []any{"n1", true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			rec := call(s, tc.method, tc.path, tc.body)
			answer := rec.Body.String()
			if rec.Code >= 400 {
				answer = message(rec)
			}
			if rec.Code != tc.code || !strings.HasPrefix(answer, tc.answer) {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.answer)
			}
			if !reflect.DeepEqual(got, tc.got) {
				t.Errorf("the backend got %#v, want %#v", got, tc.got)
			}
		})
	}
}

func TestSwarmModesOwnMembershipCallsSayHowThisClusterIsJoined(t *testing.T) {
	s := swarmServer(&fakeSwarm{}, nil)
	want := `this is a swarm manager over plain engines: engines join the cluster with ` +
		`"swarm join --advertise=IP:2375 consul://CONSUL:8500/PREFIX" beside each engine; docker swarm init/join/leave do not apply`
	for _, rt := range []struct{ method, path string }{
		{"GET", "/v1.47/swarm"}, {"POST", "/v1.47/swarm/init"}, {"POST", "/swarm/join"}, {"POST", "/swarm/leave?force=1"},
		{"POST", "/swarm/update?version=1"}, {"GET", "/swarm/unlockkey"}, {"POST", "/swarm/unlock"},
	} {
		if rec := call(s, rt.method, rt.path, ""); rec.Code != http.StatusServiceUnavailable || message(rec) != want {
			t.Errorf("%s %s: %d %q, want 503 %q", rt.method, rt.path, rec.Code, rec.Body, want)
		}
	}
}
