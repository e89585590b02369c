package local

import (
	"context"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/dataplane"
)

// consumerLimits runs the real gateway with two authenticated routes and
// workloads of consumers: route signed verifies ES256 JWTs of the run's
// test issuer (issuer and audience enforced), route keyed checks hashed
// API keys; quiet and keyed send a share of bad credentials, noisy floods
// with one valid token.
const consumerLimits = `apiVersion: meshbench/v1
kind: Scenario
name: consumer-limits
description: Do per-consumer limits key on the verified consumer and the real source address?
seed: 5
duration: 3s
backends: [local]
topology:
  gateway:
    routes:
      - {name: keyed, match: {method: POST, path: /v1/payments, headers: {X-Plan: keyed}}, service: payments, auth: {type: apiKey}}
      - {name: signed, match: {method: POST, path: /v1/payments}, service: payments, auth: {type: jwt, issuer: https://issuer.test, audience: payments}}
  services:
` + paymentFleet + `load:
  - name: quiet
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 40/s
    consumers: {count: 4, identity: jwt, badCredentials: {expired: 10%, wrongAudience: 10%, unsigned: 10%, unknownKey: 10%}}
  - name: noisy
    target: {method: POST, path: /v1/payments, keySpace: 1000}
    rate: 100/s
    consumers: {count: 1, identity: jwt}
  - name: keyed
    target: {method: POST, path: /v1/payments, keySpace: 1000, headers: {X-Plan: keyed}}
    rate: 30/s
    consumers: {count: 2, identity: apiKey, badCredentials: {unknownKey: 25%}}
policy:
  timeouts: {request: 5s}
  rateLimit: {type: token_bucket, rate: 20/s, burst: 5, key: jwt_sub}
variants:
  - name: per-sub
  - name: per-key
    policy: {rateLimit: {key: api_key}}
  - name: per-ip
    policy: {rateLimit: {key: client_ip}}
`

// TestConsumerLimitsAndJWT: on the real proxy, bad tokens and unknown API
// keys are refused 401 in their share of the load; a limit keyed jwt_sub,
// api_key or client_ip counts each consumer on its own, so the noisy
// consumer is limited and the quiet ones are not; requests a key cannot
// name (jwt routes under api_key) share one limiter.
func TestConsumerLimitsAndJWT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local backend for three variants")
	}
	plan := loadPlan(t, consumerLimits)
	dir := t.TempDir()
	sum, err := bench.Run(context.Background(), plan, bench.RunOptions{Backends: []string{"local"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Runs {
		if r.Error != "" {
			t.Fatalf("%s: %s", r.Variant, r.Error)
		}
	}
	type tally struct{ n, ok, unauth, limited int }
	got := map[string]map[string]*tally{} // variant → workload
	eachResult(t, dir, func(r vegeta.Result) {
		variant := strings.Split(r.Attack, "/")[1]
		id := r.Headers.Get("X-Request-Id")
		w, _, _ := strings.Cut(id, "-")
		if got[variant] == nil {
			got[variant] = map[string]*tally{}
		}
		x := got[variant][w]
		if x == nil {
			x = &tally{}
			got[variant][w] = x
		}
		x.n++
		switch {
		case r.Code >= 200 && r.Code < 300:
			x.ok++
		case r.Code == 401:
			x.unauth++
		case r.Code == 429:
			x.limited++
		}
	})
	share := func(k, n int) float64 { return float64(k) / float64(max(n, 1)) }
	for _, v := range []string{"per-sub", "per-key", "per-ip"} {
		q, n, k := got[v]["quiet"], got[v]["noisy"], got[v]["keyed"]
		if q == nil || n == nil || k == nil {
			t.Fatalf("%s: workloads %v", v, got[v])
		}
		t.Logf("%s: quiet %+v noisy %+v keyed %+v", v, *q, *n, *k)
		// 40% of quiet's tokens are bad, 25% of keyed's keys unknown;
		// noisy's one token is good.
		if s := share(q.unauth, q.n); s < 0.25 || s > 0.55 {
			t.Errorf("%s: quiet refused 401 %.2f, want about 0.40", v, s)
		}
		if s := share(k.unauth, k.n); s < 0.1 || s > 0.4 {
			t.Errorf("%s: keyed refused 401 %.2f, want about 0.25", v, s)
		}
		if n.unauth != 0 {
			t.Errorf("%s: noisy's valid token refused %d times", v, n.unauth)
		}
		switch v {
		case "per-sub", "per-ip":
			// Each quiet consumer sends 6 good tokens/s under a 20/s limit
			// of its own; noisy 100/s.
			if q.limited != 0 || share(n.limited, n.n) < 0.5 {
				t.Errorf("%s: quiet limited %d, noisy %d of %d: want quiet untouched, noisy mostly limited", v, q.limited, n.limited, n.n)
			}
		case "per-key":
			// Each keyed consumer sends ~11 good keys/s under its own
			// 20/s; the jwt routes' requests have no API key and share
			// one 20/s limiter.
			if k.limited != 0 || share(q.limited+n.limited, q.ok+q.limited+n.ok+n.limited) < 0.5 {
				t.Errorf("per-key: keyed limited %d; jwt requests limited %d of %d: want keyed untouched, jwt ones sharing one limiter", k.limited, q.limited+n.limited, q.n+n.n)
			}
		}
	}
}

// TestSourceIPHashSpreads: a hash balancer keyed on the source address
// sends every request of a load without consumers (all from 127.0.0.1) to
// one replica, and spreads consumers, each from its own 127.1.0.0/16
// address, over the replicas.
func TestSourceIPHashSpreads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local backend twice")
	}
	for _, tc := range []struct {
		name      string
		consumers string
		min, max  int
	}{
		{"one address", "", 1, 1},
		{"forty consumers", "    consumers: {count: 40}\n", 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: source-hash
duration: 1500ms
topology:
  gateway:
    routes: [{name: all, service: api}]
  services:
    - {name: api, replicas: 4, concurrency: 8, serviceTime: 1ms}
load:
  - name: browse
    target: {path: /v1/products/1, keySpace: 1000}
    rate: 80/s
`+tc.consumers+`policy:
  balancer: {type: ring_hash, hashKey: {sourceIP: true}}
`)
			sink := &collect{}
			if _, err := (Backend{}).Run(context.Background(), bench.Job{Plan: plan, Seed: 1}, sink); err != nil {
				t.Fatal(err)
			}
			used := map[string]int{}
			for _, r := range sink.rs {
				if r.OK() {
					used[r.Instance]++
				}
			}
			if len(used) < tc.min || len(used) > tc.max {
				t.Errorf("replicas used %v, want %d to %d", used, tc.min, tc.max)
			}
		})
	}
}

// TestForgedConsumerHeaders: on a route without authentication a client
// cannot pick its jwt_sub limiter by sending the header the gateway's
// authentication sets: two workloads forging two subs share the one
// anonymous limiter.
func TestForgedConsumerHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the local backend")
	}
	plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: forged
duration: 2s
topology:
  gateway:
    routes: [{name: all, service: api}]
  services:
    - {name: api, replicas: 2, concurrency: 8, serviceTime: 1ms}
load:
  - name: alice
    target: {path: /v1/products/1, headers: {X-Meshbench-Jwt-Sub: alice}}
    rate: 40/s
    arrival: constant
  - name: bob
    target: {path: /v1/products/1, headers: {X-Meshbench-Jwt-Sub: bob}}
    rate: 40/s
    arrival: constant
policy:
  rateLimit: {type: token_bucket, rate: 20/s, burst: 1, key: jwt_sub}
`)
	sink := &collect{}
	if _, err := (Backend{}).Run(context.Background(), bench.Job{Plan: plan, Seed: 1}, sink); err != nil {
		t.Fatal(err)
	}
	kinds := sink.kinds()
	t.Logf("%v", kinds)
	// One 20/s limiter for 80/s: about 40 admitted in 2s; a limiter per
	// forged sub would admit about 80.
	if ok := kinds[bench.KindOK]; ok < 25 || ok > 60 {
		t.Errorf("%d admitted, want about 40 (one shared limiter)", ok)
	}
}

func TestForgetConsumerHead(t *testing.T) {
	var stripped []string
	if !(forgetConsumer{}).CheckHead(func(string) (string, int) { return "", 0 }, func(n string) { stripped = append(stripped, n) }) ||
		strings.Join(stripped, ",") != dataplane.HeaderJWTSub+","+dataplane.HeaderAPIKeyConsumer {
		t.Errorf("stripped %v", stripped)
	}
}
