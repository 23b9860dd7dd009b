package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"swarm/cluster"
)

// hijack relays attach and exec start: the request goes to the engine over a raw connection; if the engine
// answers with a raw stream (101 Upgrade, or 200 with a raw-stream type) both connections are taken over and
// copied both ways. When the client half-closes (stdin ends) the engine gets a half-close too and the output
// keeps flowing; when the engine ends the stream both sides are closed. Nothing outlives the session.
func (s *Server) hijack(w http.ResponseWriter, r *http.Request, e *cluster.Engine, path string) {
	fail := func(err error) { writeError(w, &engineDown{node: e.Name(), addr: e.Addr(), err: err}) }
	s.hijackTo(w, r, e.Dial, e.Addr(), "/v"+e.NegotiatedVersion(apiVersion(r))+path, fail)
}

// hijackTo sends the request to addr (over dial) at fullPath and splices the streams if the answer is raw.
func (s *Server) hijackTo(w http.ResponseWriter, r *http.Request, dial func(context.Context) (net.Conn, error), addr, fullPath string, fail func(error)) {
	conn, err := dial(r.Context())
	if err != nil {
		fail(err)
		return
	}
	out := r.Clone(r.Context())
	out.URL = &url.URL{Path: fullPath, RawQuery: r.URL.RawQuery}
	out.Host, out.RequestURI = addr, ""
	br, resp, err := askOn(r.Context(), conn, out.Write, out)
	if err != nil {
		fail(err)
		return
	}
	if !isRawStream(resp) {
		defer conn.Close()
		relayResponse(w, resp)
		return
	}
	s.splice(w, resp, conn, br)
}

// askOn sends a request (written by write) over a connection of its own and reads the answer's head; its body
// is read from br. A ctx that ends before the head came (the client left) closes conn, so a silent engine
// holds nothing; on any error conn is closed.
func askOn(ctx context.Context, conn net.Conn, write func(io.Writer) error, req *http.Request) (br *bufio.Reader, resp *http.Response, err error) {
	if err = write(conn); err == nil {
		br = bufio.NewReader(conn)
		gone := context.AfterFunc(ctx, func() { conn.Close() })
		resp, err = http.ReadResponse(br, req)
		if !gone() && err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return br, resp, nil
}

func isRawStream(resp *http.Response) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return true
	}
	ct := resp.Header.Get("Content-Type")
	return resp.StatusCode == http.StatusOK && strings.HasPrefix(ct, "application/vnd.docker.") && strings.Contains(ct, "stream")
}

// relayResponse copies an ordinary answer to the client.
func relayResponse(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

type closeWriter interface{ CloseWrite() error }

// splice takes over the client connection and copies bytes both ways until the engine ends the stream.
func (s *Server) splice(w http.ResponseWriter, resp *http.Response, engine net.Conn, engineBuf *bufio.Reader) {
	defer engine.Close()
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, fmt.Errorf("this connection cannot be hijacked for a raw stream"))
		return
	}
	client, clientBuf, err := hj.Hijack()
	if err != nil {
		s.log.Warn("hijack failed", "err", err)
		return
	}
	defer client.Close()
	fmt.Fprintf(client, "HTTP/1.1 %s\r\n", resp.Status)
	resp.Header.Write(client)
	io.WriteString(client, "\r\n")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // client -> engine (stdin); a half-close is passed on
		defer wg.Done()
		io.Copy(engine, clientBuf.Reader)
		if cw, ok := engine.(closeWriter); ok {
			cw.CloseWrite()
		}
	}()
	io.Copy(client, engineBuf) // engine -> client (output), until the engine ends the stream
	if cw, ok := client.(closeWriter); ok {
		cw.CloseWrite()
	}
	client.Close()
	engine.Close()
	wg.Wait()
}
