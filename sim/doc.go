// Package sim is meshbench's discrete-event simulator: it runs a scenario
// plan's fleet, gateway, sidecars, clients and faults in virtual time, with
// the real policy objects of the data plane — the same balancer, rate
// limiter, circuit breaker, outlier detector, retry policy, retry budget,
// hedger and health tracker the proxy uses, told the virtual time instead of
// the wall clock — and emits one bench.Result per client request. Backend
// adapts it to bench.Backend; Engine and Stream are its reusable parts.
//
// Its gateway and sidecars make no decision of their own: each request is
// a proxy/lifecycle Request, which the simulator drives by scheduling its
// sends, timers and answers as events, as the real proxy drives it with
// connections. The policy objects come from the variant's policy through
// bench/dataplane (the translation the real backends configure their
// proxies with) and proxy/config's builders; sim/conformance_test.go runs
// scripted requests through the simulator and the real proxy and requires
// the same decisions. docs/architecture.md shows how the pieces fit. The
// package imports nothing that imports net/http.
//
// # Engine
//
// Engine is a priority queue of small value-type events ordered by virtual
// time, ties broken by schedule order, over a radix heap (O(1) amortised
// push and pop; no allocation per event). Every component draws from its own
// PCG stream seeded from the run's seed and the component's name (Stream),
// so adding a component does not shift another's draws and variants of a
// scenario see the same arrivals (common random numbers). A run is a pure
// function of plan, variant and seed: the same inputs give the same result
// stream, byte for byte.
//
// # What is modelled
//
//   - Clients: open-loop arrivals, constant (evenly spaced) or Poisson, at a
//     constant, ramp, step or sine rate (time-varying Poisson rates by
//     thinning); closed-loop users that wait for each answer and think.
//     Poisson arrivals come from the load generator's own stream
//     (scenarios.ArrivalSeed, drawn as bench/load's PoissonPacer draws
//     it), so a run offers the arrivals a real backend's run with the
//     same seed offers, to the nanosecond.
//   - Network: one latency draw per hop (client↔gateway, gateway→replica,
//     replica→replica and back) from the scenario's distributions by zone
//     pair (per-zone overrides, crossZone); per-hop loss, which surfaces as a
//     timeout at the waiting proxy; partitions between node sets, which make
//     connects time out after the connect timeout (or hang until the
//     request's timeouts). The client hop never loses.
//   - Gateway: route matching as Envoy (first match of exact path, prefix or
//     whole-path regex plus method, host and headers; no match is 404),
//     authentication decided as the real gateway decides it, without
//     cryptography (a workload's consumers' good credentials pass and their
//     bad ones are 401, as bench/consumer draws them; a fixed API key passes
//     when present and held, a fixed bearer token never; token introspection
//     with its cache, a miss holding the request for a draw of the call's
//     latency), the route's ipRestriction and acl (403) and the policy's
//     quota on its virtual calendar (429), with proxy/access's and
//     proxy/quota's own objects (guards.go), then the route's
//     lifecycle: the policy's and the route's rate limits (429
//     rate_limited, consumer_rate_limited, keyed by the consumer's source
//     address or verified identity), and the cluster's concurrency
//     limit (503 concurrency_limited) before each try.
//   - Proxies (the gateway's clusters and the sidecars'): before each try
//     Envoy's admission thresholds (503 overflow), the circuit breaker (503
//     circuit_open) and a balancer pick (503 no_healthy_upstream); per-try
//     and overall timeouts; retries by the retry policy after its jittered
//     back-off under the retry budget, as Envoy orders them; hedged copies
//     within a retry round, whose losers are cancelled; outlier detection
//     (every settled try recorded, Sweep on its interval as an event,
//     ejections applied to the balancer) and, at the gateway, active health
//     checks on the tracker's schedule. A transport failure is answered as
//     the proxy answers it: 502 upstream_reset, 503
//     upstream_connect_failure, 504 upstream_connect_timeout or
//     upstream_timeout, 504 request_timeout.
//   - Replicas: an M/G/c/K station — concurrency workers in front of a
//     bounded FIFO queue (overflow answers 503 queue_full); a request holds
//     its worker for its service time and then for its downstream calls,
//     stage by stage (parallel calls of a stage concurrently), each through
//     the caller's sidecar; errorRate answers 500; a failed call fails the
//     caller with the status its sidecar returned. A request whose caller
//     stopped waiting is dropped when it is dequeued, and a request whose
//     caller gave up during its work makes no further calls. A client's
//     request takes the service time and calls of the entry service's
//     first operation that matches its method and path (found once per
//     workload, whose requests all have one method and path), or the
//     service's own; a call from another service always takes the callee's
//     own.
//   - Faults on the timeline: kill (in-flight and queued requests reset, new
//     connections refused; with for, a restart at its end), restart (down
//     for downtime, then fresh), pause (stop-the-world: no work progresses,
//     nothing is answered, arrivals wait), slow (service time × factor for
//     work started during the fault), errors (a share of answers with a
//     status), latency (added to every hop into the target), partition
//     (between target and peer, or everything else), and zone targets
//     (zone:b) for any of them; a zone partition includes the gateway when
//     it is in the zone.
//   - The gateway's edge features (edge.go), before a route's lifecycle:
//     the route's fault filter (abort and delay faults, proxy/fault's own
//     decision on the route's stream) and its response cache (a hit, an
//     answer for the request's key stored less than ttl ago, is answered
//     by the gateway with no try; status lookups key on a payment drawn
//     among those the clients saw created); and discovery through a
//     registry (discovery.go): heartbeats from each replica's start, a
//     killed replica's registration lapsing ttl after its last heartbeat,
//     the gateway's clusters relisted every second.
//
// # Queueing assumptions
//
// Service times are independent draws per request from the service's
// distribution; queues are FIFO with no priorities; workers are identical; a
// proxy adds no processing time of its own (unless the security costs, a
// calibration profile or a host model below say so); a hop's latency does not depend
// on load (no bandwidth or congestion model). With exponential service
// times, zero network latency and Poisson arrivals a replica is exactly an
// M/M/c queue, which the tests check against theory (M/M/1, Erlang C, and the
// supermarket model for least_request with two choices).
//
// # Connections and protocols
//
// A cluster's connections are modelled only as far as Envoy's thresholds
// see them (see pool): over HTTP/1.1 each try in flight holds a connection,
// so max_connections bounds the cluster's concurrency, tries beyond it wait
// FIFO as pending requests, and beyond max_pending they are refused (503
// overflow); a service with protocol grpc is reached over HTTP/2, where
// every try to an endpoint is a stream on its one connection, so
// max_connections bounds only how many endpoints are reachable and
// max_requests bounds concurrency. Without a circuitBreaker block the
// thresholds are unbounded and neither protocol ever waits. Head-of-line
// blocking is not modelled: a simulated answer has no body for a slow
// stream to hold up others behind, and the network has no loss that TCP
// would retransmit in order.
//
// # Security costs
//
// The CPU that security costs the proxies is charged as delay on the hop
// of the try that pays it (hopcost.go), with costs measured on this
// project's machines by benchmarks of the proxy's own code: the gateway's
// ES256 verification of a route's jwt token before a request's first try;
// under policy.security.mtls the TLS records of every try, and a mutual
// handshake plus its round trip on every new upstream connection. Only
// then are connections modelled as the proxy's pool keeps them: reused
// when idle, closed when a try fails or is abandoned, and the idle ones
// closed at every certificate renewal (rotateEvery), as bench/local's mesh
// does. Without a security block nothing changes and nothing is drawn.
//
// # Host
//
// A scenario's host block (scenarios.Host) turns on a model of the machine
// the real backends share (host.go): the load generator's, the gateway's,
// the sidecars' and the replicas' CPU per request, and the security costs
// above, run as jobs on the host's cores under egalitarian processor
// sharing (Kleinrock; Harchol-Balter, ch. 22), so that latency grows as
// the machine fills and the run shows where it saturates. A replica's
// service time stays waiting (the fleet sleeps it); its CPU comes first
// and holds the worker. Without a host block nothing is scheduled and the
// stream is what it was before the model existed.
//
// # Calibration
//
// A plan may carry a calibration profile (bench/calibration, measured by
// `meshbench calibrate` on the machine of the real backend): the
// simulator then charges the measured costs of the load generator, the
// proxy's path (fast, general, mutual TLS) and the replica on every hop,
// and drops the scenario's network latency where the local backend makes
// plain loopback of it (calibration.go, docs/calibration.md). Without a
// profile nothing is charged and nothing is drawn.
//
// # What is not modelled
//
// Proxy CPU and queueing apart from the security costs above and the host
// model (without a host block the gateway and sidecars are infinitely fast;
// mesh: sidecar and proxyless behave alike), TCP (connection set-up,
// retransmission, idle timeouts), service discovery (a killed replica stays
// in its clusters until health checking or outlier detection removes it),
// active health checks from sidecars (the gateway's clusters only), hedging
// at sidecars, Envoy's retry host predicates, JWT signatures and claims, and
// request bodies. Every calling replica has a sidecar of its own, with its
// own balancer state, thresholds, breaker and outlier detection per
// callee, as on the real backends; a large fleet of callers therefore
// holds callers × callees clusters (hash balancers' tables included).
//
// # End of a run
//
// Load stops at the plan's duration. Requests in flight then are run to
// their answer, each bounded by its request timeout, for at most the longest
// request timeout (capped at a minute, for plans without timeouts) plus a
// second; any still open after that are answered as timeouts. Every issued
// request therefore yields exactly one Result, and Outcome.End is the plan's
// duration. Cancelling the context stops the run at once: results of
// requests that had not finished are not emitted.
package sim
