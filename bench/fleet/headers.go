package fleet

import (
	"encoding/json"
	"net/http"
)

// Header names the fleet reads or writes.
const (
	// HeaderIdempotencyKey names a payment attempt so that retries are
	// processed once (Stripe; draft-ietf-httpapi-idempotency-key-header).
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed is "true" on an answer served from the
	// idempotency store, as Stripe's Idempotent-Replayed.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
	// HeaderClientPaymentID names the client's logical payment, the same
	// across its retries whatever their keys; the ledger stores it so the
	// audit sees double charges.
	HeaderClientPaymentID = "X-Client-Payment-Id"
	// HeaderPaymentID carries the payment's id on payments' calls to the
	// ledger, which is sharded by it: the callers' proxies hash it, so a
	// payment's write and every later lookup of it reach the same ledger
	// replica. A payment's id is a function of its idempotency key, so
	// every attempt with one key goes to one replica too.
	HeaderPaymentID = "X-Payment-Id"
	// HeaderInstance names the replica that answered.
	HeaderInstance = "X-Meshbench-Instance"
	// HeaderReason says why the replica itself refused a request
	// (queue_full, injected_error); the proxy uses the same header.
	HeaderReason = "X-Meshbench-Reason"
	// HeaderDeadline is the caller's remaining time budget in whole
	// milliseconds, as the proxy sends it; payments shortens its own
	// deadline to it and passes what is left to its calls.
	HeaderDeadline = "X-Meshbench-Deadline-Ms"
	// HeaderRequestID is propagated from the request to downstream calls.
	HeaderRequestID = "X-Request-Id"
)

// Reasons sent in HeaderReason.
const (
	ReasonQueueFull     = "queue_full"     // 503: every worker busy and the queue full
	ReasonInjectedError = "injected_error" // an error drawn from the error rate or an errors fault
	ReasonShuttingDown  = "shutting_down"  // 503: the service is closing
)

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error   string   `json:"error"`
	Details []string `json:"details,omitempty"`
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeRawJSON(w, status, mustJSON(v))
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// Two writes rather than append: b may be a stored answer that
	// concurrent replays share.
	_, _ = w.Write(b)
	_, _ = w.Write(newline)
}

// writeError answers status with an error body.
func writeError(w http.ResponseWriter, status int, msg string, details ...string) {
	writeJSON(w, status, errorBody{Error: msg, Details: details})
}

var newline = []byte{'\n'}

// maxBody bounds request bodies; a payment is a few hundred bytes.
const maxBody = 64 << 10

// mustJSON marshals one of the fleet's own plain types.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fleet: marshal: " + err.Error())
	}
	return b
}
