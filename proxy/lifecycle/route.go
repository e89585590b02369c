package lifecycle

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// MaxLive is the most tries one request may have out at once: the first
// and up to MaxLive-1 hedged copies.
const MaxLive = 4

// Route is what a gateway route, or a sidecar's service, applies to the
// requests it takes: the policy objects of the request side, shared by every
// request on it and by any number of goroutines. Its fields are set when it
// is built (Check tells whether they make sense) and read-only afterwards.
type Route struct {
	// Name names the route in events.
	Name string
	// Limits are asked in order when a request arrives; the first that
	// refuses answers 429.
	Limits []Limit
	// Clusters are where requests go: one, or a weighted split (Envoy's
	// weighted_clusters) with one weight per cluster in Weights.
	Clusters []*Cluster
	Weights  []int
	// Timeout bounds the whole request, retries and hedges included, as
	// Envoy's route timeout; zero or negative means none. A caller's own
	// deadline (Arrival.Budget) can only shorten it.
	Timeout time.Duration
	// Retry is the retry policy; nil means one round of tries. Its
	// PerTryTimeout bounds each try's wait for its answer's head.
	Retry *retry.Policy
	// Budget, when not nil, bounds retries and hedges to a share of
	// requests (Finagle's and Linkerd's retry budget).
	Budget *retry.Budget
	// Hedger, when not nil, sends hedged copies within each round.
	Hedger *retry.Hedger
	// Observe, when not nil, is told every decision of every request on the
	// route, in order: metrics, logs and conformance tests hang here.
	Observe func(Event)
}

// Limit is one rate limit a route applies: Limiter for every request, or
// Keyed with one limiter per consumer (Arrival.Consumer).
type Limit struct {
	Limiter ratelimit.Limiter
	Keyed   *ratelimit.Keyed
	// Reason is the answer's reason: RateLimited or ConsumerRateLimited.
	Reason string
}

// Check reports what is wrong with the route as built.
func (rt *Route) Check() error {
	var errs []error
	if len(rt.Clusters) == 0 {
		errs = append(errs, errors.New("no cluster"))
	}
	for i, c := range rt.Clusters {
		if c == nil || c.Balancer == nil {
			errs = append(errs, fmt.Errorf("cluster %d has no balancer", i))
		}
	}
	if len(rt.Clusters) > 1 {
		if len(rt.Weights) != len(rt.Clusters) {
			errs = append(errs, fmt.Errorf("%d weights for %d clusters", len(rt.Weights), len(rt.Clusters)))
		}
		for i, w := range rt.Weights {
			if w <= 0 {
				errs = append(errs, fmt.Errorf("weight %d of cluster %d: must be positive", w, i))
			}
		}
	}
	for i, l := range rt.Limits {
		if (l.Limiter == nil) == (l.Keyed == nil) {
			errs = append(errs, fmt.Errorf("limit %d: set Limiter or Keyed", i))
		}
	}
	if h := rt.Hedger; h != nil && h.MaxHedges() > MaxLive-1 {
		errs = append(errs, fmt.Errorf("hedging: at most %d hedges, got %d", MaxLive-1, h.MaxHedges()))
	}
	return errors.Join(errs...)
}

// pick chooses the cluster of one request.
func (rt *Route) pick(r *rand.Rand) *Cluster {
	if len(rt.Clusters) == 1 {
		return rt.Clusters[0]
	}
	total := 0
	for _, w := range rt.Weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range rt.Weights {
		if n < w {
			return rt.Clusters[i]
		}
		n -= w
	}
	return rt.Clusters[len(rt.Clusters)-1]
}

// Arrival is what the caller knows of a request when it arrives.
type Arrival struct {
	// Key is the request's hash key for ring_hash, maglev and ip_hash (the
	// caller draws a random one when the request has none).
	Key uint64
	// Consumer keys the per-consumer limits: a client address, an API key.
	Consumer string
	// Budget is the caller's own deadline, counted from the arrival, when
	// HasBudget (a deadline header, grpc-timeout).
	Budget    time.Duration
	HasBudget bool
	// Replayable says the request can be sent more than once (its body,
	// if any, is held): without it there are no retries and no hedges.
	Replayable bool
}
