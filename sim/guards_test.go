package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// runGuards runs variant 0 of the plan src and returns the model, each
// load's tally and the results.
func runGuards(t *testing.T, src string) (*model, []loadTally, []bench.Result) {
	t.Helper()
	p, err := scenarios.LoadBytes(t.Name()+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := specFromPlan(p, 0, p.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	m, err := build(s, &c)
	if err != nil {
		t.Fatal(err)
	}
	tally := make([]loadTally, len(s.loads))
	var rs []bench.Result
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
		rs = append(rs, r)
	}
	m.start()
	if _, err := m.run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return m, tally, rs
}

const guardBase = `apiVersion: meshbench/v1
kind: Scenario
name: guards
duration: 4s
topology:
  gateway:
    routes: [{name: all, service: api%s}]
  services:
    - {name: api, replicas: 2, concurrency: 8, serviceTime: 1ms}
load:
  - name: w
    target: {path: /v1/things}
    rate: 100/s
    arrival: constant
%s
`

// TestQuotaRenewsOnVirtualCalendar: a quota's window turns where startAt
// puts it on the run's virtual calendar: 2s into a 4s run, each half of
// the run gets the quota's 50 requests and the rest are 429, whether the
// period is a minute or a 31-day January.
func TestQuotaRenewsOnVirtualCalendar(t *testing.T) {
	for _, tc := range []struct {
		name, quota string
		ok          int
	}{
		{"minute", "{limit: 50, period: minute, startAt: 58s}", 100},
		{"month", "{limit: 50, period: month, startAt: 743h59m58s}", 100},
		{"day, no turn", "{limit: 50, period: day, startAt: 12h}", 50},
		{"second", "{limit: 10, period: second}", 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got, _ := runGuards(t, fmt.Sprintf(guardBase, "", "policy:\n  quota: "+tc.quota))
			w := got[0]
			if w.n != 400 || w.ok != tc.ok || w.limited != 400-tc.ok {
				t.Errorf("%d requests, %d ok, %d limited; want 400, %d, %d", w.n, w.ok, w.limited, tc.ok, 400-tc.ok)
			}
		})
	}
}

// TestIPRestrictionByConsumerAddress: each consumer comes from its own
// address, counted from 127.1.0.1; a deny list of one address refuses
// exactly that consumer's share, and an allow list without 127.0.0.1
// refuses a load without consumers.
func TestIPRestrictionByConsumerAddress(t *testing.T) {
	_, got, rs := runGuards(t, fmt.Sprintf(guardBase, ", ipRestriction: {deny: [127.1.0.1]}", "    consumers: {count: 4, shares: [25%, 25%, 25%, 25%]}"))
	forbidden := 0
	for _, r := range rs {
		if r.Status == 403 {
			forbidden++
		}
	}
	if share := float64(forbidden) / float64(got[0].n); share < 0.2 || share > 0.3 {
		t.Errorf("%.3f refused, want consumer 0's quarter", share)
	}
	_, got, _ = runGuards(t, fmt.Sprintf(guardBase, ", ipRestriction: {allow: [127.1.0.0/16]}", ""))
	if got[0].ok != 0 {
		t.Errorf("%d requests from 127.0.0.1 passed an allow list of 127.1.0.0/16", got[0].ok)
	}
}

// TestIntrospectionCache: a token is introspected when the cache does not
// hold it, and the request waits the call's latency; a cacheTtl of 0 asks
// about every request.
func TestIntrospectionCache(t *testing.T) {
	const latency = 10 * time.Millisecond
	for _, tc := range []struct {
		ttl                  string
		minMisses, maxMisses int64
	}{
		// Four tokens, each cached 500ms from its answer: about 4 × 4s/510ms misses.
		{"500ms", 28, 40},
		{"0s", 400, 400},
	} {
		t.Run("cacheTtl="+tc.ttl, func(t *testing.T) {
			route := fmt.Sprintf(", auth: {type: introspection, issuer: https://as.test, introspection: {cacheTtl: %s, latency: 10ms}}", tc.ttl)
			m, got, rs := runGuards(t, fmt.Sprintf(guardBase, route, "    consumers: {count: 4, identity: jwt}"))
			c := m.gw.routes[0].intro
			if c.hits+c.misses != 400 || got[0].ok != 400 {
				t.Fatalf("%d hits, %d misses, %d ok: want 400 requests, all ok", c.hits, c.misses, got[0].ok)
			}
			if c.misses < tc.minMisses || c.misses > tc.maxMisses {
				t.Errorf("%d misses, want %d to %d", c.misses, tc.minMisses, tc.maxMisses)
			}
			slow := int64(0)
			for _, r := range rs {
				if r.Latency >= latency {
					slow++
				}
			}
			if slow != c.misses {
				t.Errorf("%d requests took the call's %s, want the %d misses", slow, latency, c.misses)
			}
		})
	}
}

// TestIntrospectionBadTokens: tokens the authorization server does not
// vouch for (expired, unknown key), for another audience, or missing are
// 401, in their shares.
func TestIntrospectionBadTokens(t *testing.T) {
	route := ", auth: {type: introspection, issuer: https://as.test, audience: api}"
	_, got, _ := runGuards(t, fmt.Sprintf(guardBase, route, "    consumers: {count: 3, identity: jwt, badCredentials: {expired: 10%, wrongAudience: 10%, unknownKey: 10%, missing: 10%}}"))
	w := got[0]
	if share := float64(w.unauth) / float64(w.n); share < 0.33 || share > 0.47 || w.ok+w.unauth != w.n {
		t.Errorf("%d of %d refused 401, %d ok: want about 40%% refused, the rest ok", w.unauth, w.n, w.ok)
	}
}

// TestACLByConsumerGroups: the acl admits the verified consumers of its
// allowed groups unless a denied group holds them too: of four equal
// consumers, gold holds 0 and 1 and suspended holds 1, so only consumer
// 0's quarter passes and the rest is 403.
func TestACLByConsumerGroups(t *testing.T) {
	src := `apiVersion: meshbench/v1
kind: Scenario
name: acl
duration: 4s
topology:
  gateway:
    consumerGroups:
      - {name: gold, consumers: [0, 1]}
      - {name: suspended, workload: w, consumers: [1]}
    routes:
      - {name: all, service: api, auth: {type: apiKey}, acl: {allow: [gold], deny: [suspended]}}
  services:
    - {name: api, replicas: 2, concurrency: 8, serviceTime: 1ms}
load:
  - name: w
    target: {path: /v1/things}
    rate: 100/s
    arrival: constant
    consumers: {count: 4, identity: apiKey, shares: [25%, 25%, 25%, 25%]}
`
	_, got, rs := runGuards(t, src)
	forbidden := 0
	for _, r := range rs {
		if r.Status == 403 {
			forbidden++
		}
	}
	w := got[0]
	if w.ok+forbidden != w.n {
		t.Fatalf("%d ok, %d forbidden of %d", w.ok, forbidden, w.n)
	}
	if share := float64(w.ok) / float64(w.n); share < 0.2 || share > 0.3 {
		t.Errorf("%.3f passed, want consumer 0's quarter", share)
	}
}
