package proxy

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"

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

// Role is what this manager is in a replicated setup.
type Role struct {
	Primary     bool
	PrimaryAddr string // the known primary, when this manager is a replica
}

// lines are the role's lines at the head of /info's SystemStatus, as the original wrote them.
func (r Role) lines() [][2]string {
	if r.Primary {
		return [][2]string{{"Role", "primary"}}
	}
	lines := [][2]string{{"Role", "replica"}}
	if r.PrimaryAddr != "" {
		lines = append(lines, [2]string{"Primary", r.PrimaryAddr})
	}
	return lines
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
	to := primaryTarget{addr: primary, tls: s.cfg.Primary.TLS, tr: s.primaryTransport()}
	how := streamed
	if isHijack(r) {
		how = hijacked
	}
	s.fw.send(w, r, forward{to: to, path: r.URL.Path, how: how})
	return true
}

// primaryTransport is the one pooled transport for the primary, kept across requests.
func (s *Server) primaryTransport() http.RoundTripper {
	s.primaryMu.Lock()
	defer s.primaryMu.Unlock()
	if s.primaryTr == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = s.cfg.Primary.TLS
		s.primaryTr = tr
	}
	return s.primaryTr
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
