// Package lifecycle is one request's way through the data plane's policies,
// as a single state machine that is told the time. It is the sequence that
// composes the leaf policies — route and consumer rate limits, the
// cluster's concurrency limiter, Envoy's admission thresholds, the outcome
// breaker, the balancer, per-try and request deadlines, the retry policy
// with its budget and back-off, hedging, outlier detection — and the
// simulator's gateway and sidecars, the proxy's general path and its
// HTTP/1.1 fast path all drive the same Request; none of them decides
// anything of its own. docs/architecture.md shows where it sits.
//
// # Shape
//
// A Request follows the sans-I/O style of protocol libraries such as
// python-hyper's h11: the caller owns sockets, timers and goroutines, tells
// the Request what happened (Begin, Answered, Failed, Ended, Wake, Expire,
// ClientGone, Committed), each with the time it happened, and then does what
// Actions returns, in order (the slice is the Request's until its next
// event):
//
//	Send     start try Try on Endpoint, giving up on its answer's head
//	         after Timeout (the per-try timeout when PerTry, else what is
//	         left of the request's deadline)
//	Wait     call Wake after Timeout (a retry's back-off or a hedge's delay)
//	Cancel   stop try Try: its answer is not wanted (a lost hedge, a
//	         retried answer to drain, a client that left)
//	Forward  answer the client with try Try's answer, then report its end
//	         with Ended
//	Respond  answer the client with the proxy's own Status and Reason
//
// A Request never reads the clock, sleeps, starts goroutines or does I/O,
// and it allocates nothing: the caller keeps it (by pointer; it must not be
// copied once begun) and reuses it for the next request.
//
// # Semantics, chosen once
//
// The thresholds and the breaker count tries, not requests, as Envoy's
// circuit breaking counts upstream requests: every try holds one unit of
// max_requests while it is out and a retry also one of max_retries, and
// every try asks the outcome breaker first and reports its own outcome to
// it (resilience4j's recommended order, Retry around CircuitBreaker). A
// retry is decided as Envoy decides it: the retry policy (retry_on, the
// number of attempts), a jittered back-off that must end before the
// request's deadline, a token from the retry budget and a unit of
// max_retries; a retry refused at that point leaves the last try's outcome
// as the answer. When the back-off has passed, the retry asks the breaker,
// max_requests and the balancer like any try, and a refusal there is the
// answer (503 circuit_open, overflow or no_healthy_upstream).
//
// Hedging (Dean and Barroso, "The Tail at Scale") runs within one retry
// round: the round's first try goes out at once and, while nothing has
// answered, another copy every Hedger.Delay, each paying a retry-budget
// token, up to MaxHedges copies. The first answer the retry policy would
// not retry wins and the other copies are cancelled unrecorded; a failure
// does not win while a copy is still out; when every copy has failed the
// latest failure ends the round and the retry decision follows. A hedge
// that cannot be sent ends the round's hedging.
//
// A try's outcome reaches the balancer (Pick.Done), outlier detection and
// the breaker when the lifecycle is done with it: at its failure, when a
// retry or a better answer replaces its answer, or for the answer that is
// forwarded, at the end of its body (a body that breaks counts as a
// local-origin failure). Tries cancelled because another answered, or
// because the client left, report nothing but Done. The request's deadline
// (the route timeout, cut to the caller's own) passing before an answer
// fails every try still out as a timeout and answers 504 request_timeout.
//
// # gRPC
//
// A gRPC answer is HTTP 200 with its outcome in grpc-status, in the head
// of a trailers-only answer (how servers report most errors) or in the
// trailers after the messages. Three events carry it: AnsweredGRPC (the
// head's grpc-status), EndedGRPC (the trailers') and CompletedGRPC (both at
// once, for the simulator); Answered, Ended and Completed are these with
// code 0, which stands for OK and for no gRPC status alike. The retry
// policy's gRPC conditions (unavailable, cancelled, deadline-exceeded,
// internal, resource-exhausted) judge the head's code only, as Envoy's
// retry-grpc-on: once a body has started the answer is the client's.
// Outlier detection, the breaker, the concurrency limiter and the hedger
// judge a code other than OK as the HTTP status GRPCToHTTP maps it to
// (Envoy's grpcToHttpStatus): UNAVAILABLE counts as a 503 gateway failure,
// DEADLINE_EXCEEDED a 504, INTERNAL, UNKNOWN and DATA_LOSS a 500 and
// UNIMPLEMENTED a 501, while the caller's errors (NOT_FOUND,
// INVALID_ARGUMENT, RESOURCE_EXHAUSTED ...) count as successes. Events
// show the code as Event.GRPC. The deadline a gRPC caller sets with
// grpc-timeout reaches the Request as Arrival.Budget, like any caller's.
//
// # Streams
//
// A request whose body streams while its tries are out (a gRPC client or
// bidirectional stream) is Replayable while the caller holds every byte
// the client has sent, as Envoy's router holds a request up to its buffer
// limit. When the body outgrows that, the caller reports Committed with
// the try that went on sending it: from then on there are no retries and
// no hedges, the round's other tries still waiting for a head are
// cancelled, and that try's outcome is the answer. The forwarded answer
// commits the request too: once the client has its head nothing is
// retried.
package lifecycle
