package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
)

// Call is one call to an engine's API through the manager's one raw call path (Engine.Send, Do and Open; the
// Docker client serves the manager's own typed calls). It is raw because the manager relays what clients send
// at the version they speak, and reads the answers it keeps as bytes (lists are compared by their hash, inspects
// decoded in part): BENCHMARKS.md shows what that saves.
type Call struct {
	Method  string
	Path    string      // without the version prefix, e.g. /containers/ID/start
	Version string      // the client's API version: the call is made at the older of it and the engine's ("": the engine's)
	Query   string      // the encoded query
	Header  http.Header // sent as given (nil: none); a body without Content-Type is sent as JSON
	Body    io.Reader   // nil: none
	Size    int64       // the body's length when Body does not tell it (-1: unknown, sent chunked)
	Changes Changes     // what the call may change on the engine
}

// Changes say what a call may change on the engine, so that its cache shows the change by the time the caller
// reads the answer (and so does every client after it).
type Changes struct {
	// Container is the ID of a container the call changes: it is re-read once the engine answered, before the
	// answer is given, and events about it meanwhile start no re-read of their own.
	Container string
	// Wait: the call waits for Container to change (a wait, which may last hours): the container is re-read once
	// the answer's body ended, before any of it is given; events meanwhile are re-read as they come.
	Wait bool
	// Lists the call may change, re-read once the answer's body ended (or was closed).
	Lists Lists
}

// Lists name an engine's object lists.
type Lists uint8

const (
	Images Lists = 1 << iota
	Networks
	Volumes
	AllContainers // many containers at once (a prune): the whole engine is refreshed soon after
)

// EngineError is an engine's error answer, relayed with its status and the node it came from.
type EngineError struct {
	Node   string
	Status int
	Msg    string
}

func (e *EngineError) Error() string {
	if e.Status >= 500 {
		return fmt.Sprintf("%s (node %s)", e.Msg, e.Node)
	}
	return e.Msg
}

// HTTPStatus is the status to answer with.
func (e *EngineError) HTTPStatus() int { return e.Status }

// NodeDownError is a call that could not reach its engine, or a call to a container on an engine that is not
// healthy.
type NodeDownError struct {
	Node, Addr string
	Err        error
}

func (e *NodeDownError) Error() string {
	return fmt.Sprintf("cannot reach node %s (%s): %v", e.Node, e.Addr, e.Err)
}

func (e *NodeDownError) Unwrap() error { return e.Err }

// HTTPStatus is the status to answer with: the manager is a gateway to the engine.
func (e *NodeDownError) HTTPStatus() int { return http.StatusBadGateway }

// engineStatus is the status of the engine's answer carried by err, 0 when the engine did not answer.
func engineStatus(err error) int {
	var ee *EngineError
	if errors.As(err, &ee) {
		return ee.Status
	}
	return 0
}

// conn is how calls reach one engine: its address, the pools all engines share, raw connections for taken-over
// streams, the Docker client for typed calls, and what the engine said it is (spec, read by validate). Every
// call's outcome is told to the engine's health. The spec is replaced whole, never changed in place.
type conn struct {
	addr, ip, scheme string
	set              *shared
	client           *client.Client
	health           *health
	spec             atomic.Pointer[engineSpec] // nil until validated
}

func newConn(addr string, set *shared, h *health) (*conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if set.tls != nil {
		scheme = "https"
	}
	typed := &http.Client{Transport: set.transport}
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+addr), client.WithHTTPClient(typed),
		client.WithScheme(scheme), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	// The Docker client wraps the transport it is given in OpenTelemetry instrumentation, which nothing here
	// exports and which costs CPU on every call: the typed calls go through the bare pool.
	typed.Transport = set.transport
	return &conn{addr: addr, ip: host, scheme: scheme, set: set, client: cli, health: h}, nil
}

// apiVersion is the newest API version the engine supports ("" before validation).
func (c *conn) apiVersion() string {
	if s := c.spec.Load(); s != nil {
		return s.version.APIVersion
	}
	return ""
}

// negotiated is the API version to use with the engine for a client speaking want: the older of the two. An
// empty want means the engine's own.
func (c *conn) negotiated(want string) string {
	have := c.apiVersion()
	if want == "" || have == "" || versions.LessThan(have, want) {
		return have
	}
	return want
}

// request is c as an HTTP request to the engine.
func (c *conn) request(ctx context.Context, call Call) (*http.Request, error) {
	u := url.URL{Scheme: c.scheme, Host: c.addr, Path: "/v" + c.negotiated(call.Version) + call.Path, RawQuery: call.Query}
	req, err := http.NewRequestWithContext(ctx, call.Method, u.String(), call.Body)
	if err != nil {
		return nil, err
	}
	for k, v := range call.Header {
		req.Header[k] = v
	}
	if call.Body != nil {
		if call.Size != 0 {
			req.ContentLength = call.Size
		}
		if req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	return req, nil
}

// roundTrip sends req through the calls' pool; its outcome is told to the engine's health.
func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.set.transport.RoundTrip(req)
	c.health.observe(err)
	return resp, err
}

// do makes one of the manager's own calls (nothing to keep right in the cache): see readAnswer for out.
func (c *conn) do(ctx context.Context, call Call, out any) error {
	req, err := c.request(ctx, call)
	if err != nil {
		return err
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return c.down(err)
	}
	return c.readAnswer(resp, out)
}

// readAnswer reads an answer and closes its body: a 2xx answer is decoded into out (nil: discarded; a *[]byte
// or *bytes.Buffer receives the body as it came), any other is an *EngineError.
func (c *conn) readAnswer(resp *http.Response, out any) error {
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return c.answerError(resp)
	}
	var err error
	switch out := out.(type) {
	case nil:
		_, err = io.Copy(io.Discard, resp.Body)
	case *[]byte:
		*out, err = io.ReadAll(resp.Body)
	case *bytes.Buffer:
		_, err = out.ReadFrom(resp.Body)
	default:
		if err = json.NewDecoder(resp.Body).Decode(out); err == nil {
			// Read to the end (a chunked answer's last chunk) so the connection goes back to the pool.
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		}
	}
	return err
}

// answerError turns an engine's error answer into *EngineError (the body is read, not closed).
func (c *conn) answerError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &m) == nil && m.Message != "" {
		msg = m.Message
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &EngineError{Node: c.name(), Status: resp.StatusCode, Msg: msg}
}

// down is the error for a call that did not reach the engine.
func (c *conn) down(err error) error { return &NodeDownError{Node: c.name(), Addr: c.addr, Err: err} }

// typed tells the health the outcome of a typed call and names the engine in a failure to reach it.
func (c *conn) typed(err error) error {
	c.health.observe(err)
	if isConnectionError(err) {
		return c.down(err)
	}
	return err
}

// dial opens a raw connection (TLS when configured), for streams that are taken over.
func (c *conn) dial(ctx context.Context) (net.Conn, error) {
	if c.set.tls == nil {
		return dialer.DialContext(ctx, "tcp", c.addr)
	}
	td := &tls.Dialer{NetDialer: dialer, Config: c.set.tls}
	return td.DialContext(ctx, "tcp", c.addr)
}

// name is the engine's name (its hostname), the address while it is not validated.
func (c *conn) name() string {
	if s := c.spec.Load(); s != nil && s.name != "" {
		return s.name
	}
	return c.addr
}

// id is the engine's ID, "" while it is not validated.
func (c *conn) id() string {
	if s := c.spec.Load(); s != nil {
		return s.id
	}
	return ""
}

// isConnectionError tells a failure to reach the engine (which counts against its health) from an API error
// (which says the engine is alive).
func isConnectionError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) { // the caller gave up (a client went away): not the engine's fault
		return false
	}
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
