// Package balancer chooses the upstream endpoint for each request: the load
// balancing policies of meshbench's data plane, shared by the real proxy and
// the discrete-event simulator.
//
// Every balancer is a pure state machine that is told the time. Update,
// SetAvailable and Pick take now as an argument and randomised balancers take a
// *rand.Rand (math/rand/v2); nothing here reads the clock, sleeps, starts a
// goroutine, uses a channel or does I/O, so the proxy can pass the wall clock and
// the simulator its virtual clock to the very same object. For a given seed
// and sequence of calls the picks are identical.
//
// The shape follows grpc-go's balancer/picker split: Update and SetAvailable
// rebuild an immutable snapshot of the available endpoints under a mutex and
// publish it atomically; Pick reads the snapshot without locking. Per-endpoint
// state (active request count, latency EWMA, slow-start start time) lives
// outside the snapshot, keyed by endpoint ID, so it survives endpoint-set
// changes for every endpoint that stays. Pick returns a Pick value whose Done
// reports the outcome back, like grpc-go's PickResult.Done.
//
// The balancers, selected by name (see Names):
//
//   - round_robin: endpoints in turn, as Envoy's and nginx's round robin.
//   - weighted_round_robin: nginx's smooth weighted round robin.
//   - random: a uniformly random endpoint as Envoy's random, or one drawn in
//     proportion to weight when weights differ.
//   - least_request: Envoy's power of N choices over active requests, with
//     Envoy's active-request bias for unequal weights.
//   - peak_ewma: Finagle's (and Linkerd's) peak-sensitive EWMA of latency
//     times outstanding requests, with power of two choices.
//   - ring_hash: Karger et al. consistent hashing with virtual nodes, sized
//     as Envoy's ring hash (minimum and maximum ring size).
//   - maglev: the lookup table of Google's Maglev paper (Eisenbud et al.,
//     NSDI 2016), weighted as Envoy's maglev.
//   - ip_hash: nginx's ip_hash: the hashed client address modulo the total
//     weight, rehashing past unavailable endpoints so that other keys stay.
//
// Options common to all of them are Envoy's slow start (a new or recovered
// endpoint's weight ramps up over a window) and locality awareness (prefer the
// caller's zone; spill to other zones proportionally as its healthy share,
// scaled by the overprovisioning factor, drops below 100%, as Envoy's
// priority failover). HashKey derives the key of the hash balancers from an
// HTTP request, as Envoy's route hash policies do.
//
// Unavailable endpoints (removed by health checking or ejected by outlier
// detection, see SetAvailable) are never picked; when none is available Pick
// returns ErrNoEndpoint. There is no panic mode: Envoy's panic threshold,
// which sends traffic to unhealthy hosts, is deliberately not modelled.
package balancer
