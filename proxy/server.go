package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/errdefs"
	"github.com/gorilla/mux"

	"swarm/internal/metrics"
	"swarm/internal/version"
)

// Config configures the API server.
type Config struct {
	Backend      Backend
	Swarm        Swarm           // services, tasks and nodes; nil: answered as a classic manager
	Networks     ClusterNetworks // cluster (overlay) networks; nil: refused
	Secrets      Secrets         // swarm mode's secrets and configs; nil: none (their paths answer 404)
	Role         func() Role     // primary or replica; nil means primary
	CORS         bool
	Pprof        bool
	Experimental bool
	Advertise    string      // this manager's address, to recognise itself as the primary
	Primary      PrimaryLink // how replicas reach the primary
	Metrics      *metrics.Metrics
	Logger       *slog.Logger
}

// Server is the cluster's Docker API: the route table over the handler groups, and a replica's forwarding to
// the primary.
type Server struct {
	cfg        Config
	log        *slog.Logger
	router     *mux.Router
	fw         *forwarder
	containers *containerAPI
	images     *imageAPI
	networks   *networkAPI
	volumes    *volumeAPI
	system     *systemAPI
	services   *serviceAPI // the swarm-mode groups: nil unless cfg.Swarm is set
	tasks      *taskAPI
	nodes      *nodeAPI
	logs       *logAPI

	primaryMu sync.Mutex
	primaryTr http.RoundTripper
}

// New builds the API handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Role == nil {
		cfg.Role = func() Role { return Role{Primary: true} }
	}
	fw := &forwarder{log: cfg.Logger}
	s := &Server{cfg: cfg, log: cfg.Logger, router: mux.NewRouter(), fw: fw,
		containers: &containerAPI{b: cfg.Backend, nets: cfg.Networks, fw: fw, log: cfg.Logger},
		images:     &imageAPI{b: cfg.Backend, fw: fw, log: cfg.Logger},
		networks:   &networkAPI{b: cfg.Backend, nets: cfg.Networks, fw: fw, log: cfg.Logger},
		volumes:    &volumeAPI{b: cfg.Backend, fw: fw, log: cfg.Logger},
		system:     &systemAPI{b: cfg.Backend, cfg: cfg}}
	if cfg.Swarm != nil {
		s.networks.svcs, s.containers.svcs = cfg.Swarm, cfg.Swarm
		s.services, s.tasks, s.nodes = &serviceAPI{s: cfg.Swarm}, &taskAPI{t: cfg.Swarm}, &nodeAPI{n: cfg.Swarm}
		s.logs = &logAPI{t: cfg.Swarm, open: openContainerLog, log: cfg.Logger}
	}
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errdefs.NotFound(fmt.Errorf("page not found: %s %s is not served by swarm", r.Method, r.URL.Path)))
	})
	s.router.MethodNotAllowedHandler = s.router.NotFoundHandler
	// mux tries routes in order: the versioned paths every client sends come before any unversioned one, and
	// routes() lists the busiest first.
	routes := s.routes()
	for _, rt := range routes {
		s.handle("/v{version:[0-9]+\\.[0-9]+}"+rt.path, rt)
	}
	for _, rt := range routes {
		s.handle(rt.path, rt)
	}
	s.router.Use(s.observe)
	if cfg.Metrics != nil {
		s.router.Handle("/metrics", cfg.Metrics.Handler()).Methods("GET")
	}
	if cfg.Pprof { // Index serves the named profiles; CPU profile, trace, cmdline and symbol have their own handlers
		s.router.HandleFunc("/debug/pprof/profile", pprof.Profile)
		s.router.HandleFunc("/debug/pprof/trace", pprof.Trace)
		s.router.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		s.router.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		s.router.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)
	}
	return s
}

// ServeHTTP adds the API headers, checks the version prefix and turns a panic into a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic in API handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			writeError(w, fmt.Errorf("internal error serving %s %s: %v", r.Method, r.URL.Path, p))
		}
	}()
	h := w.Header()
	h.Set("Api-Version", version.APIVersion)
	h.Set("Docker-Experimental", fmt.Sprint(s.cfg.Experimental))
	h.Set("Ostype", "linux")
	h.Set("Server", "swarm/"+version.Version)
	if s.cfg.CORS {
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Headers", "Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth")
		h.Set("Access-Control-Allow-Methods", "HEAD, GET, POST, DELETE, PUT, OPTIONS")
	}
	if err := checkVersion(r.URL.Path); err != nil {
		writeError(w, err)
		return
	}
	if s.replicaServe(w, r) {
		return
	}
	s.router.ServeHTTP(w, r)
}

// checkVersion refuses a /vX.Y prefix outside what the manager speaks, with the engine's wording.
func checkVersion(path string) error {
	if !strings.HasPrefix(path, "/v") {
		return nil
	}
	v, _, _ := strings.Cut(path[2:], "/")
	if v == "" || !strings.Contains(v, ".") || strings.Trim(v, "0123456789.") != "" {
		return nil
	}
	if versions.LessThan(v, version.MinAPIVersion) {
		return errdefs.InvalidParameter(fmt.Errorf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, version.MinAPIVersion))
	}
	if versions.LessThan(version.APIVersion, v) {
		return errdefs.InvalidParameter(fmt.Errorf("client version %s is too new. Maximum supported API version is %s", v, version.APIVersion))
	}
	return nil
}

// handle adds a route. A path pattern ends with a literal ("/start" in /containers/{name:.*}/start), which a
// request's path must end with for the pattern to match: that is checked first, so a request is not run
// through the regular expression (a backtracking `.*`) of every route before its own (BenchmarkRouteMatch).
func (s *Server) handle(path string, rt route) {
	r := s.router.NewRoute()
	if tail := path[strings.LastIndexByte(path, '}')+1:]; tail != "" {
		r.MatcherFunc(func(req *http.Request, _ *mux.RouteMatch) bool { return strings.HasSuffix(req.URL.Path, tail) })
	}
	r.Path(path).Methods(rt.method).Handler(rt.handler)
}

// apiVersion is the version the client asked for ("" when the path had no prefix).
func apiVersion(r *http.Request) string { return mux.Vars(r)["version"] }
