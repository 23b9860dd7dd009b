package join

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/sockets"
)

// pinger is what the engine check needs: *client.Client has it.
type pinger interface {
	Ping(ctx context.Context) (types.Ping, error)
}

// engineClient is the one Docker client join uses for its engine at cfg.Advertise: https with cfg.TLS (its
// certificate, CA and verification), else plain http. The TLS files are read here, so a bad one stops join
// before it registers.
func engineClient(cfg Config) (*client.Client, error) {
	tlsCfg, err := cfg.TLS.Client()
	if err != nil {
		return nil, fmt.Errorf("TLS towards the engine %s: %w (check --tlscacert, --tlscert and --tlskey)", cfg.Advertise, err)
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg}
	if err := sockets.ConfigureTransport(tr, "tcp", cfg.Advertise); err != nil {
		return nil, err
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	return client.NewClientWithOpts(client.WithHost("tcp://"+cfg.Advertise), client.WithScheme(scheme),
		client.WithHTTPClient(&http.Client{Transport: tr}), client.WithAPIVersionNegotiation())
}

// checkEngine warns when the advertised engine does not answer the Docker API through join's client.
func checkEngine(ctx context.Context, engine pinger, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := engine.Ping(ctx); err != nil {
		log.Warn("the advertised engine does not answer the Docker API (registering anyway); "+
			"check --advertise, and for an engine on TLS the --tls flags", "err", err)
	}
}
