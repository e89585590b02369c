package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestSidecarOutboundAndInbound(t *testing.T) {
	risk := upstream(t, echo("risk"))
	fraud := upstream(t, echo("fraud"))
	local := upstream(t, echo("local"))
	cfg := config.Config{
		Mode: config.ModeSidecar,
		Clusters: []config.ClusterConfig{
			{Name: "risk", Endpoints: eps(risk)},
			{Name: "fraud-v2", Endpoints: eps(fraud)},
			{Name: "local", Endpoints: eps(local)},
		},
		Sidecar: config.SidecarConfig{
			Service:    "payments",
			Domains:    []string{".mesh"},
			PathPrefix: true,
			Outbound:   []config.OutboundConfig{{Service: "fraud", Cluster: "fraud-v2"}},
			Inbound:    config.InboundConfig{Cluster: "local"},
		},
	}
	h := start(t, cfg)
	tests := []struct {
		name     string
		host     string
		path     string
		status   int
		upstream string
		wantPath string
	}{
		{name: "host names the service", host: "risk", path: "/score", status: 200, upstream: "risk", wantPath: "/score"},
		{name: "host with port", host: "risk:8080", path: "/score", status: 200, upstream: "risk"},
		{name: "mesh domain stripped", host: "risk.mesh", path: "/score", status: 200, upstream: "risk"},
		{name: "alias to another cluster", host: "fraud", path: "/check", status: 200, upstream: "fraud", wantPath: "/check"},
		{name: "path prefix names the service", host: "localhost", path: "/risk/score", status: 200, upstream: "risk", wantPath: "/score"},
		{name: "unknown service", host: "ledger", path: "/x", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.get(t, tc.path, "Host", tc.host)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			e := decodeEcho(t, body)
			if e.Name != tc.upstream {
				t.Errorf("upstream %q, want %q", e.Name, tc.upstream)
			}
			if tc.wantPath != "" && e.Path != tc.wantPath {
				t.Errorf("path %q, want %q", e.Path, tc.wantPath)
			}
		})
	}

	t.Run("absolute-form authority", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://risk/score", nil)
		req.RemoteAddr = "127.0.0.1:5555"
		h.p.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 || decodeEcho(t, rec.Body.String()).Name != "risk" {
			t.Errorf("got %d %s", rec.Code, rec.Body.String())
		}
	})

	t.Run("inbound goes to the local service", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://payments/pay", nil)
		req.RemoteAddr = "127.0.0.1:5555"
		h.p.InboundHandler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		if e := decodeEcho(t, rec.Body.String()); e.Name != "local" || e.Path != "/pay" {
			t.Errorf("inbound reached %q %q", e.Name, e.Path)
		}
	})
}
