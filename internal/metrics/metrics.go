// Package metrics defines the manager's Prometheus metrics, on their own registry (no global state).
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every metric the manager exports. A nil *Metrics is valid and records nothing.
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	placement     prometheus.Histogram
	placeFailures *prometheus.CounterVec
	leaderChanges prometheus.Counter
	reschedules   *prometheus.CounterVec
}

// StateCounts is read at every scrape: engines by state and containers by state.
type StateCounts func() (engines, containers map[string]int)

// New registers the metrics; counts supplies the gauges of engines and containers by state.
func New(counts StateCounts) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarm_api_requests_total",
			Help: "API requests by route, method and status code."}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "swarm_api_request_duration_seconds",
			Help: "API request latency by route (streams count until they end).", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)},
			[]string{"route", "method"}),
		placement: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "swarm_placement_duration_seconds",
			Help: "Time to choose a node for a container.", Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10)}),
		placeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarm_placement_failures_total",
			Help: "Creates that could not be placed, by reason."}, []string{"reason"}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "swarm_leader_changes_total",
			Help: "Times this manager became or stopped being the primary."}),
		reschedules: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "swarm_reschedules_total",
			Help: "Containers rescheduled after a node failure, by result."}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.placement, m.placeFailures, m.leaderChanges, m.reschedules,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{counts: counts,
			engines:    prometheus.NewDesc("swarm_engines", "Engines by state.", []string{"state"}, nil),
			containers: prometheus.NewDesc("swarm_containers", "Containers by state.", []string{"state"}, nil)})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Request records one API request.
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, http.StatusText(code)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// Placement records one placement attempt; reason is "" on success.
func (m *Metrics) Placement(d time.Duration, reason string) {
	if m == nil {
		return
	}
	m.placement.Observe(d.Seconds())
	if reason != "" {
		m.placeFailures.WithLabelValues(reason).Inc()
	}
}

// LeaderChange records a change of this manager's role.
func (m *Metrics) LeaderChange() {
	if m != nil {
		m.leaderChanges.Inc()
	}
}

// Reschedule records the result of one reschedule ("done", "failed", "cleanup").
func (m *Metrics) Reschedule(result string) {
	if m != nil {
		m.reschedules.WithLabelValues(result).Inc()
	}
}

type stateCollector struct {
	counts              StateCounts
	engines, containers *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.engines; ch <- c.containers }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	engines, containers := c.counts()
	for s, n := range engines {
		ch <- prometheus.MustNewConstMetric(c.engines, prometheus.GaugeValue, float64(n), s)
	}
	for s, n := range containers {
		ch <- prometheus.MustNewConstMetric(c.containers, prometheus.GaugeValue, float64(n), s)
	}
}
