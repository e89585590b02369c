package balancer

import (
	"errors"
	"math/rand/v2"
	"time"
)

// ErrNoEndpoint is returned by Pick when no endpoint is available.
var ErrNoEndpoint = errors.New("balancer: no available endpoint")

// Endpoint is one upstream instance as the balancer sees it.
type Endpoint struct {
	// ID is the stable identity that per-endpoint state is kept under across
	// updates, e.g. "payments[0]" or "127.0.0.1:8081". Hash balancers hash it
	// to place the endpoint, so keys follow the ID, not the address.
	ID string
	// Addr is the dial address (proxy); it may be empty in the simulator.
	Addr string
	// Zone is the endpoint's locality, compared with Locality.LocalZone.
	Zone string
	// Weight is the load-balancing weight; 0 or negative means 1.
	Weight int
	// Tag is opaque to the balancer: the caller's own index, handed back in
	// picks so that the caller need not look the ID up.
	Tag int
}

// weight returns the endpoint's effective weight, at least 1.
func (e Endpoint) weight() int {
	if e.Weight <= 0 {
		return 1
	}
	return e.Weight
}

// Balancer chooses endpoints. Implementations are safe for concurrent use.
// Pick and Pick.Done take no lock (atomics only), except that round_robin and
// weighted_round_robin take a short per-zone mutex while a slow-start ramp
// runs; Update and SetAvailable serialise on a mutex and publish a new
// snapshot, whose cost grows with the set (maglev fills its whole table).
type Balancer interface {
	// Update replaces the endpoint set. State of endpoints whose ID stays
	// (active requests, latency estimate, availability, slow-start start
	// time) is kept; new endpoints are available and, unless the balancer had
	// no endpoints, start their slow-start window at now. Later duplicates of
	// an ID are ignored.
	Update(now time.Time, eps []Endpoint)
	// SetAvailable marks the endpoint with the given ID available or not, for
	// health checking and outlier ejection. Unavailable endpoints are never
	// picked. An endpoint that becomes available again re-enters slow start,
	// as an Envoy host that passes health checks again. Unknown IDs are
	// ignored.
	SetAvailable(now time.Time, id string, ok bool)
	// Pick chooses an endpoint for a request at now. key is the request hash
	// used by ring_hash, maglev and ip_hash (ignored by the others; it need
	// not be well mixed). r supplies randomness to random, least_request and
	// peak_ewma; it may be nil for the other balancers. Pick returns
	// ErrNoEndpoint when no endpoint is available.
	Pick(now time.Time, key uint64, r *rand.Rand) (Pick, error)
}

// Pick is the outcome of Balancer.Pick: the chosen endpoint and the handle
// through which the caller reports completion, as grpc-go's PickResult.Done.
// It is a small value; picking allocates nothing. The zero Pick has a zero
// Endpoint and a no-op Done.
type Pick struct {
	e     *entry
	st    *state // set when track is not zero
	track uint8
}

// What a pick feeds back on Done.
const (
	trackActive  uint8 = 1 << iota // active request count (least_request, peak_ewma)
	trackLatency                   // latency estimate (peak_ewma)
)

// Endpoint returns the chosen endpoint.
func (p Pick) Endpoint() Endpoint {
	if p.e == nil {
		return Endpoint{}
	}
	return p.e.ep
}

// Ref returns the chosen endpoint without copying it, or nil for the zero
// Pick. It points into the balancer's immutable view of the endpoint set:
// the caller must not change it.
func (p Pick) Ref() *Endpoint {
	if p.e == nil {
		return nil
	}
	return &p.e.ep
}

// Done reports that the request finished at now after latency. Call it
// exactly once per successful Pick. least_request releases the active request;
// peak_ewma also folds latency into the endpoint's cost. err is accepted for
// symmetry with the proxy's call site and ignored: as in Finagle, failures are
// the business of outlier detection, which ejects through SetAvailable.
func (p Pick) Done(now time.Time, latency time.Duration, err error) {
	if p.track&trackActive != 0 {
		p.st.active.Add(-1)
	}
	if p.track&trackLatency != 0 {
		p.st.latency.observe(now, latency)
	}
}
