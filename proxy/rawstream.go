package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"

	"swarm/cluster"
)

// notPassed are the client's headers that rawGet does not pass to the engine: those of the client's own
// connection, and those of a body, which a GET relayed here never sends (the engine would wait for it).
var notPassed = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true}

// rawGet relays a GET whose answer may be long (the logs of a chatty container, an export, a copy out of the
// container) or last for hours (logs -f) as bytes, not as HTTP read and written again. The engine is asked in
// HTTP/1.0 (askHTTP10), so a 200 is its bytes until it closes (no chunk framing); that answer goes to the
// client's connection, taken over, as it comes (between two plain TCP connections the kernel moves it,
// splice(2): the manager copies nothing), and both connections close at its end. Unless the client follows
// (logs -f), the kernel wakes the relay once 256 KB are waiting, not at every piece the engine flushed
// (dockerd flushes each log message: a wake-up per 16 KB cost the manager 0.13 s of CPU per 64 MiB, 0.04 s
// with it). Any other answer is relayed as an ordinary one. A client that goes away closes the engine's side
// too (see splice).
func (s *Server) rawGet(w http.ResponseWriter, r *http.Request) {
	ct, ok := s.healthyContainer(w, r)
	if !ok {
		return
	}
	e := ct.Engine
	u := url.URL{Path: "/v" + e.NegotiatedVersion(apiVersion(r)) + containerPath(r, ct), RawQuery: r.URL.RawQuery}
	conn, br, resp, err := askHTTP10(r.Context(), e, u.RequestURI(), r.Header)
	if err != nil {
		writeError(w, &engineDown{node: e.Name(), addr: e.Addr(), err: err})
		return
	}
	if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) > 0 || resp.ContentLength >= 0 {
		defer conn.Close()            // an error, or an engine that framed its answer anyway: relayed as HTTP
		resp.Header.Del("Connection") // the engine's own connection's: the client's may stay open
		resp.Header.Del("Keep-Alive")
		relayResponse(w, resp)
		return
	}
	resp.Header.Del("Keep-Alive")
	resp.Header.Set("Connection", "close") // the body ends where the connection does
	if !boolParam(r.URL.Query().Get("follow")) {
		batchReads(conn, 256<<10)
	}
	s.splice(w, resp, conn, br)
	if rec, ok := w.(*statusRecorder); ok { // the metrics see the answer's status, not the take-over's 101
		rec.code = resp.StatusCode
	}
}

// askHTTP10 sends a GET of uri, with the client's headers but notPassed, to the engine over a connection of
// its own in HTTP/1.0, and reads the answer's head (askOn); the caller reads the body from br and closes conn.
func askHTTP10(ctx context.Context, e *cluster.Engine, uri string, hdr http.Header) (net.Conn, *bufio.Reader, *http.Response, error) {
	conn, err := e.Dial(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString("GET " + uri + " HTTP/1.0\r\nHost: " + e.Addr() + "\r\n")
		hdr.WriteSubset(bw, notPassed)
		bw.WriteString("\r\n")
		return bw.Flush()
	}
	br, resp, err := askOn(ctx, conn, write, &http.Request{Method: http.MethodGet, Proto: "HTTP/1.0", ProtoMajor: 1})
	if err != nil {
		return nil, nil, nil, err
	}
	return conn, br, resp, nil
}
