package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/docker/docker/errdefs"
)

// Replica forwarding. A replica answers /_ping, /info and /debug itself and sends everything else to the
// primary: plain and streamed requests through a reverse proxy, attach and exec start as hijacked streams.
// While no primary is known (election under way, Consul unreachable) a replica serves reads from its own
// cache and refuses changes with 503, so two managers never both schedule.

// PrimaryLink says how to reach the primary manager.
type PrimaryLink struct {
	TLS *tls.Config // nil for plain TCP
}

func (s *Server) servedLocally(path string) bool {
	return strings.HasSuffix(path, "/_ping") || strings.HasSuffix(path, "/info") || strings.Contains(path, "/debug/") ||
		strings.HasSuffix(path, "/metrics")
}

// replicaServe handles a request on a replica; it returns false when the request is to be served locally.
func (s *Server) replicaServe(w http.ResponseWriter, r *http.Request) bool {
	role := s.cfg.Role()
	if role.Primary || s.servedLocally(r.URL.Path) {
		return false
	}
	primary := role.PrimaryAddr
	if primary == "" || primary == s.cfg.Advertise {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return false
		}
		writeError(w, errdefs.Unavailable(fmt.Errorf("no primary manager is elected right now (is Consul reachable?); "+
			"this replica serves reads only: retry in a few seconds")))
		return true
	}
	if isHijack(r) {
		s.hijackTo(w, r, s.dialPrimary(primary), primary, r.URL.Path, func(err error) {
			writeError(w, fmt.Errorf("cannot reach the primary manager %s: %w", primary, err))
		})
		return true
	}
	scheme, tr := "http", http.DefaultTransport.(*http.Transport).Clone()
	if s.cfg.Primary.TLS != nil {
		scheme, tr.TLSClientConfig = "https", s.cfg.Primary.TLS
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = scheme, primary, primary
		},
		Transport:     s.primaryTransport(tr),
		FlushInterval: -1,
		BufferPool:    copyBuffers,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				writeError(w, fmt.Errorf("cannot reach the primary manager %s: %w", primary, err))
			}
		},
	}
	rp.ServeHTTP(w, r)
	return true
}

// primaryTransport keeps one pooled transport for the primary across requests.
func (s *Server) primaryTransport(fresh *http.Transport) http.RoundTripper {
	s.primaryMu.Lock()
	defer s.primaryMu.Unlock()
	if s.primaryTr == nil {
		s.primaryTr = fresh
	}
	return s.primaryTr
}

func (s *Server) dialPrimary(addr string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if s.cfg.Primary.TLS == nil {
			return d.DialContext(ctx, "tcp", addr)
		}
		return (&tls.Dialer{NetDialer: d, Config: s.cfg.Primary.TLS}).DialContext(ctx, "tcp", addr)
	}
}

func isHijack(r *http.Request) bool {
	p := r.URL.Path
	return r.Method == http.MethodPost && (strings.HasSuffix(p, "/attach") || (strings.HasPrefix(stripVersion(p), "/exec/") && strings.HasSuffix(p, "/start")))
}

func stripVersion(p string) string {
	if strings.HasPrefix(p, "/v") {
		if i := strings.Index(p[1:], "/"); i > 0 {
			return p[i+1:]
		}
	}
	return p
}
