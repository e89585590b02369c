package lifecycle

import (
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/retry"
)

// A trailers-only gRPC answer is HTTP 200: the retry policy's gRPC
// conditions judge it by its grpc-status, and HTTP conditions do not.
func TestRetryOnGRPCStatus(t *testing.T) {
	h := newHarness(t, setup{retry: retries(3, retry.OnUnavailable)})
	var r Request
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a")
	r.AnsweredGRPC(h.now, 1, 200, retry.GRPCUnavailable)
	want(t, "unavailable", h.actions(&r), "cancel 1; send 2 b retry")
	r.AnsweredGRPC(h.now, 2, 200, 5) // NOT_FOUND: not retried
	want(t, "not found", h.actions(&r), "forward 2")
	r.EndedGRPC(h.now, 2, false, 0)
	want(t, "events", h.events(), "sent try=1 ep=a; answered try=1 ep=a status=200 grpc=14; cancelled try=1 ep=a; "+
		"sent try=2 ep=b retry; answered try=2 ep=b status=200 grpc=5; forwarded try=2 ep=b status=200 grpc=5")

	h = newHarness(t, setup{retry: retries(3, retry.On5xx, retry.OnGatewayError)})
	want(t, "begin", h.begin(&r, Arrival{Replayable: true}), "send 1 a")
	r.AnsweredGRPC(h.now, 1, 200, retry.GRPCUnavailable)
	want(t, "http conditions leave a grpc answer alone", h.actions(&r), "forward 1")
	r.Ended(h.now, 1, false)

	// The simulator's form: the whole answer at once.
	h = newHarness(t, setup{retry: retries(2, retry.OnResourceExhausted)})
	h.begin(&r, Arrival{Replayable: true})
	r.CompletedGRPC(h.now, 1, 200, retry.GRPCResourceExhausted)
	want(t, "completed", h.actions(&r), "cancel 1; send 2 b retry")
	r.CompletedGRPC(h.now, 2, 200, 0)
	want(t, "completed ok", h.actions(&r), "forward 2")
	if !r.Over() {
		t.Fatal("not over after CompletedGRPC")
	}
}

// Outlier detection and the breaker take a gRPC answer's status as the HTTP
// status it stands for: UNAVAILABLE is a gateway failure, NOT_FOUND a
// success, and a status in the trailers counts as one in the head.
func TestGRPCStatusIsJudgedAsHTTP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		head     int // grpc-status of the head
		trailer  int // grpc-status of the trailers
		failures bool
	}{
		{name: "ok", failures: false},
		{name: "unavailable in head", head: retry.GRPCUnavailable, failures: true},
		{name: "unavailable in trailers", trailer: retry.GRPCUnavailable, failures: true},
		{name: "deadline exceeded", trailer: retry.GRPCDeadlineExceeded, failures: true},
		{name: "internal", head: retry.GRPCInternal, failures: true},
		{name: "not found", head: 5, failures: false},
		{name: "resource exhausted", trailer: retry.GRPCResourceExhausted, failures: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{endpoints: 1,
				outlier: &outlier.Config{ConsecutiveGatewayFailure: 2, EnforcingConsecutiveGatewayFailure: 100, Consecutive5xx: 2, MaxEjectionPercent: 100},
				breaker: &breaker.Config{ConsecutiveFailures: 2, SleepWindow: time.Second}})
			var r Request
			for range 2 {
				h.begin(&r, Arrival{})
				r.AnsweredGRPC(h.now, 1, 200, tc.head)
				want(t, "answered", h.actions(&r), "forward 1")
				r.EndedGRPC(h.now, 1, false, tc.trailer)
			}
			open := h.cl.Breaker.State(h.now) == breaker.Open
			if h.cl.Ejected("a") != tc.failures || open != tc.failures {
				t.Fatalf("ejected %v, breaker open %v, want both %v: %s", h.cl.Ejected("a"), open, tc.failures, h.events())
			}
		})
	}
}

func TestGRPCToHTTP(t *testing.T) {
	for code, status := range map[int]int{0: 200, 1: 499, 2: 500, 4: 504, 5: 404, 7: 403, 8: 429, 12: 501, 13: 500, 14: 503, 16: 401, 17: 500, -1: 500} {
		if got := GRPCToHTTP(code); got != status {
			t.Errorf("GRPCToHTTP(%d) = %d, want %d", code, got, status)
		}
	}
}
