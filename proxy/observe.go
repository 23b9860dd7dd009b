package proxy

import (
	"bufio"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// observe records each routed request's route, status and latency in the metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := "unknown"
		if cur := mux.CurrentRoute(r); cur != nil {
			if tpl, err := cur.GetPathTemplate(); err == nil {
				route = stripVersion(tpl)
			}
		}
		s.cfg.Metrics.Request(route, r.Method, rec.code, time.Since(start))
	})
}

// statusRecorder remembers the status while keeping streaming (Flush) and hijacking (attach, exec) working.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.code = http.StatusSwitchingProtocols
	return s.ResponseWriter.(http.Hijacker).Hijack()
}
