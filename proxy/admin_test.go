package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
)

func adminGet(t *testing.T, p *Proxy, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	p.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestAdminAPI(t *testing.T) {
	up := upstream(t, echo("up"))
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up), CircuitBreaker: &config.BreakerConfig{}}, config.Policy{})
	cfg.Registry.Enabled = true
	var logs bytes.Buffer
	h := start(t, cfg, WithAccessLog(&logs))
	h.get(t, "/hello", HeaderRequestID, "req-1")

	if code, body := adminGet(t, h.p, "/ready"); code != 200 || body != "LIVE\n" {
		t.Errorf("/ready %d %q", code, body)
	}
	code, body := adminGet(t, h.p, "/config")
	var got config.Config
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.Routes[0].Timeout.D() != config.DefaultRouteTimeout {
		t.Errorf("/config %d %v: %.200s", code, err, body)
	}
	code, body = adminGet(t, h.p, "/clusters")
	var cs []ClusterStatus
	if err := json.Unmarshal([]byte(body), &cs); code != 200 || err != nil || len(cs) != 1 || cs[0].Breaker != "closed" ||
		len(cs[0].Endpoints) != 1 || cs[0].Endpoints[0].Requests != 1 || !cs[0].Endpoints[0].Available {
		t.Errorf("/clusters %d %v: %s", code, err, body)
	}
	code, body = adminGet(t, h.p, "/metrics")
	for _, want := range []string{
		`meshbench_proxy_requests_total{cluster="up",code="200",route="r"} 1`,
		`meshbench_proxy_request_duration_seconds_bucket{cluster="up",code="200",route="r",le=`,
		`meshbench_proxy_upstream_requests_total{cluster="up",code="200",endpoint="` + up + `"} 1`,
		`meshbench_proxy_breaker_state{cluster="up"} 0`,
		`meshbench_proxy_active_requests 0`,
		`meshbench_proxy_endpoint_available{cluster="up",endpoint="` + up + `"} 1`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &rec); err != nil {
		t.Fatalf("access log %q: %v", logs.String(), err)
	}
	if rec["request_id"] != "req-1" || rec["status"] != float64(200) || rec["route"] != "r" || rec["path"] != "/hello" {
		t.Errorf("access log %v", rec)
	}

	t.Run("registry", func(t *testing.T) {
		srv := httptest.NewServer(h.p.AdminHandler())
		defer srv.Close()
		c := &discovery.Client{BaseURL: srv.URL + "/registry", HTTP: srv.Client()}
		if _, err := c.Register(context.Background(), "risk", discovery.Instance{Endpoint: discovery.Endpoint{Address: "127.0.0.1:9"}, TTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		insts, err := c.List(context.Background(), "risk")
		if err != nil || len(insts) != 1 {
			t.Fatalf("list %v %v", insts, err)
		}
	})

	t.Run("not ready after shutdown", func(t *testing.T) {
		p, err := New(cfg, WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if code, _ := adminGet(t, p, "/ready"); code != 503 {
			t.Errorf("/ready after shutdown: %d", code)
		}
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != 503 {
			t.Errorf("request after shutdown: %d", rec.Code)
		}
		_, _ = io.Copy(io.Discard, rec.Body)
	})
}
