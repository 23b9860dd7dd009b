package proxy

import (
	"bufio"
	"context"
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
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), statusNoteKey{}, rec)))
		route := "unknown"
		if cur := mux.CurrentRoute(r); cur != nil {
			if tpl, err := cur.GetPathTemplate(); err == nil {
				route = stripVersion(tpl)
			}
		}
		s.cfg.Metrics.Request(route, r.Method, rec.code, time.Since(start))
	})
}

// statusRecorder remembers the status written. It flushes and can be taken over (http.ResponseController finds
// both); a take-over records a switch of protocols unless the handler notes the status it wrote (noteStatus).
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
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type statusNoteKey struct{}

// noteStatus tells the metrics the status of an answer written on a connection taken over (which the recorder
// cannot see).
func noteStatus(r *http.Request, code int) {
	if rec, ok := r.Context().Value(statusNoteKey{}).(*statusRecorder); ok {
		rec.code = code
	}
}
