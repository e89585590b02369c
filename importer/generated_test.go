package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/importer/istio"
	"github.com/meshbench/meshbench/importer/kong"
	"github.com/meshbench/meshbench/scenarios"
)

func loadGenerated(t *testing.T, res *importer.Result, sources ...string) *scenarios.Plan {
	t.Helper()
	text := res.Scenario("generated", "imported", sources)
	p := filepath.Join(t.TempDir(), "generated.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.Load(p)
	if err != nil {
		t.Fatalf("the generated scenario does not load:\n%v\n%s", err, text)
	}
	return plan
}

// TestGeneratedIstioScenario: `meshbench import istio` of the shipped
// example's mesh writes a scenario that loads, with the imported policy.
func TestGeneratedIstioScenario(t *testing.T) {
	res, err := istio.Import([]string{"../scenarios/library/istio-outlier-proposal/proposal"}, istio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := loadGenerated(t, res, "proposal")
	v := plan.Variants[0]
	if od := v.Policy.OutlierDetection; od == nil || od.Consecutive5xx != 3 || od.MaxEjectionPercent != 50 {
		t.Errorf("outlierDetection = %+v", od)
	}
	svc, ok := plan.Topology.Service("payments")
	if !ok || svc.Replicas != 4 || len(svc.Labels) != 4 {
		t.Fatalf("payments = %+v", svc)
	}
	if w := v.Weights["payments"]; len(w) != 4 || w[0] != 50 || w[2] != 450 {
		t.Errorf("weights = %v (canary, canary, stable, stable)", w)
	}
	if len(plan.Topology.Gateway.Routes) != 1 || plan.Topology.Gateway.Routes[0].Match.PathPrefix != "/v1/payments" {
		t.Errorf("routes = %+v", plan.Topology.Gateway.Routes)
	}
}

// gatewayKeys reports whether package scenarios has the gateway keys the
// importers map Kong's acl, ip-restriction and rate-limiting day/month and
// Istio's AuthorizationPolicy onto (policy.quota, route acl and
// ipRestriction, topology.gateway.consumerGroups), which another branch adds.
func gatewayKeys() bool {
	_, err := scenarios.LoadBytes("probe.yaml", []byte(`apiVersion: meshbench/v1
kind: Scenario
name: probe
duration: 60s
topology:
  gateway:
    routes: [{name: r, service: s, ipRestriction: {allow: [127.0.0.1/32]}}]
  services: [{name: s, replicas: 1, serviceTime: 1ms}]
load: [{name: l, target: {method: GET, path: /}, rate: 1/s}]
policy: {quota: {limit: 10, period: day, key: client_ip}}
`))
	return err == nil || !strings.Contains(err.Error(), "unknown key")
}

// TestGeneratedScenariosWithGatewayKeys loads the scenarios generated from
// the Istio and Kong corpora, which use the gateway keys (quotas, ACLs, IP
// lists). It runs once those keys exist in package scenarios.
func TestGeneratedScenariosWithGatewayKeys(t *testing.T) {
	if !gatewayKeys() {
		t.Skip("package scenarios lacks policy.quota / route ipRestriction (the gateway branch adds them)")
	}
	res, err := istio.Import([]string{"istio/testdata/mesh"}, istio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := loadGenerated(t, res, "mesh")
	if r := plan.Topology.Gateway.Routes[0]; r.Auth == nil || r.Auth.Issuer != "https://issuer.example.com" {
		t.Errorf("route auth = %+v", r.Auth)
	}
	kres, err := kong.Import(nil, "kong/testdata/kong.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kplan := loadGenerated(t, kres, "kong.yaml")
	if r := kplan.Topology.Gateway.Routes[0]; r.RateLimit == nil || r.RateLimit.Window.Minutes() != 1 {
		t.Errorf("route rateLimit = %+v", r.RateLimit)
	}
}
