// Package load offers a scenario's load to a real gateway: the workloads of
// a plan turned into HTTP requests on loopback, paced by vegeta
// (github.com/tsenart/vegeta/v12), each answer turned into one bench.Result
// for the aggregator and one vegeta result for the run folder's
// results.bin, and every payment the clients saw acknowledged kept for the
// ledger audit. The local and containers backends share it, and so do the
// load agents of a distributed run (bench/agent), each offering a shard of
// the load (Config.Shard) to a gateway that may be off loopback only
// because the agent opted in (Config.AllowRemoteTarget).
//
// # Arrival processes
//
// Open-loop workloads (a rate or a shape) are sent by this package's own
// sender (openLoop), one per workload, on the schedule of a vegeta.Pacer.
// Pace(elapsed, hits) is a pure function of time in vegeta's design, and
// every pacer here keeps it so; that lets the schedule be computed from the
// pacer alone, each request's intended send time, independent of when a
// worker gets round to sending it:
//
//   - constant arrivals: vegeta's ConstantPacer (constant), LinearPacer
//     (ramp: the rate goes from "from" to "to" over the window; a ramp from
//     zero is paced exactly, t = √(2n/slope), since LinearPacer spaces hits
//     by the current rate), SinePacer
//     (sine: mean + amplitude·sin(2π·t/period), starting at the mean and
//     rising, as the scenario format defines it) and StepPacer (step:
//     piecewise-constant rates; vegeta has none);
//   - Poisson arrivals: PoissonPacer, exponential gaps drawn from a seeded
//     math/rand/v2 stream, thinned (Lewis and Shedler) for a rate that
//     varies. Arrival n is a function of the seed and n alone, so two runs
//     with one seed offer the same schedule; the simulator draws the same
//     stream the same way (scenarios.ArrivalSeed), so it offers that
//     schedule too.
//
// Closed-loop workloads (users) are users.count goroutines, each sending a
// request, waiting for its answer, thinking for a draw of thinkTime and
// sending again, until the workload's window ends; a user starts after one
// think time, as the simulator staggers them.
//
// # Requests
//
// Each request carries the workload's method, path, Host, headers and body,
// and a few headers of the bench's own: X-Request-Id (unique in the run;
// the proxy keeps it, which lets the gateway's tries be counted per
// request), X-Meshbench-Key (the request's hash key: one of keySpace keys,
// or a fresh one when keySpace is 0, as the simulator's key) and
// X-Meshbench-Client (the client identity keyed rate limits see). A POST
// to /v1/payments is a payment: it gets a fresh Idempotency-Key (unless the
// workload sets one, or its target says idempotencyKeys: false) and a
// fresh X-Client-Payment-Id, and its body is completed into a valid
// payment (amount, currency, a card token per hash key, a merchant) when
// the workload gives none or only part of one.
//
// A path with {payment} (scenarios.PaymentPlaceholder) looks a created
// payment up: each request names one of the payments the run's clients
// saw acknowledged so far (the Location of their 2xx answers), drawn
// uniformly by a hash of the seed and the request id; before the first
// acknowledgement it names "pay_none-yet", which the fleet answers 404.
//
// # Results
//
// Start is measured from Config.Epoch, the run's time zero. For an
// open-loop request it is the intended send time, and Latency runs from it
// to the end of the body, so a load generator that falls behind its
// schedule (every worker busy) adds its delay to the latency rather than
// hiding the queueing it should measure (coordinated omission); Lag is how
// late it actually sent (Result.Scheduled, Result.Lag). vegeta's attacker
// stamps a hit when a worker picks it up, which is why it is not used to
// send. A closed-loop user's request is stamped when it is sent: it has no
// schedule. Workload and Route name the workload and the gateway route its
// target matches (bench.RouteOf). Kind comes from the status
// and the X-Meshbench-Reason the proxy and the fleet answer with (a 503
// circuit_open is breaker_open, no_healthy_upstream is no_endpoint,
// queue_full is queue_full, a 504 is a timeout, ...), or from the error
// text when no answer came (timeout, reset, refused, other). Instance is
// the answer's X-Meshbench-Instance. Retries and Hedges come from
// Config.Attempts, which the backend fills from the gateway's transport.
//
// The open loop waits for each send time with internal/precise (a Go
// timer, then a timerfd for the last 1.5ms): with every thread idle the Go
// runtime waits in its network poller for whole milliseconds, which made
// a lightly loaded run's requests leave 0.5ms late at the median (uniform
// between 0 and 1ms) on the project's 2-core VM; on the flagship the
// lag's p50 went from 0.27 to 0.13ms. What lag is left is part of every
// latency a real backend measures; `meshbench calibrate` measures it
// (profile key lag) and the simulator charges it. Closed-loop users think
// on Go timers.
package load
