package lifecycle

import (
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/retry"
)

// A streamed body that outgrows the replay buffer commits the request to
// the try sending it: its failure is the answer, not retried.
func TestCommittedStopsRetries(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.OnReset, retry.OnUnavailable)})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a")
	r.Committed(h.at(time.Millisecond), 1)
	want(t, "committed", h.actions(&r), "")
	r.Failed(h.at(2*time.Millisecond), 1, Reset)
	want(t, "reset", h.actions(&r), "respond 502 upstream_reset")
	want(t, "events", h.events(), "sent try=1 ep=a; committed try=1; failed try=1 ep=a failure=reset; responded status=502 failure=reset reason=upstream_reset")

	// A retryable gRPC answer of the committed try is final.
	var r2 Request
	h.begin(&r2, Arrival{Replayable: true})
	r2.Committed(h.now, 1)
	r2.AnsweredGRPC(h.now, 1, 200, 14)
	want(t, "unavailable", h.actions(&r2), "forward 1")
}

// Before the buffer overflows a streamed request is retried like any.
func TestUncommittedStreamRetries(t *testing.T) {
	h := newHarness(t, setup{retry: retries(2, retry.OnUnavailable)})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.AnsweredGRPC(h.now, 1, 200, 14)
	want(t, "retried", h.actions(&r), "cancel 1; send 2 b retry")
	r.AnsweredGRPC(h.now, 2, 200, 0)
	want(t, "answer", h.actions(&r), "forward 2")
	// The answer's head went downstream: committed anyway, nothing to do.
	r.Committed(h.now, 2)
	want(t, "committed while forwarding", h.actions(&r), "")
	r.EndedGRPC(h.now, 2, false, 0)
	if !r.Over() {
		t.Fatal("not over")
	}
}

// Committed while hedged copies are out keeps the try that has the body
// and cancels the others; no further hedge is sent.
func TestCommittedCancelsOtherHedges(t *testing.T) {
	h := newHarness(t, setup{retry: retries(2, retry.OnReset), thresholds: &breaker.Thresholds{},
		hedge: &retry.HedgeConfig{Delay: 10 * time.Millisecond, MaxHedges: 2}})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a; wait 10ms")
	r.Wake(h.at(10 * time.Millisecond))
	want(t, "hedge", h.actions(&r), "send 2 b hedge; wait 10ms")
	r.Committed(h.at(15*time.Millisecond), 2)
	want(t, "committed to the hedge", h.actions(&r), "cancel 1")
	r.Wake(h.at(20 * time.Millisecond))
	want(t, "no more hedges", h.actions(&r), "")
	r.Failed(h.at(25*time.Millisecond), 2, Reset)
	want(t, "not retried", h.actions(&r), "respond 502 upstream_reset")
	if n := h.cl.Admission.InUse(breaker.Requests); n != 0 {
		t.Fatalf("%d requests held", n)
	}

	// Committed to a try that already failed: nothing is cancelled, the
	// others end the round, which is not retried.
	var r2 Request
	h.begin(&r2, Arrival{Replayable: true})
	r2.Wake(h.at(40 * time.Millisecond))
	want(t, "hedge", h.actions(&r2), "send 2 a hedge; wait 10ms")
	r2.Failed(h.now, 1, Reset)
	r2.Committed(h.now, 1)
	want(t, "committed to a failed try", h.actions(&r2), "")
	r2.Failed(h.now, 2, Reset)
	want(t, "round over", h.actions(&r2), "respond 502 upstream_reset")
}

// Committed while backing off (no driver should, as no try reads the body
// then) answers with the round's failure rather than retry.
func TestCommittedWhileBackingOff(t *testing.T) {
	h := newHarness(t, setup{retry: &retry.Policy{Attempts: 3, RetryOn: []string{retry.OnReset}, Backoff: retry.Backoff{Base: 100 * time.Millisecond}}})
	var r Request
	h.begin(&r, Arrival{Replayable: true})
	r.Failed(h.now, 1, Reset)
	if acts := h.actions(&r); len(acts) < 4 || acts[:4] != "wait" {
		t.Fatalf("no back-off: %q", acts)
	}
	r.Committed(h.now, 1)
	want(t, "committed", h.actions(&r), "respond 502 upstream_reset")
	if !r.Over() {
		t.Fatal("not over")
	}
}
