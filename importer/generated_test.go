package importer_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

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

// TestGeneratedScenariosWithGatewayKeys loads the scenarios generated from
// the Istio and Kong corpora, which use the gateway keys (quotas, ACLs, IP
// lists): the groups the ACLs name are declared, and the placeholder load
// reaches a route, sent by consumers of the identity it authenticates.
func TestGeneratedScenariosWithGatewayKeys(t *testing.T) {
	res, err := istio.Import([]string{"istio/testdata/mesh"}, istio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := loadGenerated(t, res, "mesh")
	r := plan.Topology.Gateway.Routes[0]
	if r.Auth == nil || r.Auth.Issuer != "https://issuer.example.com" {
		t.Errorf("route auth = %+v", r.Auth)
	}
	if r.ACL == nil || strings.Join(r.ACL.Allow, ",") != "merchants" {
		t.Errorf("route acl = %+v", r.ACL)
	}
	if ip := r.IPRestriction; ip == nil || strings.Join(ip.Allow, ",") != "10.0.0.0/8,127.0.0.1/32" || strings.Join(ip.Deny, ",") != "10.6.6.0/24" {
		t.Errorf("route ipRestriction = %+v", ip)
	}
	if g := plan.Topology.Gateway.ConsumerGroups; len(g) != 1 || g[0].Name != "merchants" || len(g[0].Consumers) == 0 {
		t.Errorf("consumerGroups = %+v", g)
	}
	w := plan.Load[0]
	if w.Target.Method != "POST" || w.Target.Path != "/v1/payments" || w.Consumers == nil || w.Consumers.Identity != "jwt" {
		t.Errorf("load = %+v %+v", w.Target, w.Consumers)
	}
	kres, err := kong.Import(nil, "kong/testdata/kong.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kplan := loadGenerated(t, kres, "kong.yaml")
	kr := kplan.Topology.Gateway.Routes[0]
	if kr.RateLimit == nil || kr.RateLimit.Window.Minutes() != 1 {
		t.Errorf("route rateLimit = %+v", kr.RateLimit)
	}
	if kr.ACL == nil || kr.IPRestriction == nil || strings.Join(kr.IPRestriction.Deny, ",") != "10.6.6.6/32" {
		t.Errorf("route acl %+v, ipRestriction %+v", kr.ACL, kr.IPRestriction)
	}
	if q := kplan.Variants[0].Policy.Quota; q == nil || q.Limit != 2000000 || q.Period != "month" || q.Key != "api_key" {
		t.Errorf("quota = %+v", q)
	}
	if g := kplan.Topology.Gateway.ConsumerGroups; len(g) != 2 || fmt.Sprint(g[0].Consumers) != "[0 1]" || fmt.Sprint(g[1].Consumers) != "[1]" {
		t.Errorf("consumerGroups = %+v", g)
	}
	if c := kplan.Load[0].Consumers; c == nil || c.Count != 2 || c.Identity != "apiKey" || kplan.Load[0].Target.Host != "pay.example.com" {
		t.Errorf("load = %+v %+v", kplan.Load[0].Target, c)
	}
}

// TestGeneratedEdgeCases: an acl on a route without authentication is left
// out (with a finding), groups no consumer holds are declared empty, a
// DENY policy's notIpBlocks are the allow list, and the placeholder load
// reaches a route matched by a regex only.
func TestGeneratedEdgeCases(t *testing.T) {
	dir := t.TempDir()
	deck := `_format_version: "3.0"
services:
  - name: api
    url: http://api:80
    routes:
      - {name: open, paths: [/open]}
      - name: keyed
        paths: [/keyed]
        plugins:
          - {name: key-auth}
          - {name: acl, config: {deny: [banned]}}
consumers:
  - {username: a, acls: [{group: gold}]}
plugins:
  - {name: acl, route: open, config: {allow: [gold]}}
  - name: rate-limiting
    config: {day: 500, limit_by: ip}
`
	kp := filepath.Join(dir, "kong.yaml")
	if err := os.WriteFile(kp, []byte(deck), 0o644); err != nil {
		t.Fatal(err)
	}
	kres, err := kong.Import(nil, kp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(kres.Findings), "no key-auth or jwt plugin") {
		t.Errorf("findings lack the acl without authentication:\n%s", kres.Findings)
	}
	plan := loadGenerated(t, kres, "kong.yaml")
	if r := plan.Topology.Gateway.Routes[0]; r.ACL != nil {
		t.Errorf("route open keeps acl %+v", r.ACL)
	}
	if g := plan.Topology.Gateway.ConsumerGroups; len(g) != 2 || g[1].Name != "banned" || len(g[1].Consumers) != 0 {
		t.Errorf("consumerGroups = %+v", g)
	}
	if q := plan.Variants[0].Policy.Quota; q == nil || q.Limit != 500 || q.Period != "day" || q.Key != "client_ip" {
		t.Errorf("quota = %+v", q)
	}

	mesh := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api]
  http:
    - name: items
      match: [{uri: {regex: "/items/[0-9]+(/parts)?"}}]
      route: [{destination: {host: api}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-outside}
spec:
  action: DENY
  rules:
    - from: [{source: {notIpBlocks: ["127.0.0.0/8"]}}]
    - when: [{key: "request.auth.claims[groups]", values: [banned]}]
`
	ip := filepath.Join(dir, "mesh.yaml")
	if err := os.WriteFile(ip, []byte(mesh), 0o644); err != nil {
		t.Fatal(err)
	}
	ires, err := istio.Import([]string{ip}, istio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(ires.Findings), "no RequestAuthentication covers") {
		t.Errorf("findings lack the groups without a token:\n%s", ires.Findings)
	}
	iplan := loadGenerated(t, ires, "mesh.yaml")
	r := iplan.Topology.Gateway.Routes[0]
	if r.IPRestriction == nil || strings.Join(r.IPRestriction.Allow, ",") != "127.0.0.0/8" || r.ACL != nil {
		t.Errorf("route ipRestriction %+v, acl %+v", r.IPRestriction, r.ACL)
	}
	if p := iplan.Load[0].Target.Path; p != "/items/1" {
		t.Errorf("load path %q", p)
	}
}

// FuzzGeneratedKong: a decK file the importer takes without an error gives
// a scenario that loads.
func FuzzGeneratedKong(f *testing.F) {
	src, err := os.ReadFile("kong/testdata/kong.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add([]byte("_format_version: \"3.0\"\nservices: [{name: a, url: \"http://a:80\", routes: [{name: r, paths: [\"~/x/[0-9]+\"], plugins: [{name: key-auth}, {name: acl, config: {allow: [g]}}]}]}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		res := kong.ImportBytes("in.yaml", src)
		if res.Findings.Check(false) != nil || len(res.Routes) == 0 {
			return
		}
		text := res.Scenario("generated", "imported", []string{"in.yaml"})
		if _, err := scenarios.LoadBytes("generated.yaml", []byte(text)); err != nil && !unreachable(err, text) {
			t.Errorf("the generated scenario does not load:\n%v\n%s", err, text)
		}
	})
}

// FuzzGeneratedIstio: Istio resources the importer takes without an error
// give a scenario that loads.
func FuzzGeneratedIstio(f *testing.F) {
	files, _ := filepath.Glob("istio/testdata/mesh/*.yaml")
	var all []byte
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		all = append(append(all, src...), "\n---\n"...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := istio.Import([]string{"mesh.yaml"}, istio.Options{FS: fstest.MapFS{"mesh.yaml": {Data: src}}})
		if err != nil || res.Findings.Check(false) != nil || len(res.Routes) == 0 {
			return
		}
		text := res.Scenario("generated", "imported", []string{"mesh.yaml"})
		if _, err := scenarios.LoadBytes("generated.yaml", []byte(text)); err != nil && !unreachable(err, text) {
			t.Errorf("the generated scenario does not load:\n%v\n%s", err, text)
		}
	})
}

// unreachable reports whether err is only the placeholder load matching no
// route because no route's regex gave a path (which the scenario says).
func unreachable(err error, text string) bool {
	var verr *scenarios.ValidationError
	if !errors.As(err, &verr) || !strings.Contains(text, "meshbench can write no path the routes' regexes match") {
		return false
	}
	for _, is := range verr.Issues {
		if is.Path != "load[0].target" || !strings.Contains(is.Msg, "matches no gateway route") {
			return false
		}
	}
	return true
}
