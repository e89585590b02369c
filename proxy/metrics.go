package proxy

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// metrics are the proxy's Prometheus metrics, all prefixed meshbench_proxy_.
// Labels: route, cluster, endpoint (the endpoint ID) and code (the status,
// or reset/timeout/connect_failure for upstream tries without one).
type metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec   // downstream requests by route, cluster, code
	duration   *prometheus.HistogramVec // downstream latency by route, cluster, code
	upRequests *prometheus.CounterVec   // upstream tries by cluster, endpoint, code
	upDuration *prometheus.HistogramVec // upstream try latency by cluster, endpoint
	active     prometheus.Gauge         // downstream requests in flight
	retries    *prometheus.CounterVec   // retries by route, cluster
	hedges     *prometheus.CounterVec   // hedged copies by route, cluster
	overflows  *prometheus.CounterVec   // streamed bodies past the replay buffer, by route, cluster
	rejections *prometheus.CounterVec   // local refusals by route, reason
	ejections  *prometheus.CounterVec   // outlier ejections by cluster, reason
	reloads    *prometheus.CounterVec   // configuration reloads by result
	fastPath   prometheus.Counter       // downstream requests the fast path served
	admin      *prometheus.CounterVec   // admin access decisions by decision, reason
	downstream *prometheus.CounterVec   // clients cut for slowness, by reason

	// The label-bound series of requests, duration, upRequests and
	// upDuration, looked up once: WithLabelValues hashes and validates
	// every label value and takes the vector's lock on every call, a few
	// percent of the fast path's CPU. cacheMu orders a miss (creating the
	// series and caching it) with forgetEndpoint (deleting both), so that
	// the cache never keeps a series the vector no longer has.
	cacheMu    sync.Mutex
	reqSeries  sync.Map // requestKey → requestSeries
	upCounters sync.Map // upstreamKey → prometheus.Counter
	upObserved sync.Map // upstreamKey (code empty) → prometheus.Observer
}

type requestKey struct {
	route, cluster string
	status         int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

type upstreamKey struct{ cluster, endpoint, code string }

// latencyBuckets span 100µs to ~13s in factors of two: loopback proxies
// answer in tens of microseconds, timeouts are seconds.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 18)

func newMetrics(reg *prometheus.Registry, state func() []*cluster) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_requests_total", Help: "Downstream requests by route, cluster and status code.",
		}, []string{"route", "cluster", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meshbench_proxy_request_duration_seconds", Help: "Downstream request latency, first byte in to last byte out.",
			Buckets: latencyBuckets,
		}, []string{"route", "cluster", "code"}),
		upRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_upstream_requests_total", Help: "Upstream tries by cluster, endpoint and status code or failure kind.",
		}, []string{"cluster", "endpoint", "code"}),
		upDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meshbench_proxy_upstream_duration_seconds", Help: "Upstream try latency by cluster and endpoint.",
			Buckets: latencyBuckets,
		}, []string{"cluster", "endpoint"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshbench_proxy_active_requests", Help: "Downstream requests in flight.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_retries_total", Help: "Retries sent, by route and cluster.",
		}, []string{"route", "cluster"}),
		hedges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_hedges_total", Help: "Hedged copies sent, by route and cluster.",
		}, []string{"route", "cluster"}),
		overflows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_replay_overflows_total",
			Help: "Streamed request bodies (gRPC streams) that outgrew retry.bufferBytes before an answer, so were neither retried nor hedged further, by route and cluster (Envoy's retry_or_shadow_abandoned).",
		}, []string{"route", "cluster"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_rejections_total", Help: "Requests or retries refused by a local limit, by route and reason.",
		}, []string{"route", "reason"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_ejections_total", Help: "Outlier ejections by cluster and detector.",
		}, []string{"cluster", "reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_reloads_total", Help: "Configuration reloads by result (applied, refused).",
		}, []string{"result"}),
		fastPath: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meshbench_proxy_fast_path_requests_total", Help: "Downstream requests served by the fast path, HTTP/1.1 and HTTP/2 (see the proxy README).",
		}),
		admin: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_admin_decisions_total", Help: "Admin listener access decisions (registry writes, listeners refused) by decision and reason.",
		}, []string{"decision", "reason"}),
		downstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbench_proxy_downstream_rejections_total",
			Help: "Downstream clients cut off for slowness, by reason: header_timeout, body_timeout, send_timeout, slow_connections.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.upRequests, m.upDuration, m.active,
		m.retries, m.hedges, m.overflows, m.rejections, m.ejections, m.reloads, m.fastPath, m.admin, m.downstream, &clusterCollector{state: state})
	return m
}

func (m *metrics) adminDecided(ok bool, reason string) {
	decision := "refused"
	if ok {
		decision = "allowed"
	}
	m.admin.WithLabelValues(decision, reason).Inc()
}

func (m *metrics) rejected(route, reason string) {
	m.rejections.WithLabelValues(route, reason).Inc()
}

// downstreamRejected counts a client the HTTP/1.1 server cut off for
// slowness (h1.ServerConfig.Rejected).
func (m *metrics) downstreamRejected(reason string) {
	m.downstream.WithLabelValues(reason).Inc()
}

func (m *metrics) upstream(cluster, endpoint, code string, d time.Duration) {
	k := upstreamKey{cluster, endpoint, code}
	c, ok := m.upCounters.Load(k)
	if !ok {
		m.cacheMu.Lock()
		if c, ok = m.upCounters.Load(k); !ok {
			c = m.upRequests.WithLabelValues(cluster, endpoint, code)
			m.upCounters.Store(k, c)
		}
		m.cacheMu.Unlock()
	}
	c.(prometheus.Counter).Inc()
	k.code = ""
	o, ok := m.upObserved.Load(k)
	if !ok {
		m.cacheMu.Lock()
		if o, ok = m.upObserved.Load(k); !ok {
			o = m.upDuration.WithLabelValues(cluster, endpoint)
			m.upObserved.Store(k, o)
		}
		m.cacheMu.Unlock()
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

func (m *metrics) request(route, cluster string, status int, d time.Duration) {
	k := requestKey{route, cluster, status}
	v, ok := m.reqSeries.Load(k)
	if !ok {
		// Route and cluster series are never deleted: no lock needed.
		code := codeLabel(status)
		v, _ = m.reqSeries.LoadOrStore(k, requestSeries{
			count:    m.requests.WithLabelValues(route, cluster, code),
			duration: m.duration.WithLabelValues(route, cluster, code),
		})
	}
	rs := v.(requestSeries)
	rs.count.Inc()
	rs.duration.Observe(d.Seconds())
}

// forgetEndpoint drops the per-endpoint series of an endpoint that left,
// and their cached handles.
func (m *metrics) forgetEndpoint(cluster, endpoint string) {
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	l := prometheus.Labels{"cluster": cluster, "endpoint": endpoint}
	m.upRequests.DeletePartialMatch(l)
	m.upDuration.DeletePartialMatch(l)
	for _, cache := range []*sync.Map{&m.upCounters, &m.upObserved} {
		cache.Range(func(k, _ any) bool {
			if uk := k.(upstreamKey); uk.cluster == cluster && uk.endpoint == endpoint {
				cache.Delete(k)
			}
			return true
		})
	}
}

// clusterCollector reports cluster state at scrape time, so the hot path
// pays nothing for it: breaker state, threshold usage, concurrency limit,
// and per-endpoint availability and in-flight requests.
type clusterCollector struct {
	state func() []*cluster
}

var (
	descBreaker = prometheus.NewDesc("meshbench_proxy_breaker_state",
		"Outcome circuit breaker state: 0 closed, 1 open, 2 half-open.", []string{"cluster"}, nil)
	descInUse = prometheus.NewDesc("meshbench_proxy_threshold_in_use",
		"Units in use of each Envoy circuit-breaking threshold.", []string{"cluster", "resource"}, nil)
	descOverflow = prometheus.NewDesc("meshbench_proxy_threshold_overflows_total",
		"Refusals by each Envoy circuit-breaking threshold.", []string{"cluster", "resource"}, nil)
	descConcLimit = prometheus.NewDesc("meshbench_proxy_concurrency_limit",
		"Current limit of the cluster's concurrency limiter.", []string{"cluster"}, nil)
	descEndpointUp = prometheus.NewDesc("meshbench_proxy_endpoint_available",
		"1 when the endpoint is healthy and not ejected.", []string{"cluster", "endpoint"}, nil)
	descEndpointEjected = prometheus.NewDesc("meshbench_proxy_endpoint_ejected",
		"1 while outlier detection has the endpoint ejected.", []string{"cluster", "endpoint"}, nil)
	descEndpointInflight = prometheus.NewDesc("meshbench_proxy_endpoint_inflight",
		"Tries in flight to the endpoint.", []string{"cluster", "endpoint"}, nil)
)

func (cc *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBreaker, descInUse, descOverflow, descConcLimit, descEndpointUp, descEndpointEjected, descEndpointInflight} {
		ch <- d
	}
}

func (cc *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, c := range cc.state() {
		if c.lc.Breaker != nil {
			ch <- prometheus.MustNewConstMetric(descBreaker, prometheus.GaugeValue, float64(c.lc.Breaker.State(now)), c.name)
		}
		for _, r := range []breaker.Resource{breaker.Connections, breaker.PendingRequests, breaker.Requests, breaker.Retries} {
			ch <- prometheus.MustNewConstMetric(descInUse, prometheus.GaugeValue, float64(c.lc.Admission.InUse(r)), c.name, r.String())
			ch <- prometheus.MustNewConstMetric(descOverflow, prometheus.CounterValue, float64(c.lc.Admission.Overflows(r)), c.name, r.String())
		}
		if c.lc.Concurrency != nil {
			ch <- prometheus.MustNewConstMetric(descConcLimit, prometheus.GaugeValue, float64(c.lc.Concurrency.Limit()), c.name)
		}
		c.mu.Lock()
		for _, e := range c.eps {
			ejected := c.lc.Ejected(e.id)
			ch <- prometheus.MustNewConstMetric(descEndpointUp, prometheus.GaugeValue, b2f(c.lc.Healthy(e.id) && !ejected), c.name, e.id)
			ch <- prometheus.MustNewConstMetric(descEndpointEjected, prometheus.GaugeValue, b2f(ejected), c.name, e.id)
			ch <- prometheus.MustNewConstMetric(descEndpointInflight, prometheus.GaugeValue, float64(e.inflight.Load()), c.name, e.id)
		}
		c.mu.Unlock()
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newRegistry returns a registry with the Go runtime and process collectors,
// as a standalone proxy exposes them.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
