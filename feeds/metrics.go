package feeds

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
)

// Fetch results as counted by Metrics.
const (
	resultOK          = "ok"
	resultNotModified = "not_modified"
	resultError       = "error"
)

// Metrics are the poller's Prometheus instruments. A nil *Metrics records
// nothing, so tests and tools can leave it out.
type Metrics struct {
	fetches  *prometheus.CounterVec
	stories  prometheus.Counter
	duration prometheus.Histogram
	failing  prometheus.Gauge
}

// NewMetrics creates the poller's instruments and registers them with reg
// (nil: not registered). Registering twice with one registry reuses the
// instruments already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_feed_fetches_total",
			Help: "Feed fetches by result: ok, not_modified or error.",
		}, []string{"result"}),
		stories: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_stories_ingested_total",
			Help: "New stories stored from feeds.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidings_feed_fetch_duration_seconds",
			Help:    "Time to fetch and parse one feed.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_sources_failing",
			Help: "Sources whose last poll failed.",
		}),
	}
	// Start every result at zero so dashboards see the series at once.
	for _, r := range []string{resultOK, resultNotModified, resultError} {
		m.fetches.WithLabelValues(r)
	}
	if reg != nil {
		m.fetches = metrics.Register(reg, m.fetches)
		m.stories = metrics.Register(reg, m.stories)
		m.duration = metrics.Register(reg, m.duration)
		m.failing = metrics.Register(reg, m.failing)
	}
	return m
}

func (m *Metrics) fetched(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.fetches.WithLabelValues(result).Inc()
	m.duration.Observe(took.Seconds())
}

func (m *Metrics) ingested(n int) {
	if m == nil || n == 0 {
		return
	}
	m.stories.Add(float64(n))
}

func (m *Metrics) setFailing(n int) {
	if m == nil {
		return
	}
	m.failing.Set(float64(n))
}
