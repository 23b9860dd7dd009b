package join

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"swarm/overlay/mesh"
)

// meshCollector reports the routing mesh this join programmed: one gauge per frontend, its backends (tasks).
type meshCollector struct {
	frontends func() []mesh.Frontend // nil: no mesh on this join
	backends  *prometheus.Desc
}

func newMeshCollector(frontends func() []mesh.Frontend) *meshCollector {
	return &meshCollector{frontends: frontends, backends: prometheus.NewDesc("swarm_mesh_backends",
		"Tasks each frontend of the routing mesh spreads over on this host (a published port, or a virtual IP).",
		[]string{"service", "frontend", "bridge"}, nil)}
}

func (c *meshCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.backends }

func (c *meshCollector) Collect(ch chan<- prometheus.Metric) {
	if c.frontends == nil {
		return
	}
	for _, fe := range c.frontends() {
		ch <- prometheus.MustNewConstMetric(c.backends, prometheus.GaugeValue, float64(len(fe.Backends)), fe.Service, frontendName(fe), fe.Bridge)
	}
}

// frontendName is how a frontend is labelled: "tcp/81" for an ingress port, "10.0.0.2" for a virtual IP.
func frontendName(fe mesh.Frontend) string {
	if fe.Addr == nil {
		return fmt.Sprintf("%s/%d", fe.Proto, fe.Port)
	}
	return fe.Addr.String()
}

// serveMetrics serves /metrics on addr until ctx ends: the process's and the mesh's (frontends may be nil).
func serveMetrics(ctx context.Context, addr string, frontends func() []mesh.Frontend, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newMeshCollector(frontends))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics: the server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", l.Addr().String())
	return nil
}
