package proxy

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/discovery"
)

// adminHandler serves the admin API, as Envoy's admin interface:
//
//	GET /ready     200 "LIVE" while serving, 503 once shutting down
//	GET /config    the configuration in effect, defaults applied, secrets
//	               redacted (config.Config.Redacted; JSON)
//	GET /clusters  clusters and their endpoints with health, ejection,
//	               in-flight tries, counters and latency EWMA (JSON)
//	GET /metrics   Prometheus metrics
//	    /registry/ the discovery registry API, when registry.enabled;
//	               its writes need adminAccess's token or peer, when set
//
// Reads are open to whoever reaches the listener; see
// config.AdminAccessConfig.
func (p *Proxy) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		if !p.ready.Load() {
			http.Error(w, "SHUTTING_DOWN", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("LIVE\n"))
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, p.Config().Redacted())
	})
	mux.HandleFunc("GET /clusters", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, p.ClusterStatus())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.env.metrics.reg, promhttp.HandlerOpts{}))
	reg := p.guardWrites(http.StripPrefix("/registry", discovery.NewServer(p.store)))
	mux.HandleFunc("/registry/", func(w http.ResponseWriter, r *http.Request) {
		if !p.Config().Registry.Enabled {
			http.NotFound(w, r)
			return
		}
		reg.ServeHTTP(w, r)
	})
	return mux
}

func writeAdminJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ClusterStatus is a cluster as the admin /clusters view shows it.
type ClusterStatus struct {
	Name             string           `json:"name"`
	Protocol         string           `json:"protocol"`
	Balancer         string           `json:"balancer"`
	Breaker          string           `json:"breaker,omitempty"`
	ConcurrencyLimit int              `json:"concurrencyLimit,omitempty"`
	Requests         int              `json:"requestsInFlight"`
	Retries          int              `json:"retriesInFlight"`
	Connections      int              `json:"connections"`
	Endpoints        []EndpointStatus `json:"endpoints"`
}

// EndpointStatus is an endpoint as the admin /clusters view shows it.
type EndpointStatus struct {
	ID        string  `json:"id"`
	Address   string  `json:"address"`
	Zone      string  `json:"zone,omitempty"`
	Weight    int     `json:"weight"`
	Healthy   bool    `json:"healthy"`
	Ejected   bool    `json:"ejected"`
	Available bool    `json:"available"`
	InFlight  int64   `json:"inFlight"`
	Requests  uint64  `json:"requests"`
	Failures  uint64  `json:"failures"`
	EWMAms    float64 `json:"latencyEwmaMs"`
	// Ejections and SuccessRate come from outlier detection, when on.
	Ejections   int     `json:"ejections,omitempty"`
	SuccessRate float64 `json:"successRate,omitempty"`
}

// ClusterStatus returns the state of every cluster, sorted by name.
func (p *Proxy) ClusterStatus() []ClusterStatus {
	now := time.Now()
	var out []ClusterStatus
	for _, c := range p.clusters() {
		cs := ClusterStatus{
			Name: c.name, Protocol: c.cfg.Protocol, Balancer: c.cfg.Balancer.Type,
			Requests:    c.lc.Admission.InUse(breaker.Requests),
			Retries:     c.lc.Admission.InUse(breaker.Retries),
			Connections: c.lc.Admission.InUse(breaker.Connections),
			Endpoints:   []EndpointStatus{},
		}
		if c.lc.Breaker != nil {
			cs.Breaker = c.lc.Breaker.State(now).String()
		}
		if c.lc.Concurrency != nil {
			cs.ConcurrencyLimit = c.lc.Concurrency.Limit()
		}
		eps := c.snapshotEndpoints()
		c.mu.Lock()
		for _, e := range eps {
			healthy, ejected := c.lc.Healthy(e.id), c.lc.Ejected(e.id)
			es := EndpointStatus{ID: e.id, Address: e.addr, Zone: e.zone, Weight: e.weight, Healthy: healthy, Ejected: ejected,
				Available: healthy && !ejected, InFlight: e.inflight.Load(), Requests: e.requests.Load(), Failures: e.failures.Load(),
				EWMAms: float64(e.ewma.Load()) / 1e6}
			if c.lc.Outlier != nil {
				if hs, ok := c.lc.Outlier.Status(e.id); ok {
					es.Ejections, es.SuccessRate = hs.Ejections, hs.SuccessRate
				}
			}
			cs.Endpoints = append(cs.Endpoints, es)
		}
		c.mu.Unlock()
		out = append(out, cs)
	}
	return out
}
