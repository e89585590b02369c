package dataplane

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/scenarios"
	"net/netip"
	"reflect"
)

func TestRouteCache(t *testing.T) {
	c := RouteCache(&scenarios.RouteCache{Routes: []string{"status"}, TTL: 30 * time.Second, MaxEntries: 500})
	if c.DefaultTTL != 30*time.Second || c.MaxEntries != 500 || c.StatusHeader != HeaderCache {
		t.Errorf("cache config %+v", c)
	}
}

// TestRouteFault checks the translation of an abort and a delay into the
// fault filter's config, and that the filter draws the delay from the
// fault's distribution.
func TestRouteFault(t *testing.T) {
	target := scenarios.Target{Route: "status", Replica: scenarios.AllReplicas}
	d := scenarios.Constant(40 * time.Millisecond)
	abort := &scenarios.Fault{Action: scenarios.ActionAbort, Target: target, Status: 503, Percentage: 10}
	delay := &scenarios.Fault{Action: scenarios.ActionDelay, Target: target, Delay: &d, Percentage: 100}
	cfg, err := RouteFault(abort, delay)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Abort == nil || cfg.Abort.Status != 503 || cfg.Abort.Percentage != 10 || cfg.Delay == nil || cfg.Delay.Percentage != 100 {
		t.Fatalf("config %+v", cfg)
	}
	f, err := fault.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if dec := f.Decide(rand.New(rand.NewPCG(3, 4))); dec.Delay != 40*time.Millisecond {
		t.Errorf("decision %+v, want the 40ms delay", dec)
	}
	if cfg, err := RouteFault(nil, nil); err != nil || cfg.Abort != nil || cfg.Delay != nil {
		t.Errorf("no faults: %+v %v", cfg, err)
	}
}

func TestQuotaKey(t *testing.T) {
	addr := netip.MustParseAddr("127.1.0.3")
	jwtC := auth.Consumer{ID: "w-2", Method: auth.MethodJWT}
	oauth := auth.Consumer{ID: "w-2", Method: auth.MethodOAuth2}
	keyC := auth.Consumer{ID: "w-1", Method: auth.MethodAPIKey}
	for _, tc := range []struct {
		name, key string
		c         auth.Consumer
		verified  bool
		want      string
	}{
		{"consumer of a jwt", scenarios.QuotaKeyConsumer, jwtC, true, "w-2"},
		{"consumer of an api key", scenarios.QuotaKeyConsumer, keyC, true, "w-1"},
		{"consumer falls back to the address", scenarios.QuotaKeyConsumer, auth.Consumer{}, false, "ip:127.1.0.3"},
		{"client_ip", scenarios.LimitKeyClientIP, jwtC, true, "ip:127.1.0.3"},
		{"jwt_sub of a jwt", scenarios.LimitKeyJWTSub, jwtC, true, "w-2"},
		{"jwt_sub of an introspected token", scenarios.LimitKeyJWTSub, oauth, true, "w-2"},
		{"jwt_sub of an api key", scenarios.LimitKeyJWTSub, keyC, true, ""},
		{"api_key of an api key", scenarios.LimitKeyAPIKey, keyC, true, "w-1"},
		{"api_key of a jwt", scenarios.LimitKeyAPIKey, jwtC, true, ""},
	} {
		if got := QuotaKey(tc.key, tc.c, tc.verified, addr); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestACLGroupsByConsumerName(t *testing.T) {
	var topo scenarios.Topology
	load := []scenarios.Workload{
		{Name: "a", Consumers: &scenarios.Consumers{Count: 3}},
		{Name: "b", Consumers: &scenarios.Consumers{Count: 2}},
		{Name: "c"},
	}
	topo.Gateway.ConsumerGroups = []scenarios.ConsumerGroup{
		{Name: "gold", Consumers: []int{0, 2}},
		{Name: "b-only", Workload: "b", Consumers: []int{1}},
	}
	got := ACL(&topo, load, &scenarios.ACL{Allow: []string{"gold"}, Deny: []string{"b-only"}})
	want := map[string][]string{"gold": {"a-0", "a-2", "b-0"}, "b-only": {"b-1"}}
	if !reflect.DeepEqual(got.Groups, want) || got.Allow[0] != "gold" || got.Deny[0] != "b-only" {
		t.Errorf("groups %v, want %v", got.Groups, want)
	}
}

func TestIntrospectionParams(t *testing.T) {
	a := &scenarios.Auth{Type: scenarios.AuthIntrospection, Issuer: "https://as.test", Audience: "payments",
		Introspection: &scenarios.Introspection{CacheTTL: 500 * time.Millisecond}}
	p := IntrospectionParams(a, "http://127.0.0.1:9/introspect", "id", "secret")
	if p.Type != auth.TypeIntrospection || p.CacheTTL != 500*time.Millisecond || p.NegativeTTL != 500*time.Millisecond ||
		p.Audiences[0] != "payments" || p.Issuer != "https://as.test" || p.ClientID != "id" {
		t.Errorf("%+v", p)
	}
	a.Introspection.CacheTTL = 0
	if p := IntrospectionParams(a, "http://127.0.0.1:9/", "id", "s"); p.CacheTTL >= 0 || p.NegativeTTL >= 0 {
		t.Errorf("cacheTtl 0: %+v, want the cache off", p)
	}
}
