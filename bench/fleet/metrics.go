package fleet

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are one replica's Prometheus metrics, in a registry of its own so
// that many replicas can run in one process. Every series carries the
// replica's role and instance name as constant labels.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec // by status code
	latency   prometheus.Histogram
	busy      prometheus.Gauge
	waiting   prometheus.Gauge
	queueFull prometheus.Counter
	injected  *prometheus.CounterVec // by kind: error, hang, latency
	payments  *prometheus.CounterVec // by status and replayed
	lookups   *prometheus.CounterVec // by result: found, not_found
	ledger    *prometheus.CounterVec // by result: new, duplicate
}

func newMetrics(role Role, instance string) *metrics {
	labels := prometheus.Labels{"role": string(role), "instance": instance}
	f := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "paymentsvc", Name: name, Help: help, ConstLabels: labels}
	}
	m := &metrics{
		reg:      prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts(f("requests_total", "API requests answered, by status code.")), []string{"code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "paymentsvc", Name: "request_duration_seconds", ConstLabels: labels,
			Help:    "Time from a request's arrival to its answer, queueing and downstream calls included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		busy:      prometheus.NewGauge(prometheus.GaugeOpts(f("workers_busy", "Workers holding a request."))),
		waiting:   prometheus.NewGauge(prometheus.GaugeOpts(f("queue_length", "Requests waiting for a worker."))),
		queueFull: prometheus.NewCounter(prometheus.CounterOpts(f("queue_full_total", "Requests refused with 503 because the queue was full."))),
		injected:  prometheus.NewCounterVec(prometheus.CounterOpts(f("faults_injected_total", "Requests affected by an injected fault, by kind.")), []string{"kind"}),
		payments:  prometheus.NewCounterVec(prometheus.CounterOpts(f("payments_total", "Payments answered, by status and whether the answer was replayed.")), []string{"status", "replayed"}),
		lookups:   prometheus.NewCounterVec(prometheus.CounterOpts(f("payment_lookups_total", "Payment lookups answered, by result: found or not_found.")), []string{"result"}),
		ledger:    prometheus.NewCounterVec(prometheus.CounterOpts(f("ledger_writes_total", "Ledger writes, by result: new record or refused duplicate.")), []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.busy, m.waiting, m.queueFull, m.injected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	switch role {
	case RolePayments:
		m.reg.MustRegister(m.payments, m.lookups)
	case RoleLedger:
		m.reg.MustRegister(m.ledger)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *metrics) payment(status string, replayed bool) {
	m.payments.WithLabelValues(status, strconv.FormatBool(replayed)).Inc()
}
