package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"swarm/cluster"
)

// A forward sends a client's request on to one engine, or to the primary manager, and brings its answer back
// in one of four modes:
const (
	// streamed: through httputil.ReverseProxy, flushed as it comes (stats, a wait, websocket attach, reads
	// passed through, and everything a replica sends to the primary).
	streamed mode = iota
	// answered: one prompt answer (start, stop, rename, remove...): status, Content-Type and body relayed
	// without the reverse proxy's per-call work (a cloned request, header maps, a flushing copy loop).
	answered
	// rawBytes: a GET whose answer may be long or endless (logs, export, a copy out of a container): asked in
	// HTTP/1.0 over a connection of its own, the answer's bytes passed to the client's connection, taken over
	// (hijack.go).
	rawBytes
	// hijacked: attach and exec start: both connections taken over and copied both ways, a half-close passed on
	// (hijack.go).
	hijacked
)

type mode int

// forward is one forwarded request.
type forward struct {
	to      target
	path    string          // the path to ask the target for, without version prefix (see target.pathFor)
	how     mode            // how the answer comes back
	changes cluster.Changes // what the request may change on an engine (the cluster keeps its cache right)
}

// target is where a request is forwarded.
type target interface {
	scheme() string
	host() string
	// pathFor is the path to ask for path on behalf of a client speaking version.
	pathFor(version, path string) string
	transport(cluster.Changes) http.RoundTripper
	dial(ctx context.Context) (net.Conn, error)
	// down is the error for a request that could not reach the target.
	down(err error) error
}

// send forwards r as f says, and writes the answer (or the failure) to w.
func (fw *forwarder) send(w http.ResponseWriter, r *http.Request, f forward) {
	switch f.how {
	case answered:
		fw.answer(w, r, f)
	case rawBytes:
		fw.relayBytes(w, r, f)
	case hijacked:
		fw.hijack(w, r, f)
	default:
		fw.stream(w, r, f)
	}
}

// stream forwards through a reverse proxy, keeping the query, headers and body, flushing the answer as it comes.
func (fw *forwarder) stream(w http.ResponseWriter, r *http.Request, f forward) {
	path := f.to.pathFor(apiVersion(r), f.path)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = f.to.scheme(), f.to.host(), f.to.host()
			if path != pr.In.URL.Path {
				pr.Out.URL.Path, pr.Out.URL.RawPath = path, ""
			}
		},
		Transport:     f.to.transport(f.changes),
		FlushInterval: -1,
		BufferPool:    copyBuffers,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil { // else the client went away
				writeError(w, f.to.down(err))
			}
		},
	}
	rp.ServeHTTP(w, r)
}

// answer forwards a call whose answer is prompt and short: the client's method, query, Content-Type and body
// go to the target; its status, Content-Type and body come back.
func (fw *forwarder) answer(w http.ResponseWriter, r *http.Request, f forward) {
	u := url.URL{Scheme: f.to.scheme(), Host: f.to.host(), Path: f.to.pathFor(apiVersion(r), f.path), RawQuery: r.URL.RawQuery}
	var body io.Reader
	if r.ContentLength != 0 {
		body = r.Body
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		writeError(w, err)
		return
	}
	if body != nil {
		out.ContentLength = r.ContentLength // -1: unknown, sent chunked
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		out.Header.Set("Content-Type", ct)
	}
	resp, err := f.to.transport(f.changes).RoundTrip(out)
	if err != nil {
		if r.Context().Err() == nil { // else the client went away
			writeError(w, f.to.down(err))
		}
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	buf := copyBuffers.Get()
	io.CopyBuffer(w, resp.Body, buf)
	copyBuffers.Put(buf)
}

// copyBuffers are the forwards' copy buffers, reused across requests (a 32 KB buffer per forwarded call was
// the largest allocation of a start through the manager).
var copyBuffers = &bufferPool{sync.Pool{New: func() any { return new([32 << 10]byte) }}}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte { return b.p.Get().(*[32 << 10]byte)[:] }
func (b *bufferPool) Put(x []byte) {
	if cap(x) == 32<<10 {
		b.p.Put((*[32 << 10]byte)(x[:32<<10]))
	}
}

// engineTarget forwards to an engine, at the newest API version both it and the client speak.
type engineTarget struct{ e *cluster.Engine }

func (t engineTarget) scheme() string { return t.e.Scheme() }
func (t engineTarget) host() string   { return t.e.Addr() }
func (t engineTarget) pathFor(version, path string) string {
	return "/v" + t.e.Version(version) + path
}
func (t engineTarget) transport(ch cluster.Changes) http.RoundTripper { return t.e.RoundTripper(ch) }
func (t engineTarget) dial(ctx context.Context) (net.Conn, error)     { return t.e.Dial(ctx) }
func (t engineTarget) down(err error) error {
	return &cluster.NodeDownError{Node: t.e.Name(), Addr: t.e.Addr(), Err: err}
}

// primaryTarget forwards a replica's request to the primary manager as the client sent it (path and version
// included), over one pooled transport.
type primaryTarget struct {
	addr string
	tls  *tls.Config // nil: plain TCP
	tr   http.RoundTripper
}

func (t primaryTarget) scheme() string {
	if t.tls != nil {
		return "https"
	}
	return "http"
}
func (t primaryTarget) host() string                                { return t.addr }
func (t primaryTarget) pathFor(_, path string) string               { return path }
func (t primaryTarget) transport(cluster.Changes) http.RoundTripper { return t.tr }
func (t primaryTarget) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if t.tls == nil {
		return d.DialContext(ctx, "tcp", t.addr)
	}
	return (&tls.Dialer{NetDialer: d, Config: t.tls}).DialContext(ctx, "tcp", t.addr)
}
func (t primaryTarget) down(err error) error {
	return fmt.Errorf("cannot reach the primary manager %s: %w", t.addr, err)
}
