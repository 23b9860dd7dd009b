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
)

// hijack relays attach and exec start: the request goes to the target over a raw connection; if the answer is
// a raw stream (101 Upgrade, or 200 with a raw-stream type) both connections are taken over and copied both
// ways. When the client half-closes (stdin ends) the target gets a half-close too and the output keeps flowing;
// when the target ends the stream both sides are closed. Nothing outlives the session.
func (fw *forwarder) hijack(w http.ResponseWriter, r *http.Request, f forward) {
	conn, err := f.to.dial(r.Context())
	if err != nil {
		writeError(w, f.to.down(err))
		return
	}
	out := r.Clone(r.Context())
	out.URL = &url.URL{Path: f.to.pathFor(apiVersion(r), f.path), RawQuery: r.URL.RawQuery}
	out.Host, out.RequestURI = f.to.host(), ""
	br, resp, err := askOn(r.Context(), conn, out.Write, out)
	if err != nil {
		writeError(w, f.to.down(err))
		return
	}
	if !isRawStream(resp) {
		defer conn.Close()
		relayResponse(w, resp)
		return
	}
	fw.splice(w, r, resp, conn, br)
}

// notPassed are the client's headers that relayBytes does not pass on: those of the client's own connection,
// and those of a body, which a GET relayed there never sends (the engine would wait for it).
var notPassed = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true}

// relayBytes relays a GET whose answer may be long (the logs of a chatty container, an export, a copy out of a
// container) or last for hours (logs -f) as bytes, not as HTTP read and written again. The target is asked in
// HTTP/1.0, so a 200 is its bytes until it closes (no chunk framing); that answer goes to the client's
// connection, taken over, as it comes (between two plain TCP connections the kernel moves it, splice(2)), and
// both connections close at its end. Unless the client follows (logs -f), the kernel wakes the relay once
// 256 KB are waiting, not at every piece the engine flushed. Any other answer is relayed as an ordinary one.
func (fw *forwarder) relayBytes(w http.ResponseWriter, r *http.Request, f forward) {
	u := url.URL{Path: f.to.pathFor(apiVersion(r), f.path), RawQuery: r.URL.RawQuery}
	conn, err := f.to.dial(r.Context())
	if err != nil {
		writeError(w, f.to.down(err))
		return
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		bw.WriteString("GET " + u.RequestURI() + " HTTP/1.0\r\nHost: " + f.to.host() + "\r\n")
		r.Header.WriteSubset(bw, notPassed)
		bw.WriteString("\r\n")
		return bw.Flush()
	}
	br, resp, err := askOn(r.Context(), conn, write, &http.Request{Method: http.MethodGet, Proto: "HTTP/1.0", ProtoMajor: 1})
	if err != nil {
		writeError(w, f.to.down(err))
		return
	}
	if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) > 0 || resp.ContentLength >= 0 {
		defer conn.Close()            // an error, or a target that framed its answer anyway: relayed as HTTP
		resp.Header.Del("Connection") // the target's own connection's: the client's may stay open
		resp.Header.Del("Keep-Alive")
		relayResponse(w, resp)
		return
	}
	resp.Header.Del("Keep-Alive")
	resp.Header.Set("Connection", "close") // the body ends where the connection does
	if !boolParam(r.URL.Query().Get("follow")) {
		batchReads(conn, 256<<10)
	}
	fw.splice(w, r, resp, conn, br)
}

// askOn sends a request (written by write) over a connection of its own and reads the answer's head; its body
// is read from br. A ctx that ends before the head came (the client left) closes conn, so a silent target holds
// nothing; on any error conn is closed.
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

// splice takes over the client's connection, writes the target's answer head, and copies bytes both ways until
// the target ends the stream. The metrics see the head's status.
func (fw *forwarder) splice(w http.ResponseWriter, r *http.Request, resp *http.Response, target net.Conn, targetBuf *bufio.Reader) {
	defer target.Close()
	client, clientBuf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, fmt.Errorf("this connection cannot be taken over for a raw stream: %w", err))
		return
	}
	defer client.Close()
	noteStatus(r, resp.StatusCode)
	fmt.Fprintf(client, "HTTP/1.1 %s\r\n", resp.Status)
	resp.Header.Write(client)
	io.WriteString(client, "\r\n")
	var wg sync.WaitGroup
	wg.Go(func() { // client -> target (stdin); a half-close is passed on
		io.Copy(target, clientBuf.Reader)
		if cw, ok := target.(closeWriter); ok {
			cw.CloseWrite()
		}
	})
	io.Copy(client, targetBuf) // target -> client (output), until the target ends the stream
	if cw, ok := client.(closeWriter); ok {
		cw.CloseWrite()
	}
	client.Close()
	target.Close()
	wg.Wait()
}
