package plugin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

const (
	// Name is the name of the plugin, its network driver and its IPAM driver on the engine.
	Name = "swarmnet"
	// DefaultSocket is where the engine looks for the plugin named Name.
	DefaultSocket = "/run/docker/plugins/" + Name + ".sock"

	socketMode    = 0o660
	dialTimeout   = time.Second     // to tell a live socket from a stale one
	shutdownGrace = 5 * time.Second // for calls in flight when Serve's context ends
)

// NetworkDriver is the network driver's side of the calls the engine makes; see the package doc for the calls
// the server answers itself. A nil response is sent as {}.
type NetworkDriver interface {
	CreateNetwork(ctx context.Context, req *CreateNetworkRequest) error
	DeleteNetwork(ctx context.Context, req *DeleteNetworkRequest) error
	CreateEndpoint(ctx context.Context, req *CreateEndpointRequest) (*CreateEndpointResponse, error)
	DeleteEndpoint(ctx context.Context, req *DeleteEndpointRequest) error
	EndpointOperInfo(ctx context.Context, req *EndpointInfoRequest) (*EndpointInfoResponse, error)
	Join(ctx context.Context, req *JoinRequest) (*JoinResponse, error)
	Leave(ctx context.Context, req *LeaveRequest) error
}

// IPAM is the IPAM driver's side of the calls the engine makes (all but GetCapabilities).
type IPAM interface {
	GetDefaultAddressSpaces(ctx context.Context) (*AddressSpaces, error)
	RequestPool(ctx context.Context, req *RequestPoolRequest) (*RequestPoolResponse, error)
	ReleasePool(ctx context.Context, req *ReleasePoolRequest) error
	RequestAddress(ctx context.Context, req *RequestAddressRequest) (*RequestAddressResponse, error)
	ReleaseAddress(ctx context.Context, req *ReleaseAddressRequest) error
}

// Config is everything a Server needs.
type Config struct {
	Socket           string           // path of the unix socket, e.g. DefaultSocket; its directory is created if missing
	Driver           NetworkDriver    // nil: the plugin does not implement NetworkDriver
	IPAM             IPAM             // nil: the plugin does not implement IpamDriver
	IPAMCapabilities IPAMCapabilities // the answer to IpamDriver.GetCapabilities; the zero value asks for nothing
	Logger           *slog.Logger     // nil: slog.Default()
}

// Server serves the plugin protocol on a unix socket. New listens; Serve serves; Close releases the socket of a
// Server that will not be served.
type Server struct {
	socket string
	log    *slog.Logger
	calls  map[string]call

	ln   *net.UnixListener
	file os.FileInfo // the socket file as created, so that only it is removed

	mu      sync.Mutex
	serving bool
	closed  bool
}

// New checks cfg, prepares the socket path and listens on it. It refuses a path another live process serves
// and removes a stale socket file left by a previous run. It starts no goroutine.
func New(cfg Config) (*Server, error) {
	if cfg.Socket == "" {
		return nil, errors.New("plugin: no socket path")
	}
	if cfg.Driver == nil && cfg.IPAM == nil {
		return nil, errors.New("plugin: neither a network driver nor an IPAM driver to serve")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := clearSocket(cfg.Socket); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.Socket, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	ln.SetUnlinkOnClose(false) // removeSocket removes it, if it is still ours
	s := &Server{socket: cfg.Socket, log: log.With("socket", cfg.Socket), calls: routes(cfg), ln: ln}
	if err := os.Chmod(cfg.Socket, socketMode); err != nil {
		ln.Close()
		os.Remove(cfg.Socket)
		return nil, fmt.Errorf("plugin: %w", err)
	}
	if s.file, err = os.Lstat(cfg.Socket); err != nil {
		ln.Close()
		return nil, fmt.Errorf("plugin: %w", err)
	}
	return s, nil
}

// clearSocket makes path ready to listen on: its directory exists, and no stale socket file is left on it.
func clearSocket(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("plugin: %w", err)
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("plugin: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("plugin: %s exists and is not a socket; not removing it", path)
	}
	conn, err := net.DialTimeout("unix", path, dialTimeout)
	if err == nil {
		conn.Close()
		return fmt.Errorf("plugin: another process is serving %s; stop it first", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("plugin: cannot tell whether another process serves %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("plugin: removing stale socket: %w", err)
	}
	return nil
}

// Serve answers the engine's calls until ctx ends, then lets calls in flight finish (their contexts end with
// ctx) and removes the socket. It returns nil after a clean shutdown. A Server is served once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.serving || s.closed {
		s.mu.Unlock()
		return errors.New("plugin: server already served or closed")
	}
	s.serving = true
	s.mu.Unlock()
	defer s.Close()

	hs := &http.Server{
		Handler:           s,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(s.ln) }()
	s.log.Info("plugin serving")

	select {
	case err := <-served:
		return fmt.Errorf("plugin: serving %s: %w", s.socket, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = fmt.Errorf("plugin: shutting down: %w", err)
	}
	<-served
	s.log.Info("plugin stopped")
	return err
}

// Close closes the listener and removes the socket file if it is still the one New created. Serve does it
// itself; call Close when Serve will not be called. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if fi, lerr := os.Lstat(s.socket); lerr == nil && os.SameFile(fi, s.file) {
		if rerr := os.Remove(s.socket); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}
