// Package metrics exposes webcare's figures to Prometheus: ingest rate and
// latency, outbox depth and failures, open conversations.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/webcare/webcare/internal/ingest"
	"github.com/webcare/webcare/internal/store"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	reg        *prometheus.Registry
	ingested   prometheus.Counter
	duplicates prometheus.Counter
	latency    prometheus.Histogram
	batch      prometheus.Histogram
}

// Store is what the gauges read. A store.Store satisfies it.
type Store interface {
	Stats(ctx context.Context) (store.Stats, error)
}

// New registers webcare's collectors; the gauges read st when scraped.
func New(st Store, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.ingested = prometheus.NewCounter(prometheus.CounterOpts{Name: "webcare_ingest_messages_total", Help: "Inbound messages committed."})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "webcare_ingest_duplicates_total", Help: "Re-delivered inbound messages recognised and not stored again."})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webcare_ingest_latency_seconds", Help: "From accepting an inbound message to its durable commit.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "webcare_ingest_batch_size", Help: "Messages per group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}})
	// One store query per scrape feeds all three gauges.
	stats := func() store.Stats {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := st.Stats(ctx)
		if err != nil {
			log.Warn("metrics: reading store figures", "err", err)
		}
		return s
	}
	m.reg.MustRegister(m.ingested, m.duplicates, m.latency, m.batch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{stats: stats})
	return m
}

// Ingest returns the hooks the ingest pipeline reports to.
func (m *Metrics) Ingest() ingest.Metrics {
	return ingest.Metrics{
		Ingested:   func(n int) { m.ingested.Add(float64(n)) },
		Duplicates: func(n int) { m.duplicates.Add(float64(n)) },
		Latency:    func(d time.Duration) { m.latency.Observe(d.Seconds()) },
		BatchSize:  func(n int) { m.batch.Observe(float64(n)) },
	}
}

// WatchOutbox shows what the outbox worker holds back for its channels'
// rates for longer than a minute: how many replies, and how long the
// oldest has waited. A reply should never wait silently.
func (m *Metrics) WatchOutbox(heldBack func() (n int, oldest time.Duration)) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "webcare_outbox_held_back", Help: "Replies this instance holds back for their channel's rate for over a minute."},
			func() float64 { n, _ := heldBack(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "webcare_outbox_held_back_oldest_seconds", Help: "How long the oldest reply held back for its channel's rate has waited."},
			func() float64 { _, d := heldBack(); return d.Seconds() }))
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	openDesc   = prometheus.NewDesc("webcare_open_conversations", "Conversations not resolved.", nil, nil)
	depthDesc  = prometheus.NewDesc("webcare_outbox_depth", "Replies waiting to be delivered.", nil, nil)
	failedDesc = prometheus.NewDesc("webcare_outbox_failed", "Replies that finally failed and wait for an agent.", nil, nil)
)

type storeCollector struct{ stats func() store.Stats }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- openDesc
	ch <- depthDesc
	ch <- failedDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(s.OpenConversations))
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(s.OutboxDepth))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(s.OutboxFailed))
}
