// Package fleet is the payment system that meshbench's real backends put
// behind the proxy: four small HTTP services that together take a card
// payment, with the queueing, failure and fault behaviour of the
// simulator's replica model, so that the same scenario can be measured in
// simulation and for real.
//
// # The payment flow
//
//	client ──POST /v1/payments──► payments ──┬─► risk   POST /v1/risk    (score)
//	          Idempotency-Key                ├─► fraud  POST /v1/fraud   (approve, or 402 decline)
//	                                         │      ▲ in parallel
//	                                         └─► ledger POST /v1/ledger/entries (after both)
//
// payments validates the request (422 when the body is not a valid payment,
// 400 without an Idempotency-Key), calls risk and fraud concurrently, and
// when fraud approves records the payment in the ledger under the same
// Idempotency-Key. It answers 201 with the payment record (id, status
// approved, risk score). When fraud declines, payments answers 402 with
// status declined and records nothing: the ledger holds money that moved,
// and a declined payment moved none.
//
// A payment's id is a function of its idempotency key ("pay_" and a hash
// of it), so every attempt with one key names the same payment; an
// approved payment's answer points at it with Location. GET
// /v1/payments/{id} reads a payment back: payments asks the ledger (GET
// /v1/ledger/payments/{id}) and answers 200 with the payment as recorded,
// or 404 when there is no such payment, declined ones included. Both
// lookups run in the replica model, as payments and writes do. The ledger
// may be sharded: payments sends X-Payment-Id on every ledger call, and a
// mesh that hashes it sends a payment's write and its lookups to one
// ledger replica.
//
// # Idempotency
//
// Keys follow Stripe's Idempotency-Key and the IETF httpapi draft
// (draft-ietf-httpapi-idempotency-key-header): the first request with a key
// is processed; a repeat with the same key and the same payment gets the
// stored answer again (a 201 is replayed as 200, a 402 as 402, both with
// Idempotent-Replayed: true); a repeat with a different payment is refused
// with 422. Requests with a key still being processed wait for the first
// one to finish instead of processing it twice. Only final answers (approved
// or declined) are stored; a failure (5xx, a timeout) is forgotten, so a
// retry processes the payment again. The store is in memory and bounded
// (the least recently used key is forgotten first); behind it the ledger is
// idempotent by key on disk, so a retry that outlives the store, or reaches
// another payments replica, still charges once.
//
// With Config.OptionalIdempotencyKey a request without a key gets a fresh
// random key: this models clients that retry without keys, each retry is a
// new payment, and the ledger records double charges. Clients name each
// logical payment with X-Client-Payment-Id (or the body's clientPaymentId);
// the ledger stores it, and [Listing.Audit] counts two records of one
// client payment as a duplicate whatever their keys.
//
// # The replica model
//
// Every role serves its API as one replica of the simulator's model (an
// M/G/c/K station): a request first crosses any injected latency (a fault
// adds it to the hop into the replica, as the simulator's latency fault
// does), then waits for one of Config.Concurrency workers in a FIFO queue of
// Config.Queue places, and is answered 503 with X-Meshbench-Reason:
// queue_full when the queue is full. A worker holds the request for a
// service time drawn from Config.ServiceTime (multiplied by a slow fault's
// factor), then answers Config.ErrorRate of requests with 500, and
// otherwise does the role's work, downstream calls included: a
// thread-per-request server blocked on synchronous calls, as in the
// simulator. Every wait respects the request's context; a caller that gives
// up frees its worker. The waits end within about 0.1ms of their time
// (internal/precise), where a Go timer on an idle runtime ends up to 1ms
// late: on the flagship (least_request, 20s) that lateness had put 0.6ms
// on the local backend's p50 (14.8 → 13.7–13.8ms with precise waits).
//
// Randomness that shapes the measurement (service times, injected errors,
// risk scores) comes from math/rand/v2 streams seeded by Config.Seed, so a
// replica given the same seed and the same sequence of requests draws the
// same values. Identifiers (payment ids, generated keys) come from
// crypto/rand, because they must be unique across replicas that may share a
// seed.
//
// # Faults
//
// /admin/fault injects the faults of the scenario format into a running
// replica: extra latency, a slow factor, an error rate and status, a hang
// (requests, health checks included, are accepted and not answered until
// the hang is cleared: a paused process), and a crash (the process exits;
// as a library, the service closes its listeners and aborts every request).
// POST merges the keys given into the current fault, GET shows it, DELETE
// clears it. /admin/fault and /metrics are not affected by faults, so the
// bench can always observe and heal a replica.
//
// # Endpoints of every role
//
//	/healthz   liveness: 200 while the process serves (hangs under a hang fault)
//	/readyz    readiness: 200 while serving and not shutting down
//	/metrics   Prometheus metrics of this replica (its own registry)
//	/admin/fault
//
// Every answer of the role's API carries X-Meshbench-Instance with the
// replica's name, which the bench reports as the answering instance.
package fleet
