package proxy

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestOutlierEjection(t *testing.T) {
	good := upstream(t, echo("good"))
	bad := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	ev := newEvents()
	h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(good, bad),
		Outlier: &config.OutlierConfig{Consecutive5xx: 2, MaxEjectionPercent: 100, BaseEjectionTime: config.Duration(time.Hour), Interval: config.Duration(time.Hour)}},
		config.Policy{}), ev.option())
	// Round robin alternates: within a bounded number of requests the bad
	// endpoint answers 500 twice in a row from its point of view.
	for range 10 {
		h.get(t, "/")
	}
	e := ev.wait(t, "ejection", func(e Event) bool { return e.Kind == EventEjection && !e.Up })
	if e.Endpoint != bad || e.Detail != "consecutive_5xx" {
		t.Errorf("ejected %s for %s, want %s for consecutive_5xx", e.Endpoint, e.Detail, bad)
	}
	for i := range 20 {
		if resp, _ := h.get(t, "/"); resp.StatusCode != 200 {
			t.Fatalf("request %d after the ejection: %d", i, resp.StatusCode)
		}
	}
	if got := metricValue(t, h.p, `meshbench_proxy_ejections_total{cluster="up",reason="consecutive_5xx"}`); got != 1 {
		t.Errorf("ejections metric %v", got)
	}
	for _, cs := range h.p.ClusterStatus() {
		for _, es := range cs.Endpoints {
			if es.Ejected != (es.ID == bad) {
				t.Errorf("admin shows %s ejected=%v", es.ID, es.Ejected)
			}
		}
	}
}

func TestActiveHealthChecks(t *testing.T) {
	var sick atomic.Bool
	flaky := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && sick.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		echo("flaky")(w, r)
	}))
	steady := upstream(t, echo("steady"))
	ev := newEvents()
	h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(flaky, steady),
		HealthCheck: &config.HealthCheckConfig{Interval: config.Duration(10 * time.Millisecond), Timeout: config.Duration(time.Second), UnhealthyThreshold: 2, HealthyThreshold: 1}},
		config.Policy{}), ev.option())
	// New endpoints wait for their first probe (Envoy's rule).
	for range 2 {
		ev.wait(t, "first healthy", func(e Event) bool { return e.Kind == EventHealth && e.Up })
	}
	sick.Store(true)
	e := ev.wait(t, "unhealthy", func(e Event) bool { return e.Kind == EventHealth && !e.Up })
	if e.Endpoint != flaky {
		t.Fatalf("%s went unhealthy, want %s", e.Endpoint, flaky)
	}
	for i := range 20 {
		resp, body := h.get(t, "/")
		if resp.StatusCode != 200 || decodeEcho(t, body).Name != "steady" {
			t.Fatalf("request %d went to %s", i, body)
		}
	}
	sick.Store(false)
	ev.wait(t, "healthy again", func(e Event) bool { return e.Kind == EventHealth && e.Up && e.Endpoint == flaky })
	names := map[string]bool{}
	for range 10 {
		_, body := h.get(t, "/")
		names[decodeEcho(t, body).Name] = true
	}
	if !names["flaky"] {
		t.Error("the recovered endpoint got no traffic")
	}
}
