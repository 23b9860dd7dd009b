package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

const (
	// ContentType is the media type of the protocol's bodies (pkg/plugins/transport.VersionMimetype).
	ContentType = "application/vnd.docker.plugins.v1.2+json"

	// DriverScope and DriverConnectivityScope are the network driver's capabilities: each engine keeps its own
	// copy of a network (a plain engine refuses a global data scope without a cluster store), whose endpoints
	// reach those of every host.
	DriverScope             = "local"
	DriverConnectivityScope = "global"

	maxBody = 1 << 20
)

// call answers one method: it decodes body, if the method has one, and returns the response to encode.
type call func(ctx context.Context, body []byte) (any, error)

// requestError is a request the server cannot decode: answered 400 rather than 500.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

// routes maps each method ("NetworkDriver.Join") to its call.
func routes(cfg Config) map[string]call {
	var implements []string
	r := map[string]call{}
	if d := cfg.Driver; d != nil {
		implements = append(implements, "NetworkDriver")
		empty := answer(struct{}{})
		swarmOnly := fail("swarmnet does not take part in swarm mode (AllocateNetwork and FreeNetwork are swarm-mode calls)")
		for method, c := range map[string]call{
			"GetCapabilities":             answer(DriverCapabilities{Scope: DriverScope, ConnectivityScope: DriverConnectivityScope}),
			"CreateNetwork":               done(d.CreateNetwork),
			"DeleteNetwork":               done(d.DeleteNetwork),
			"AllocateNetwork":             swarmOnly,
			"FreeNetwork":                 swarmOnly,
			"CreateEndpoint":              reply(d.CreateEndpoint),
			"DeleteEndpoint":              done(d.DeleteEndpoint),
			"EndpointOperInfo":            reply(d.EndpointOperInfo),
			"Join":                        reply(d.Join),
			"Leave":                       done(d.Leave),
			"DiscoverNew":                 empty,
			"DiscoverDelete":              empty,
			"ProgramExternalConnectivity": empty,
			"RevokeExternalConnectivity":  empty,
		} {
			r["NetworkDriver."+method] = c
		}
	}
	if ipam := cfg.IPAM; ipam != nil {
		implements = append(implements, "IpamDriver")
		for method, c := range map[string]call{
			"GetCapabilities": answer(cfg.IPAMCapabilities),
			"GetDefaultAddressSpaces": func(ctx context.Context, _ []byte) (any, error) {
				return orEmpty(ipam.GetDefaultAddressSpaces(ctx))
			},
			"RequestPool":    reply(ipam.RequestPool),
			"ReleasePool":    done(ipam.ReleasePool),
			"RequestAddress": reply(ipam.RequestAddress),
			"ReleaseAddress": done(ipam.ReleaseAddress),
		} {
			r["IpamDriver."+method] = c
		}
	}
	r["Plugin.Activate"] = answer(struct{ Implements []string }{implements})
	return r
}

// reply makes a call of a method that takes a request and gives a response.
func reply[Req, Resp any](f func(context.Context, *Req) (*Resp, error)) call {
	return func(ctx context.Context, body []byte) (any, error) {
		req := new(Req)
		if err := decode(body, req); err != nil {
			return nil, err
		}
		return orEmpty(f(ctx, req))
	}
}

// done makes a call of a method that takes a request and gives only an error.
func done[Req any](f func(context.Context, *Req) error) call {
	return reply(func(ctx context.Context, req *Req) (*struct{}, error) { return nil, f(ctx, req) })
}

// answer makes a call answered with v whatever the request.
func answer(v any) call {
	return func(context.Context, []byte) (any, error) { return v, nil }
}

// fail makes a call answered with an error whatever the request.
func fail(msg string) call {
	return func(context.Context, []byte) (any, error) { return nil, errors.New(msg) }
}

// orEmpty turns a nil response into {}.
func orEmpty[Resp any](resp *Resp, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return struct{}{}, nil
	}
	return resp, nil
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &requestError{"empty request body"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &requestError{"malformed request body: " + err.Error()}
	}
	return nil
}

// ServeHTTP answers one call of the engine: POST /<Interface>.<Method>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/")
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("plugin call panicked", "method", method, "panic", p, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("swarmnet plugin failed on %s: %v", method, p))
		}
	}()
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "plugin calls are POST, not "+r.Method)
		return
	}
	c, ok := s.calls[method]
	if !ok {
		writeError(w, http.StatusNotFound, "swarmnet plugin does not implement "+method)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err == nil && len(body) > maxBody {
		err = &requestError{fmt.Sprintf("request body larger than %d bytes", maxBody)}
	}
	var resp any
	if err == nil {
		resp, err = c(r.Context(), body)
	}
	if err != nil {
		status := http.StatusInternalServerError
		if re := (*requestError)(nil); errors.As(err, &re) {
			status = http.StatusBadRequest
		}
		s.log.Warn("plugin call failed", "method", method, "status", status, "err", err, "took", time.Since(start))
		writeError(w, status, err.Error())
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("swarmnet plugin cannot encode its answer to %s: %v", method, err))
		return
	}
	s.log.Debug("plugin call", "method", method, "took", time.Since(start))
	w.Header().Set("Content-Type", ContentType)
	w.Write(b)
}

// writeError answers a call with the error the engine's plugin client reads from a non-200 status: {"Err": msg}.
// The engine reports it as "<Interface>.<Method>: <msg>".
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct{ Err string }{msg})
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	w.Write(b)
}
