package load

import (
	"net/http"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name   string
		status int
		reason string
		err    string
		want   bench.Kind
	}{
		{"created", 201, "", "", bench.KindOK},
		{"replayed", 200, "", "", bench.KindOK},
		{"declined payment", 402, "", "402 Payment Required", bench.KindOK},
		{"unprocessable", 422, "", "422 Unprocessable Entity", bench.KindStatus4xx},
		{"no route", 404, "no_route", "404 Not Found", bench.KindStatus4xx},
		{"route limiter", 429, "rate_limited", "", bench.KindStatus429},
		{"consumer limiter", 429, "consumer_rate_limited", "", bench.KindStatus429},
		{"bare 429", 429, "", "", bench.KindStatus429},
		{"breaker open", 503, "circuit_open", "", bench.KindBreakerOpen},
		{"envoy threshold", 503, "overflow", "", bench.KindBreakerOpen},
		{"concurrency limit", 503, "concurrency_limited", "", bench.KindBreakerOpen},
		{"no endpoint", 503, "no_healthy_upstream", "", bench.KindNoEndpoint},
		{"replica queue full", 503, "queue_full", "", bench.KindQueueFull},
		{"upstream reset", 502, "upstream_reset", "", bench.KindReset},
		{"connect failure", 503, "upstream_connect_failure", "", bench.KindRefused},
		{"connect timeout", 504, "upstream_connect_timeout", "", bench.KindTimeout},
		{"per-try timeout", 504, "upstream_timeout", "", bench.KindTimeout},
		{"route timeout", 504, "request_timeout", "", bench.KindTimeout},
		{"504 from a replica", 504, "", "", bench.KindTimeout},
		{"injected error", 500, "injected_error", "", bench.KindStatus5xx},
		{"shutting down", 503, "shutting_down", "", bench.KindStatus5xx},
		{"bare 502", 502, "", "", bench.KindStatus5xx},
		{"client timeout", 0, "", `Post "http://127.0.0.1:1/v1/payments": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, bench.KindTimeout},
		{"i/o timeout", 0, "", "read tcp 127.0.0.1:5->127.0.0.1:6: i/o timeout", bench.KindTimeout},
		{"refused", 0, "", `Post "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, bench.KindRefused},
		{"reset", 0, "", "read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer", bench.KindReset},
		{"EOF", 0, "", `Post "http://127.0.0.1:1/": EOF`, bench.KindReset},
		{"broken pipe", 0, "", "write: broken pipe", bench.KindReset},
		{"server closed idle", 0, "", "http: server closed idle connection", bench.KindReset},
		{"something else", 0, "", "tls: handshake failure", bench.KindOther},
		{"no error text", 0, "", "", bench.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.status, tt.reason, tt.err); got != tt.want {
				t.Errorf("KindOf(%d, %q, %q) = %s, want %s", tt.status, tt.reason, tt.err, got, tt.want)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	epoch := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   vegeta.Result
		want bench.Result
	}{
		{
			name: "answered by a replica after a retry",
			in: vegeta.Result{
				Timestamp: epoch.Add(1500 * time.Millisecond), Latency: 12 * time.Millisecond, Code: 201,
				Headers: http.Header{"X-Meshbench-Instance": {"payments[2]"}, headerRetries: {"1"}},
			},
			want: bench.Result{Start: 1500 * time.Millisecond, Latency: 12 * time.Millisecond, Status: 201, Kind: bench.KindOK, Instance: "payments[2]", Retries: 1},
		},
		{
			name: "hedged",
			in: vegeta.Result{
				Timestamp: epoch.Add(time.Second), Latency: time.Millisecond, Code: 200,
				Headers: http.Header{"X-Meshbench-Instance": {"payments[0]"}, headerHedges: {"2"}},
			},
			want: bench.Result{Start: time.Second, Latency: time.Millisecond, Status: 200, Kind: bench.KindOK, Instance: "payments[0]", Hedges: 2},
		},
		{
			name: "the gateway answered itself",
			in: vegeta.Result{
				Timestamp: epoch.Add(2 * time.Second), Latency: 3 * time.Millisecond, Code: 503, Error: "503 Service Unavailable",
				Headers: http.Header{"X-Meshbench-Reason": {"no_healthy_upstream"}},
			},
			want: bench.Result{Start: 2 * time.Second, Latency: 3 * time.Millisecond, Status: 503, Kind: bench.KindNoEndpoint},
		},
		{
			name: "no answer",
			in: vegeta.Result{
				Timestamp: epoch.Add(time.Second), Latency: time.Second, Error: "read: connection reset by peer",
				Headers: http.Header{"X-Meshbench-Instance": {"ignored"}},
			},
			want: bench.Result{Start: time.Second, Latency: time.Second, Kind: bench.KindReset},
		},
		{
			name: "garbled counts",
			in: vegeta.Result{
				Timestamp: epoch, Code: 200,
				Headers: http.Header{headerRetries: {"many"}, headerHedges: {"-1"}},
			},
			want: bench.Result{Status: 200, Kind: bench.KindOK},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if got := Convert(&in, epoch); got != tt.want {
				t.Errorf("Convert = %+v\nwant      %+v", got, tt.want)
			}
		})
	}
}

// An answer the gateway's cache gave was answered by no replica, whether
// or not the gateway dropped the stored answer's instance header.
func TestConvertCacheHitHasNoInstance(t *testing.T) {
	for hdr, want := range map[string]string{"HIT": "", "MISS": "payments-1", "": "payments-1"} {
		h := http.Header{"X-Meshbench-Instance": {"payments-1"}}
		if hdr != "" {
			h.Set("X-Cache", hdr)
		}
		r := Convert(&vegeta.Result{Code: 200, Headers: h, Timestamp: time.Unix(1, 0)}, time.Unix(0, 0))
		if r.Instance != want {
			t.Errorf("X-Cache %q: instance %q, want %q", hdr, r.Instance, want)
		}
	}
}
