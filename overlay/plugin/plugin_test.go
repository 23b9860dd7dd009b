package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDriver and fakeIPAM are test doubles: each method calls its function field, or answers nil.
type fakeDriver struct {
	createNetwork    func(context.Context, *CreateNetworkRequest) error
	deleteNetwork    func(context.Context, *DeleteNetworkRequest) error
	createEndpoint   func(context.Context, *CreateEndpointRequest) (*CreateEndpointResponse, error)
	deleteEndpoint   func(context.Context, *DeleteEndpointRequest) error
	endpointOperInfo func(context.Context, *EndpointInfoRequest) (*EndpointInfoResponse, error)
	join             func(context.Context, *JoinRequest) (*JoinResponse, error)
	leave            func(context.Context, *LeaveRequest) error
}

var _ NetworkDriver = (*fakeDriver)(nil)

func (f *fakeDriver) CreateNetwork(ctx context.Context, r *CreateNetworkRequest) error {
	if f.createNetwork == nil {
		return nil
	}
	return f.createNetwork(ctx, r)
}

func (f *fakeDriver) DeleteNetwork(ctx context.Context, r *DeleteNetworkRequest) error {
	if f.deleteNetwork == nil {
		return nil
	}
	return f.deleteNetwork(ctx, r)
}

func (f *fakeDriver) CreateEndpoint(ctx context.Context, r *CreateEndpointRequest) (*CreateEndpointResponse, error) {
	if f.createEndpoint == nil {
		return nil, nil
	}
	return f.createEndpoint(ctx, r)
}

func (f *fakeDriver) DeleteEndpoint(ctx context.Context, r *DeleteEndpointRequest) error {
	if f.deleteEndpoint == nil {
		return nil
	}
	return f.deleteEndpoint(ctx, r)
}

func (f *fakeDriver) EndpointOperInfo(ctx context.Context, r *EndpointInfoRequest) (*EndpointInfoResponse, error) {
	if f.endpointOperInfo == nil {
		return nil, nil
	}
	return f.endpointOperInfo(ctx, r)
}

func (f *fakeDriver) Join(ctx context.Context, r *JoinRequest) (*JoinResponse, error) {
	if f.join == nil {
		return nil, nil
	}
	return f.join(ctx, r)
}

func (f *fakeDriver) Leave(ctx context.Context, r *LeaveRequest) error {
	if f.leave == nil {
		return nil
	}
	return f.leave(ctx, r)
}

type fakeIPAM struct {
	addressSpaces  func(context.Context) (*AddressSpaces, error)
	requestPool    func(context.Context, *RequestPoolRequest) (*RequestPoolResponse, error)
	releasePool    func(context.Context, *ReleasePoolRequest) error
	requestAddress func(context.Context, *RequestAddressRequest) (*RequestAddressResponse, error)
	releaseAddress func(context.Context, *ReleaseAddressRequest) error
}

var _ IPAM = (*fakeIPAM)(nil)

func (f *fakeIPAM) GetDefaultAddressSpaces(ctx context.Context) (*AddressSpaces, error) {
	if f.addressSpaces == nil {
		return nil, nil
	}
	return f.addressSpaces(ctx)
}

func (f *fakeIPAM) RequestPool(ctx context.Context, r *RequestPoolRequest) (*RequestPoolResponse, error) {
	if f.requestPool == nil {
		return nil, nil
	}
	return f.requestPool(ctx, r)
}

func (f *fakeIPAM) ReleasePool(ctx context.Context, r *ReleasePoolRequest) error {
	if f.releasePool == nil {
		return nil
	}
	return f.releasePool(ctx, r)
}

func (f *fakeIPAM) RequestAddress(ctx context.Context, r *RequestAddressRequest) (*RequestAddressResponse, error) {
	if f.requestAddress == nil {
		return nil, nil
	}
	return f.requestAddress(ctx, r)
}

func (f *fakeIPAM) ReleaseAddress(ctx context.Context, r *ReleaseAddressRequest) error {
	if f.releaseAddress == nil {
		return nil
	}
	return f.releaseAddress(ctx, r)
}

// engine calls the plugin the way the engine's plugin client (github.com/docker/docker/pkg/plugins) does: POST
// /<method> with a JSON body and Accept: ContentType; a non-200 status is an error whose text is
// "<method>: " and the body's "Err" (or the whole body if it has none). That package is not imported: it would
// pull modules into go.mod that nothing else needs.
type engine struct {
	http *http.Client
}

func newEngine(socket string) *engine {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &engine{http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// statusError is the engine's plugins.statusError.
type statusError struct {
	status int
	method string
	err    string
}

func (e *statusError) Error() string { return fmt.Sprintf("%s: %v", e.method, e.err) }

// call sends args encoded as JSON (nothing if nil) and decodes the answer into ret.
func (e *engine) call(method string, args, ret any) error {
	var buf bytes.Buffer
	if args != nil {
		if err := json.NewEncoder(&buf).Encode(args); err != nil {
			return err
		}
	}
	return e.raw(context.Background(), method, buf.String(), ret)
}

// raw sends body as it is.
func (e *engine) raw(ctx context.Context, method, body string, ret any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://plugin.moby.localhost/"+method, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Add("Accept", ContentType)
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if ct := resp.Header.Get("Content-Type"); ct != ContentType {
		return fmt.Errorf("content type %q, want %q", ct, ContentType)
	}
	if resp.StatusCode != http.StatusOK {
		var remote struct{ Err string }
		if json.Unmarshal(b, &remote) == nil && remote.Err != "" {
			return &statusError{resp.StatusCode, method, remote.Err}
		}
		return &statusError{resp.StatusCode, method, string(b)}
	}
	if ret != nil {
		return json.Unmarshal(b, ret)
	}
	return nil
}

// socketPath is a path in a new directory short enough for a unix socket (108 bytes).
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "swarmnet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "plugins", "swarmnet.sock")
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve starts a server with d and ipam on a new socket; it stops when the test ends, and must stop cleanly.
func serve(t *testing.T, d NetworkDriver, ipam IPAM) (string, *engine) {
	t.Helper()
	path := socketPath(t)
	srv, err := New(Config{Socket: path, Driver: d, IPAM: ipam, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path, newEngine(path)
}

func TestActivate(t *testing.T) {
	_, e := serve(t, &fakeDriver{}, &fakeIPAM{})
	var m struct{ Implements []string }
	if err := e.call("Plugin.Activate", nil, &m); err != nil {
		t.Fatal(err)
	}
	if want := []string{"NetworkDriver", "IpamDriver"}; !reflect.DeepEqual(m.Implements, want) {
		t.Errorf("Implements = %q, want %q", m.Implements, want)
	}

	_, e = serve(t, nil, &fakeIPAM{})
	if err := e.call("Plugin.Activate", nil, &m); err != nil {
		t.Fatal(err)
	}
	if want := []string{"IpamDriver"}; !reflect.DeepEqual(m.Implements, want) {
		t.Errorf("IPAM only: Implements = %q, want %q", m.Implements, want)
	}
	var se *statusError
	if err := e.call("NetworkDriver.GetCapabilities", nil, nil); !errors.As(err, &se) || se.status != http.StatusNotFound {
		t.Errorf("IPAM only: NetworkDriver.GetCapabilities: %v, want a 404", err)
	}
}

func TestNetworkDriverCalls(t *testing.T) {
	var mu sync.Mutex
	got := map[string]any{}
	record := func(name string, req any) {
		mu.Lock()
		defer mu.Unlock()
		got[name] = req
	}
	d := &fakeDriver{
		createNetwork: func(_ context.Context, r *CreateNetworkRequest) error { record("CreateNetwork", r); return nil },
		deleteNetwork: func(_ context.Context, r *DeleteNetworkRequest) error { record("DeleteNetwork", r); return nil },
		createEndpoint: func(_ context.Context, r *CreateEndpointRequest) (*CreateEndpointResponse, error) {
			record("CreateEndpoint", r)
			return &CreateEndpointResponse{Interface: &EndpointInterface{MacAddress: "02:42:0a:00:00:05"}}, nil
		},
		deleteEndpoint: func(_ context.Context, r *DeleteEndpointRequest) error { record("DeleteEndpoint", r); return nil },
		endpointOperInfo: func(_ context.Context, r *EndpointInfoRequest) (*EndpointInfoResponse, error) {
			record("EndpointOperInfo", r)
			return &EndpointInfoResponse{Value: map[string]any{"vtep": "192.168.1.2"}}, nil
		},
		join: func(_ context.Context, r *JoinRequest) (*JoinResponse, error) {
			record("Join", r)
			return &JoinResponse{
				InterfaceName:         &InterfaceName{SrcName: "swcep1", DstPrefix: "eth"},
				StaticRoutes:          []StaticRoute{{Destination: "10.1.0.0/16", RouteType: 0, NextHop: "10.0.0.1"}},
				DisableGatewayService: true,
			}, nil
		},
		leave: func(_ context.Context, r *LeaveRequest) error { record("Leave", r); return nil },
	}
	_, e := serve(t, d, &fakeIPAM{})

	tests := []struct {
		method string
		body   string         // as the engine sends it
		req    any            // what the implementation must receive; nil: the call must not reach it
		resp   map[string]any // the answer on the wire
	}{
		{
			method: "GetCapabilities",
			resp:   map[string]any{"Scope": "local", "ConnectivityScope": "global"},
		},
		{
			method: "CreateNetwork",
			body: `{"NetworkID":"n1","Options":{"com.docker.network.enable_ipv6":false,` +
				`"com.docker.network.generic":{"swarm.network.id":"c1"}},` +
				`"IPv4Data":[{"AddressSpace":"swarmnet","Pool":"10.0.0.0/24","Gateway":"10.0.0.1/24","AuxAddresses":{"r":"10.0.0.2/24"}}],"IPv6Data":[]}`,
			req: &CreateNetworkRequest{
				NetworkID: "n1",
				Options: map[string]any{
					"com.docker.network.enable_ipv6": false,
					"com.docker.network.generic":     map[string]any{"swarm.network.id": "c1"},
				},
				IPv4Data: []IPAMData{{AddressSpace: "swarmnet", Pool: "10.0.0.0/24", Gateway: "10.0.0.1/24", AuxAddresses: map[string]string{"r": "10.0.0.2/24"}}},
				IPv6Data: []IPAMData{},
			},
			resp: map[string]any{},
		},
		{
			method: "CreateEndpoint",
			body:   `{"NetworkID":"n1","EndpointID":"ep1","Interface":{"Address":"10.0.0.5/24","AddressIPv6":"","MacAddress":""},"Options":{"com.docker.network.endpoint.exposedports":[]}}`,
			req: &CreateEndpointRequest{
				NetworkID: "n1", EndpointID: "ep1", Interface: &EndpointInterface{Address: "10.0.0.5/24"},
				Options: map[string]any{"com.docker.network.endpoint.exposedports": []any{}},
			},
			resp: map[string]any{"Interface": map[string]any{"MacAddress": "02:42:0a:00:00:05"}},
		},
		{
			method: "EndpointOperInfo",
			body:   `{"NetworkID":"n1","EndpointID":"ep1"}`,
			req:    &EndpointInfoRequest{NetworkID: "n1", EndpointID: "ep1"},
			resp:   map[string]any{"Value": map[string]any{"vtep": "192.168.1.2"}},
		},
		{
			method: "Join",
			body:   `{"NetworkID":"n1","EndpointID":"ep1","SandboxKey":"/var/run/docker/netns/abc","Options":{"k":"v"}}`,
			req:    &JoinRequest{NetworkID: "n1", EndpointID: "ep1", SandboxKey: "/var/run/docker/netns/abc", Options: map[string]any{"k": "v"}},
			resp: map[string]any{
				"InterfaceName":         map[string]any{"SrcName": "swcep1", "DstPrefix": "eth"},
				"StaticRoutes":          []any{map[string]any{"Destination": "10.1.0.0/16", "RouteType": 0.0, "NextHop": "10.0.0.1"}},
				"DisableGatewayService": true,
			},
		},
		{
			method: "Leave",
			body:   `{"NetworkID":"n1","EndpointID":"ep1"}`,
			req:    &LeaveRequest{NetworkID: "n1", EndpointID: "ep1"},
			resp:   map[string]any{},
		},
		{
			method: "DeleteEndpoint",
			body:   `{"NetworkID":"n1","EndpointID":"ep1"}`,
			req:    &DeleteEndpointRequest{NetworkID: "n1", EndpointID: "ep1"},
			resp:   map[string]any{},
		},
		{
			method: "DeleteNetwork",
			body:   `{"NetworkID":"n1"}`,
			req:    &DeleteNetworkRequest{NetworkID: "n1"},
			resp:   map[string]any{},
		},
		{method: "DiscoverNew", body: `{"DiscoveryType":1,"DiscoveryData":{"Address":"192.168.1.3","Self":false}}`, resp: map[string]any{}},
		{method: "DiscoverDelete", body: `{"DiscoveryType":1,"DiscoveryData":{"Address":"192.168.1.3","Self":false}}`, resp: map[string]any{}},
		{method: "ProgramExternalConnectivity", body: `{"NetworkID":"n1","EndpointID":"ep1","Options":{}}`, resp: map[string]any{}},
		{method: "RevokeExternalConnectivity", body: `{"NetworkID":"n1","EndpointID":"ep1"}`, resp: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			var resp map[string]any
			if err := e.raw(context.Background(), "NetworkDriver."+tt.method, tt.body, &resp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp, tt.resp) {
				t.Errorf("answer %v, want %v", resp, tt.resp)
			}
			mu.Lock()
			req, reached := got[tt.method]
			mu.Unlock()
			if tt.req == nil {
				if reached {
					t.Errorf("reached the implementation")
				}
				return
			}
			if !reflect.DeepEqual(req, tt.req) {
				t.Errorf("implementation got %#v, want %#v", req, tt.req)
			}
		})
	}

	for _, m := range []string{"AllocateNetwork", "FreeNetwork"} {
		err := e.raw(context.Background(), "NetworkDriver."+m, `{"NetworkID":"n1"}`, nil)
		if err == nil || !strings.Contains(err.Error(), "swarm mode") {
			t.Errorf("%s: %v, want an error about swarm mode", m, err)
		}
	}
	if got := DriverOptions(got["CreateNetwork"].(*CreateNetworkRequest).Options); !reflect.DeepEqual(got, map[string]string{"swarm.network.id": "c1"}) {
		t.Errorf("DriverOptions = %v", got)
	}
}

func TestIPAMCalls(t *testing.T) {
	var mu sync.Mutex
	got := map[string]any{}
	record := func(name string, req any) {
		mu.Lock()
		defer mu.Unlock()
		got[name] = req
	}
	ipam := &fakeIPAM{
		addressSpaces: func(context.Context) (*AddressSpaces, error) {
			return &AddressSpaces{LocalDefaultAddressSpace: "swarmnet-local", GlobalDefaultAddressSpace: "swarmnet"}, nil
		},
		requestPool: func(_ context.Context, r *RequestPoolRequest) (*RequestPoolResponse, error) {
			record("RequestPool", r)
			return &RequestPoolResponse{PoolID: "c1/10.0.0.0/24", Pool: "10.0.0.0/24", Data: map[string]string{"com.docker.network.gateway": "10.0.0.1/24"}}, nil
		},
		releasePool: func(_ context.Context, r *ReleasePoolRequest) error { record("ReleasePool", r); return nil },
		requestAddress: func(_ context.Context, r *RequestAddressRequest) (*RequestAddressResponse, error) {
			record("RequestAddress", r)
			return &RequestAddressResponse{Address: "10.0.0.5/24"}, nil
		},
		releaseAddress: func(_ context.Context, r *ReleaseAddressRequest) error { record("ReleaseAddress", r); return nil },
	}
	path := socketPath(t)
	srv, err := New(Config{Socket: path, IPAM: ipam, IPAMCapabilities: IPAMCapabilities{RequiresMACAddress: true}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	e := newEngine(path)

	tests := []struct {
		method string
		body   string
		req    any
		resp   map[string]any
	}{
		{method: "GetCapabilities", resp: map[string]any{"RequiresMACAddress": true, "RequiresRequestReplay": false}},
		{method: "GetDefaultAddressSpaces", resp: map[string]any{"LocalDefaultAddressSpace": "swarmnet-local", "GlobalDefaultAddressSpace": "swarmnet"}},
		{
			method: "RequestPool",
			body:   `{"AddressSpace":"swarmnet","Pool":"10.0.0.0/24","SubPool":"10.0.0.128/25","Options":{"swarm.network.id":"c1"},"V6":false}`,
			req:    &RequestPoolRequest{AddressSpace: "swarmnet", Pool: "10.0.0.0/24", SubPool: "10.0.0.128/25", Options: map[string]string{"swarm.network.id": "c1"}},
			resp:   map[string]any{"PoolID": "c1/10.0.0.0/24", "Pool": "10.0.0.0/24", "Data": map[string]any{"com.docker.network.gateway": "10.0.0.1/24"}},
		},
		{
			method: "RequestAddress",
			body:   `{"PoolID":"c1/10.0.0.0/24","Address":"10.0.0.5","Options":{"com.docker.network.endpoint.macaddress":"02:42:0a:00:00:05"}}`,
			req:    &RequestAddressRequest{PoolID: "c1/10.0.0.0/24", Address: "10.0.0.5", Options: map[string]string{"com.docker.network.endpoint.macaddress": "02:42:0a:00:00:05"}},
			resp:   map[string]any{"Address": "10.0.0.5/24"},
		},
		{
			method: "ReleaseAddress",
			body:   `{"PoolID":"c1/10.0.0.0/24","Address":"10.0.0.5"}`,
			req:    &ReleaseAddressRequest{PoolID: "c1/10.0.0.0/24", Address: "10.0.0.5"},
			resp:   map[string]any{},
		},
		{
			method: "ReleasePool",
			body:   `{"PoolID":"c1/10.0.0.0/24"}`,
			req:    &ReleasePoolRequest{PoolID: "c1/10.0.0.0/24"},
			resp:   map[string]any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			var resp map[string]any
			if err := e.raw(context.Background(), "IpamDriver."+tt.method, tt.body, &resp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp, tt.resp) {
				t.Errorf("answer %v, want %v", resp, tt.resp)
			}
			if tt.req == nil {
				return
			}
			mu.Lock()
			req := got[tt.method]
			mu.Unlock()
			if !reflect.DeepEqual(req, tt.req) {
				t.Errorf("implementation got %#v, want %#v", req, tt.req)
			}
		})
	}
	var m struct{ Implements []string }
	if err := e.call("Plugin.Activate", nil, &m); err != nil || !reflect.DeepEqual(m.Implements, []string{"IpamDriver"}) {
		t.Errorf("Activate: %v, %q", err, m.Implements)
	}
}

// An implementation's error reaches the engine with its text intact, the way the engine's client reports it.
func TestImplementationError(t *testing.T) {
	const netText = `network c1 is being deleted: "swarm.network.id" names no cluster network`
	const ipamText = "address 10.0.0.5 of c1 is taken by host-b (endpoint 4f2a)"
	d := &fakeDriver{createNetwork: func(context.Context, *CreateNetworkRequest) error { return errors.New(netText) }}
	ipam := &fakeIPAM{requestAddress: func(context.Context, *RequestAddressRequest) (*RequestAddressResponse, error) {
		return nil, fmt.Errorf("%s", ipamText)
	}}
	_, e := serve(t, d, ipam)

	for _, c := range []struct{ method, text string }{
		{"NetworkDriver.CreateNetwork", netText},
		{"IpamDriver.RequestAddress", ipamText},
	} {
		err := e.call(c.method, map[string]any{"NetworkID": "n1", "PoolID": "p"}, nil)
		var se *statusError
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v, want a status error", c.method, err)
		}
		if se.status != http.StatusInternalServerError || se.err != c.text {
			t.Errorf("%s: status %d, Err %q; want 500, %q", c.method, se.status, se.err, c.text)
		}
		if want := c.method + ": " + c.text; err.Error() != want {
			t.Errorf("engine reports %q, want %q", err, want)
		}
	}
}

// A malformed request, an empty body, a panic, an unknown method, a GET: each an error, and the server goes on.
func TestBadRequests(t *testing.T) {
	d := &fakeDriver{join: func(context.Context, *JoinRequest) (*JoinResponse, error) { panic("boom") }}
	path, e := serve(t, d, &fakeIPAM{})

	for _, c := range []struct {
		method, body string
		status       int
		text         string
	}{
		{"NetworkDriver.CreateNetwork", `{"NetworkID":`, http.StatusBadRequest, "malformed request body"},
		{"NetworkDriver.CreateNetwork", `{"NetworkID":42}`, http.StatusBadRequest, "malformed request body"},
		{"IpamDriver.RequestAddress", `[1,2`, http.StatusBadRequest, "malformed request body"},
		{"NetworkDriver.CreateEndpoint", ``, http.StatusBadRequest, "empty request body"},
		{"NetworkDriver.Join", `{"NetworkID":"n1"}`, http.StatusInternalServerError, "boom"},
		{"NetworkDriver.GwAllocCheck", `{}`, http.StatusNotFound, "does not implement NetworkDriver.GwAllocCheck"},
		{"VolumeDriver.Create", `{}`, http.StatusNotFound, "does not implement"},
	} {
		err := e.raw(context.Background(), c.method, c.body, nil)
		var se *statusError
		if !errors.As(err, &se) || se.status != c.status || !strings.Contains(se.err, c.text) {
			t.Errorf("%s %q: %v, want status %d and %q", c.method, c.body, err, c.status, c.text)
		}
	}

	resp, err := e.http.Get("http://plugin.moby.localhost/Plugin.Activate")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d", resp.StatusCode)
	}

	if err := e.call("NetworkDriver.CreateNetwork", map[string]any{"NetworkID": "n1"}, nil); err != nil {
		t.Errorf("after bad requests: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("socket: %v", err)
	}
}

// Calls run concurrently, each with the request's context.
func TestConcurrentCalls(t *testing.T) {
	const n = 4
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	canceled := make(chan error, 1)
	d := &fakeDriver{
		join: func(ctx context.Context, r *JoinRequest) (*JoinResponse, error) {
			arrived <- struct{}{}
			select {
			case <-release:
				return &JoinResponse{Gateway: r.EndpointID}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		leave: func(ctx context.Context, _ *LeaveRequest) error {
			<-ctx.Done()
			canceled <- ctx.Err()
			return ctx.Err()
		},
	}
	_, e := serve(t, d, nil)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			var resp JoinResponse
			id := fmt.Sprint("ep", i)
			if err := e.call("NetworkDriver.Join", JoinRequest{NetworkID: "n1", EndpointID: id}, &resp); err != nil {
				errs <- err
			} else if resp.Gateway != id {
				errs <- fmt.Errorf("%s got the answer for %s", id, resp.Gateway)
			}
		})
	}
	for range n {
		select {
		case <-arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("calls are not handled concurrently")
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The engine hanging up ends the call's context.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := e.raw(ctx, "NetworkDriver.Leave", `{"NetworkID":"n1","EndpointID":"ep1"}`, nil); err == nil {
		t.Error("Leave returned before its context ended")
	}
	select {
	case err := <-canceled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Leave's context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Leave's context did not end when the engine hung up")
	}
}

func TestSocketLifecycle(t *testing.T) {
	path := socketPath(t) // its directory does not exist yet
	inFlight := make(chan struct{})
	leaveCtx := make(chan error, 1)
	d := &fakeDriver{leave: func(ctx context.Context, _ *LeaveRequest) error {
		close(inFlight)
		<-ctx.Done()
		leaveCtx <- ctx.Err()
		return ctx.Err()
	}}
	srv, err := New(Config{Socket: path, Driver: d, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	e := newEngine(path)
	if err := e.call("Plugin.Activate", nil, nil); err != nil {
		t.Fatal(err)
	}

	// A second server on the live socket is refused, and leaves the first one serving.
	if _, err := New(Config{Socket: path, Driver: &fakeDriver{}, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "another process is serving") {
		t.Errorf("second server: %v, want a refusal", err)
	}
	if err := e.call("Plugin.Activate", nil, nil); err != nil {
		t.Errorf("first server after the refusal: %v", err)
	}

	// Ending the context ends the contexts of calls in flight, stops the server and removes the socket.
	go e.call("NetworkDriver.Leave", LeaveRequest{NetworkID: "n1", EndpointID: "ep1"}, nil)
	<-inFlight
	cancel()
	select {
	case err := <-leaveCtx:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("in-flight call's context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("an in-flight call's context did not end with Serve's")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after shutdown: %v, want it gone", err)
	}
	if err := srv.Serve(context.Background()); err == nil {
		t.Error("a second Serve was accepted")
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := socketPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// What a killed plugin leaves: a socket file nobody listens on.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket: %v", err)
	}

	srv, err := New(Config{Socket: path, IPAM: &fakeIPAM{}, Logger: quiet})
	if err != nil {
		t.Fatalf("New over a stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	if err := newEngine(path).call("Plugin.Activate", nil, nil); err != nil {
		t.Errorf("Activate: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	path := socketPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a socket"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  Config
		text string
	}{
		{"not a socket", Config{Socket: path, Driver: &fakeDriver{}}, "is not a socket"},
		{"no socket", Config{Driver: &fakeDriver{}}, "no socket path"},
		{"no driver", Config{Socket: path + "2"}, "neither"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.text)
		}
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "not a socket" {
		t.Errorf("the file in the way was changed: %q, %v", b, err)
	}

	// Close releases a server that is never served.
	p2 := filepath.Join(filepath.Dir(path), "other.sock")
	srv, err := New(Config{Socket: p2, Driver: &fakeDriver{}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if _, err := os.Lstat(p2); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after Close: %v", err)
	}
}
