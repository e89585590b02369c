package kubernetes

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/load"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/secure"
	"github.com/meshbench/meshbench/proxy/upstream"
	"github.com/meshbench/meshbench/scenarios"
)

// noDNS resolves nothing: the rendered configurations find replicas by
// the cluster's DNS, which a test does not have.
type noDNS struct{}

func (noDNS) LookupHost(context.Context, string) ([]string, error) {
	return nil, errors.New("no DNS in this test")
}

func (noDNS) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	return "", nil, errors.New("no DNS in this test")
}

// testClock is the fixed time the proxies of these tests tell: limits do
// not refill and tokens do not expire while a test runs.
var testClock = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// parseRendered reads a rendered proxy ConfigMap as `meshbench proxy`
// does: every key of the ConfigMap written to a folder that stands for
// the mount, the configuration parsed with the proxy's own loader.
func parseRendered(t *testing.T, data map[string]string) secure.FileConfig {
	t.Helper()
	dir := t.TempDir()
	for name, text := range data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := strings.ReplaceAll(data[proxyFile], proxyMount+"/", dir+"/")
	fc, err := secure.ParseFile(filepath.Join(dir, proxyFile), []byte(text))
	if err != nil {
		t.Fatalf("%s", err)
	}
	return fc
}

// buildProxy builds fc with the real proxy/secure constructor and stops
// it at the end of the test.
func buildProxy(t *testing.T, fc secure.FileConfig) *secure.Proxy {
	t.Helper()
	if fc.Security.Clock == nil {
		fc.Security.Clock = func() time.Time { return testClock }
	}
	p, err := secure.New(fc.Config, fc.Security, proxy.WithResolver(noDNS{}), proxy.WithSeed(1),
		proxy.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("secure.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

func configMapNamed(t *testing.T, m *Manifest, name string) map[string]string {
	t.Helper()
	for _, cm := range m.ConfigMaps {
		if cm.Name == name {
			return cm.Data
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return nil
}

// Every proxy configuration the backend renders, for every variant of
// every shipped scenario it does not refuse, builds with `meshbench
// proxy`'s constructor (proxy/secure.ParseFile and New): middleware names
// and params and the files they name are checked for real.
func TestEveryRenderedProxyConfigurationBuilds(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/library/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("library: %v", err)
	}
	rendered := map[string]int{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if name == "istio-outlier-proposal" {
			continue // its variants are imported from Istio's objects: this package has no importer
		}
		plan := library(t, name)
		for i := range plan.Variants {
			if len(issues(plan.ForVariant(i), i)) > 0 {
				continue
			}
			m := renderOf(t, plan, i)
			secrets := writeSecrets(t, m) // the mutual-TLS CA, mounted at caMount in the pods
			for _, cm := range m.ConfigMaps {
				t.Run(name+"/"+plan.Variants[i].Name+"/"+cm.Name, func(t *testing.T) {
					data := maps.Clone(cm.Data)
					data[proxyFile] = strings.ReplaceAll(data[proxyFile], caMount, filepath.Join(secrets, caSecret))
					buildProxy(t, parseRendered(t, data))
				})
			}
			rendered[name]++
		}
	}
	for _, name := range []string{"gateway-burst", "cache-offload", "jwt-edge", "tenant-fairness", "balancer-brownout", "mtls-cost"} {
		if rendered[name] == 0 {
			t.Errorf("%s: no variant rendered", name)
		}
	}
}

// upstreamAt points every cluster of fc at url instead of the cluster's
// DNS.
func upstreamAt(fc *secure.FileConfig, url string) {
	addr := strings.TrimPrefix(url, "http://")
	for i := range fc.Clusters {
		fc.Clusters[i].Discovery = nil
		fc.Clusters[i].Endpoints = []upstream.Endpoint{{Address: addr}}
	}
}

// edgeGateway builds the rendered gateway of variant of scenario in front
// of a fleet stand-in that answers 200 and counts what reaches it.
func edgeGateway(t *testing.T, scenario, variant string) (*scenarios.Plan, http.Handler, *atomic.Int64) {
	t.Helper()
	plan := library(t, scenario)
	i := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == variant })
	if i < 0 {
		t.Fatalf("%s has no variant %s", scenario, variant)
	}
	var reached atomic.Int64
	fleet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(fleet.Close)
	m := renderOf(t, plan.ForVariant(i), i)
	fc := parseRendered(t, configMapNamed(t, m, "proxy-"+GatewayName))
	upstreamAt(&fc, fleet.URL)
	return plan.ForVariant(i), buildProxy(t, fc).Handler(), &reached
}

func send(h http.Handler, method, path string, hdr http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://gateway"+path, strings.NewReader(`{"amount":1}`))
	r.RemoteAddr = "10.0.0.7:40000" // an agent pod
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The load generator the agents run (bench/load, with the run's seed)
// through the rendered gateway of jwt-edge's per-jwt-sub variant: the
// customers' tokens are all accepted, the attacker's bad ones refused 401
// and its good ones accepted. The gateway tells the wall-clock time here,
// as in a pod: the tokens are minted at the run's start.
func TestLoadThroughTheRenderedGateway(t *testing.T) {
	plan := library(t, "jwt-edge")
	i := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == "per-jwt-sub" })
	plan = plan.ForVariant(i)
	plan.Duration, plan.Warmup = time.Second, 0
	fleet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{}`))
	}))
	defer fleet.Close()
	m := renderOf(t, plan, i)
	fc := parseRendered(t, configMapNamed(t, m, "proxy-"+GatewayName))
	upstreamAt(&fc, fleet.URL)
	fc.Security.Clock = time.Now
	gw := httptest.NewServer(buildProxy(t, fc).Handler())
	defer gw.Close()
	sink := &statusSink{byWorkload: map[string]map[int]int{}}
	if _, err := load.Run(t.Context(), load.Config{Target: gw.URL, Plan: plan, Seed: 7, Sink: sink, Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	customers, attacker := sink.byWorkload["customers"], sink.byWorkload["attacker"]
	t.Logf("customers %v, attacker %v", customers, attacker)
	if customers[http.StatusUnauthorized] > 0 || customers[http.StatusCreated] == 0 {
		t.Errorf("customers' answers by status %v: want none refused 401", customers)
	}
	if attacker[http.StatusUnauthorized] == 0 || attacker[http.StatusCreated]+attacker[http.StatusTooManyRequests] == 0 {
		t.Errorf("attacker's answers by status %v: want its bad tokens refused 401 and its good ones through", attacker)
	}
}

// statusSink counts results by workload and status.
type statusSink struct {
	mu         sync.Mutex
	byWorkload map[string]map[int]int
}

func (s *statusSink) Record(r bench.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byWorkload[r.Workload] == nil {
		s.byWorkload[r.Workload] = map[int]int{}
	}
	s.byWorkload[r.Workload][r.Status]++
}

// tenant-fairness per-api-key: the consumers' keys (derived from the seed
// as the agents derive them) are accepted, an unknown key is refused 401,
// and each verified key has its own bucket of 30.
func TestGatewayAPIKeysAndPerConsumerLimit(t *testing.T) {
	plan, h, _ := edgeGateway(t, "tenant-fairness", "per-api-key")
	sets := consumer.ForPlan(plan.Load, 7)
	key := func(s *consumer.Set, i int) http.Header { return http.Header{"X-Api-Key": {s.APIKey(i)}} }
	if w := send(h, http.MethodPost, "/v1/payments", http.Header{"X-Api-Key": {sets[0].UnknownAPIKey(0)}}); w.Code != http.StatusUnauthorized {
		t.Errorf("unknown key: %d, want 401", w.Code)
	}
	if w := send(h, http.MethodPost, "/v1/payments", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("no key: %d, want 401", w.Code)
	}
	noisy := sets[1]
	var ok, limited int
	for range 40 {
		switch w := send(h, http.MethodPost, "/v1/payments", key(noisy, 0)); w.Code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("noisy: %d %s", w.Code, w.Body)
		}
	}
	if ok != 30 || limited != 10 {
		t.Errorf("noisy consumer: %d answered, %d limited; want its bucket of 30", ok, limited)
	}
	if w := send(h, http.MethodPost, "/v1/payments", key(sets[0], 3)); w.Code != http.StatusOK {
		t.Errorf("a quiet consumer after the noisy one: %d, want 200 (a bucket of its own)", w.Code)
	}
}

// jwt-edge per-jwt-sub: tokens of the run's test issuer are verified
// against the JWKS in the gateway's ConfigMap; the attacker's bad ones
// are refused.
func TestGatewayJWTFromTheRenderedJWKS(t *testing.T) {
	plan, h, reached := edgeGateway(t, "jwt-edge", "per-jwt-sub")
	is, err := consumer.NewIssuer(7)
	if err != nil {
		t.Fatal(err)
	}
	route := plan.Gateway.Routes[0].Auth
	bearer := func(sub, bad string) http.Header {
		tok, err := is.Token(sub, route.Issuer, route.Audience, bad, testClock)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Authorization": {"Bearer " + tok}}
	}
	if w := send(h, http.MethodPost, "/v1/payments", bearer("customers-0", "")); w.Code != http.StatusOK {
		t.Fatalf("good token: %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{scenarios.BadExpired, scenarios.BadWrongAudience, scenarios.BadUnsigned, scenarios.BadUnknownKey} {
		if w := send(h, http.MethodPost, "/v1/payments", bearer("attacker-0", bad)); w.Code != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", bad, w.Code)
		}
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("%d requests reached the fleet, want the good one only", n)
	}
}

// cache-offload ttl-30s: a second lookup of a payment is the gateway's.
func TestGatewayResponseCache(t *testing.T) {
	_, h, reached := edgeGateway(t, "cache-offload", "ttl-30s")
	for i, want := range []string{"MISS", "HIT"} {
		w := send(h, http.MethodGet, "/v1/payments/p-1", nil)
		if w.Code != http.StatusOK || w.Header().Get(dataplane.HeaderCache) != want {
			t.Errorf("lookup %d: %d %s=%q, want 200 %s", i, w.Code, dataplane.HeaderCache, w.Header().Get(dataplane.HeaderCache), want)
		}
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("%d lookups reached the fleet, want 1", n)
	}
	if w := send(h, http.MethodPost, "/v1/payments", nil); w.Code != http.StatusOK || w.Header().Get(dataplane.HeaderCache) != "" {
		t.Errorf("create: %d %s=%q, want 200 and no cache", w.Code, dataplane.HeaderCache, w.Header().Get(dataplane.HeaderCache))
	}
}

// What a cluster cannot run as local does is refused, saying why.
func TestEdgeRefusals(t *testing.T) {
	for _, tc := range []struct{ scenario, variant, want string }{
		{"partner-quotas", "monthly-quota", "introspection is not available"},
		{"partner-quotas", "monthly-quota", "client-address rules are not available"},
		{"partner-quotas", "monthly-quota", "quotas are not available"},
		{"jwt-edge", "per-client-ip", "a limit per client address with consumers"},
		{"tenant-fairness", "per-client-ip", "a limit per client address with consumers"},
	} {
		plan := library(t, tc.scenario)
		i := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == tc.variant })
		_, err := Render(plan.ForVariant(i), i, 1, RenderOptions{Namespace: "n", RunID: "r"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s/%s: %v, want %q", tc.scenario, tc.variant, err, tc.want)
		}
	}
	for _, tc := range []struct{ scenario, variant string }{
		{"jwt-edge", "per-jwt-sub"}, {"jwt-edge", "global"}, {"tenant-fairness", "per-api-key"},
		{"gateway-burst", "token-bucket"}, {"cache-offload", "ttl-2s"},
	} {
		plan := library(t, tc.scenario)
		i := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == tc.variant })
		if is := issues(plan.ForVariant(i), i); len(is) > 0 {
			t.Errorf("%s/%s refused: %v", tc.scenario, tc.variant, is)
		}
	}
}

// The gateway's configuration names its edge middlewares in the local
// backend's order, and the per-consumer limit is the route's, not the
// core's header-keyed one.
func TestGatewayEdgeMiddlewaresInOrder(t *testing.T) {
	plan := library(t, "tenant-fairness")
	m := renderOf(t, plan.ForVariant(1), 1)
	fc := parseRendered(t, configMapNamed(t, m, "proxy-"+GatewayName))
	if fc.ConsumerRateLimit != nil {
		t.Errorf("consumerRateLimit %+v left in place", fc.ConsumerRateLimit)
	}
	var names []string
	for _, mw := range fc.Routes[0].Middlewares {
		names = append(names, mw.Name)
	}
	if want := []string{secure.MiddlewareAuth, secure.MiddlewareConsumerLimit}; !slices.Equal(names, want) {
		t.Errorf("middlewares %v, want %v", names, want)
	}
	var _ config.Config = fc.Config
}

// Consumer groups and a route's acl: tenant-fairness with the quiet
// merchants' first three in group gold, merchant 1 also in banned, and a
// route that allows gold and denies banned. The rendered gateway admits
// consumers 0 and 2, refuses 1 (denied) and 5 (in no allowed group) with
// 403 acl_denied, as local's does (dataplane.ACL's groups by consumer name).
func TestGatewayConsumerGroupsAndACL(t *testing.T) {
	file, src, err := scenarios.Open("tenant-fairness")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "    zone: a\n    routes:\n", "    zone: a\n    consumerGroups:\n      - {name: gold, workload: quiet, consumers: [0, 1, 2]}\n      - {name: banned, workload: quiet, consumers: [1]}\n    routes:\n", 1)
	text = strings.Replace(text, "auth: {type: apiKey, header: X-API-Key}\n", "auth: {type: apiKey, header: X-API-Key}\n        acl: {allow: [gold], deny: [banned]}\n", 1)
	plan, err := scenarios.LoadBytes(file, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Gateway.Routes[0].ACL == nil || len(plan.Gateway.ConsumerGroups) != 2 {
		t.Fatal("the edit did not take")
	}
	fleet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fleet.Close()
	m := renderOf(t, plan.ForVariant(0), 0)
	fc := parseRendered(t, configMapNamed(t, m, "proxy-"+GatewayName))
	upstreamAt(&fc, fleet.URL)
	h := buildProxy(t, fc).Handler()
	quiet := consumer.ForPlan(plan.Load, 7)[0]
	for i, want := range map[int]int{0: http.StatusOK, 1: http.StatusForbidden, 2: http.StatusOK, 5: http.StatusForbidden} {
		w := send(h, http.MethodPost, "/v1/payments", http.Header{"X-Api-Key": {quiet.APIKey(i)}})
		if w.Code != want {
			t.Errorf("consumer %s: %d, want %d", quiet.Name(i), w.Code, want)
		}
		if want == http.StatusForbidden && w.Header().Get(proxy.HeaderReason) != "acl_denied" {
			t.Errorf("consumer %s: reason %q, want acl_denied", quiet.Name(i), w.Header().Get(proxy.HeaderReason))
		}
	}
}
