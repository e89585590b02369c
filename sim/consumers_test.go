package sim

import (
	"context"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/scenarios"
)

// loadTally counts one load's answers by outcome.
type loadTally struct{ n, ok, unauth, limited int }

func (t loadTally) availability() float64 { return float64(t.ok) / float64(max(t.n, 1)) }

// runByLoad runs variant of p and tallies each load's answers.
func runByLoad(t *testing.T, p *scenarios.Plan, variant int) []loadTally {
	t.Helper()
	s, err := specFromPlan(p, variant, p.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	m, err := build(s, &c)
	if err != nil {
		t.Fatal(err)
	}
	tally := make([]loadTally, len(s.loads))
	m.answered = func(load int32, r bench.Result) {
		x := &tally[load]
		x.n++
		switch {
		case r.OK():
			x.ok++
		case r.Status == 401:
			x.unauth++
		case r.Kind == bench.KindStatus429:
			x.limited++
		}
	}
	m.start()
	if _, err := m.run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return tally
}

// TestTenantFairness: with one noisy consumer, a global limit takes as
// much from the quiet consumers as from the noisy one, and a limit per API
// key or per client address takes from the noisy one alone.
func TestTenantFairness(t *testing.T) {
	p := loadLibrary(t, "tenant-fairness")
	p = p.WithDuration(p.Duration / 3)
	const quiet, noisy = 0, 1
	for i, x := range p.Variants {
		got := runByLoad(t, p, i)
		t.Logf("%s: quiet %.3f (%d), noisy %.3f (%d)", x.Name, got[quiet].availability(), got[quiet].n, got[noisy].availability(), got[noisy].n)
		switch x.Name {
		case "global":
			// 200/s of 450/s offered, whoever sends it.
			if a := got[quiet].availability(); a < 0.35 || a > 0.55 {
				t.Errorf("global: quiet availability %.3f, want about 0.44", a)
			}
		default:
			if a := got[quiet].availability(); a < 0.98 {
				t.Errorf("%s: quiet availability %.3f, want at least 0.98", x.Name, a)
			}
			if a := got[noisy].availability(); a > 0.15 {
				t.Errorf("%s: noisy availability %.3f, want about 30/300", x.Name, a)
			}
		}
	}
}

// TestJWTEdge: the attacker's bad tokens are refused 401 in their share
// whatever the limit; the stolen valid token eats the customers' share of
// a global limit, and a limit per sub or per address caps it alone.
func TestJWTEdge(t *testing.T) {
	p := loadLibrary(t, "jwt-edge")
	p = p.WithDuration(p.Duration / 3)
	const customers, attacker = 0, 1
	for i, x := range p.Variants {
		got := runByLoad(t, p, i)
		a := got[attacker]
		t.Logf("%s: customers %.3f (%d), attacker %d: %d unauthorised, %d limited", x.Name, got[customers].availability(), got[customers].n, a.n, a.unauth, a.limited)
		if got[customers].unauth != 0 {
			t.Errorf("%s: %d customers' requests refused 401", x.Name, got[customers].unauth)
		}
		if share := float64(a.unauth) / float64(a.n); share < 0.57 || share > 0.63 {
			t.Errorf("%s: %.3f of the attacker's requests refused 401, want 0.60", x.Name, share)
		}
		c := got[customers].availability()
		if x.Name == "global" && c > 0.8 || x.Name != "global" && c < 0.98 {
			t.Errorf("%s: customers' availability %.3f", x.Name, c)
		}
	}
}

// TestConsumerKeys: a keyed limit counts each request against the consumer
// the real gateway would: client_ip the consumer's source address, api_key
// and jwt_sub the consumer the route verified, "" where the route does not
// authenticate that way.
func TestConsumerKeys(t *testing.T) {
	w := scenarios.Workload{Name: "w", Consumers: &scenarios.Consumers{Count: 3, Identity: scenarios.IdentityJWT}}
	set := consumer.ForPlan([]scenarios.Workload{w}, 1)[0]
	jwtRoute := &route{spec: &routeSpec{auth: &authSpec{typ: scenarios.AuthJWT}}}
	keyRoute := &route{spec: &routeSpec{auth: &authSpec{typ: scenarios.AuthAPIKey, header: "X-API-Key"}}}
	for _, tc := range []struct {
		name    string
		r       *route
		key     string
		cs      *consumer.Set
		headers map[string]string
		want    string
	}{
		{"client_ip of a consumer", jwtRoute, scenarios.LimitKeyClientIP, set, nil, "127.1.0.3"},
		{"client_ip without consumers", jwtRoute, scenarios.LimitKeyClientIP, nil, nil, "127.0.0.1"},
		{"jwt_sub of a jwt consumer", jwtRoute, scenarios.LimitKeyJWTSub, set, nil, "w-2"},
		{"jwt_sub on an apiKey route", keyRoute, scenarios.LimitKeyJWTSub, nil, map[string]string{"X-API-Key": "k"}, ""},
		{"api_key of a fixed key", keyRoute, scenarios.LimitKeyAPIKey, nil, map[string]string{"X-API-Key": "k"}, consumer.KeyName("k")},
		{"api_key on a jwt route", jwtRoute, scenarios.LimitKeyAPIKey, set, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &load{spec: &loadSpec{consumers: tc.cs, headers: tc.headers}}
			tc.r.key = tc.key
			ex := &exchange{who: consumer.Pick{Consumer: 2}}
			if tc.cs == nil {
				ex.who = consumer.Pick{}
			}
			if got := l.consumerKey(ex, tc.r); got != tc.want {
				t.Errorf("consumer %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSourceIPHash: hashKey.sourceIp hashes the address each request
// comes from, as on the real backends: one address (127.0.0.1) without
// consumers, so one replica takes everything; the consumers' own addresses
// with them, so the load spreads.
func TestSourceIPHash(t *testing.T) {
	src := func(consumers string) string {
		return `apiVersion: meshbench/v1
kind: Scenario
name: source-hash
duration: 5s
topology:
  gateway:
    routes: [{name: all, service: payments}]
  services:
    - {name: payments, replicas: 4, concurrency: 8, serviceTime: 1ms}
load:
  - target: {path: /, keySpace: 1000}
    rate: 200/s
` + consumers + `
policy:
  balancer: {type: ring_hash, hashKey: {sourceIP: true}}
`
	}
	for _, tc := range []struct {
		name      string
		consumers string
		replicas  int
	}{
		{"no consumers", "", 1},
		{"50 consumers", "    consumers: {count: 50}", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := scenarios.LoadBytes("source-hash.yaml", []byte(src(tc.consumers)))
			if err != nil {
				t.Fatal(err)
			}
			s, err := specFromPlan(p, 0, p.Seed)
			if err != nil {
				t.Fatal(err)
			}
			used := map[string]int{}
			for _, r := range runSpec(t, s) {
				used[r.Instance]++
			}
			if len(used) != tc.replicas {
				t.Errorf("replicas used %v, want %d", used, tc.replicas)
			}
		})
	}
}
