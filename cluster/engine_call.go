package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// EngineError is an error answer from an engine, relayed with its status and the node it came from.
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

// engineStatus is the status of the engine's answer carried by err, 0 when the engine did not answer.
func engineStatus(err error) int {
	var ee *EngineError
	if errors.As(err, &ee) {
		return ee.Status
	}
	return 0
}

// NegotiatedVersion is the API version to use with this engine for a client speaking want: the older of the two.
// An empty want means the engine's own default.
func (e *Engine) NegotiatedVersion(want string) string {
	have := e.APIVersion()
	if want == "" || have == "" {
		return have
	}
	if versionLess(have, want) {
		return have
	}
	return want
}

// Do sends one API call to the engine at the negotiated version and decodes a JSON answer into out (if not nil;
// a *[]byte or *bytes.Buffer receives the body as it came).
// Non-2xx answers become *EngineError. Connection failures count against the engine's health.
func (e *Engine) Do(ctx context.Context, method, version, path string, q url.Values, hdr http.Header, body io.Reader, out any) (int, error) {
	req, err := e.request(ctx, method, version, path, q.Encode(), body)
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err = e.reached(err); err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, e.readError(resp)
	}
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
	return resp.StatusCode, err
}

// readError turns an engine's error answer into *EngineError.
func (e *Engine) readError(resp *http.Response) error {
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
	return &EngineError{Node: e.Name(), Status: resp.StatusCode, Msg: msg}
}

// versionLess compares API versions "1.41" < "1.47".
func versionLess(a, b string) bool {
	var am, an, bm, bn int
	fmt.Sscanf(a, "%d.%d", &am, &an)
	fmt.Sscanf(b, "%d.%d", &bm, &bn)
	if am != bm {
		return am < bm
	}
	return an < bn
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// Relay sends a client's call to the engine as it came (method, query, Content-Type, body) at the negotiated
// version and returns the engine's answer, whatever its status, with the body unread: the caller closes it.
// Connection failures count against the engine's health, as Do's.
func (e *Engine) Relay(ctx context.Context, method, version, path, rawQuery, contentType string, body io.Reader, size int64) (*http.Response, error) {
	if size == 0 {
		body = nil
	}
	req, err := e.request(ctx, method, version, path, rawQuery, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size // -1: unknown, sent chunked
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.http.Transport.RoundTrip(req)
	if err = e.reached(err); err != nil {
		return nil, err
	}
	return resp, nil
}

// request is a call to the engine at path (without version prefix) at the version negotiated for a client
// speaking version.
func (e *Engine) request(ctx context.Context, method, version, path, rawQuery string, body io.Reader) (*http.Request, error) {
	u := url.URL{Scheme: e.scheme, Host: e.addr, Path: "/v" + e.NegotiatedVersion(version) + path, RawQuery: rawQuery}
	return http.NewRequestWithContext(ctx, method, u.String(), body)
}

// reached counts the outcome of sending a call against the engine's health (see checkErr) and turns a failure
// to reach the engine into an error naming it.
func (e *Engine) reached(err error) error {
	e.checkErr(err)
	if err != nil {
		return fmt.Errorf("cannot reach node %s (%s): %w", e.Name(), e.addr, err)
	}
	return nil
}
