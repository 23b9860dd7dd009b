package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"sync"

	"swarm/cluster"
)

// forward relays the request to an engine at path (without version prefix), keeping the query, headers and
// body, at the newest API version both sides speak. Answers are streamed and flushed as they come, so logs -f,
// stats, events of wait and websocket attach work unchanged.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, e *cluster.Engine, path string) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = e.Scheme()
			pr.Out.URL.Host = e.Addr()
			pr.Out.URL.Path = "/v" + e.NegotiatedVersion(apiVersion(r)) + path
			pr.Out.URL.RawPath = ""
			pr.Out.Host = e.Addr()
		},
		Transport:     e.HTTPClient().Transport,
		FlushInterval: -1,
		BufferPool:    copyBuffers,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			writeError(w, &engineDown{node: e.Name(), addr: e.Addr(), err: err})
		},
	}
	rp.ServeHTTP(w, r)
}

// relay forwards a call whose answer is immediate and short (start, stop, kill, restart, pause, unpause, update,
// rename, remove) without the reverse proxy's per-call work (a cloned request and header maps, a flushing copy
// loop): the engine's status, Content-Type and body are written back; the client's Content-Type and body go
// to the engine.
func (s *Server) relay(w http.ResponseWriter, r *http.Request, e *cluster.Engine, path string) {
	resp, err := e.Relay(r.Context(), r.Method, apiVersion(r), path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Body, r.ContentLength)
	if err != nil {
		if r.Context().Err() == nil { // else the client went away
			writeError(w, &engineDown{node: e.Name(), addr: e.Addr(), err: err})
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

// copyBuffers are the proxies' copy buffers, reused across requests (a 32 KB buffer per forwarded call was
// the largest allocation of a start through the manager).
var copyBuffers = &bufferPool{sync.Pool{New: func() any { return new([32 << 10]byte) }}}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte { return b.p.Get().(*[32 << 10]byte)[:] }
func (b *bufferPool) Put(x []byte) {
	if cap(x) == 32<<10 {
		b.p.Put((*[32 << 10]byte)(x[:32<<10]))
	}
}

// engineDown is a failure to reach the engine owning the object of a request.
type engineDown struct {
	node, addr string
	err        error
}

func (e *engineDown) Error() string {
	return fmt.Sprintf("cannot reach node %s (%s): %v", e.node, e.addr, e.err)
}

func (e *engineDown) HTTPStatus() int { return http.StatusBadGateway }

// unhealthy is the error for a call to a container whose engine is not healthy.
func unhealthy(ct *cluster.Container) error {
	return &engineDown{node: ct.Engine.Name(), addr: ct.Engine.Addr(),
		err: fmt.Errorf("container %s is on an unhealthy node (%s)", shortID(ct.ID), ct.Engine.State())}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
