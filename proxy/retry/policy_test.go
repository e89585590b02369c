package retry

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestRetryableClassification(t *testing.T) {
	var (
		ok200   = Outcome{Status: 200}
		s404    = Outcome{Status: 404}
		s409    = Outcome{Status: 409}
		s429    = Outcome{Status: 429}
		s500    = Outcome{Status: 500}
		s501    = Outcome{Status: 501}
		s502    = Outcome{Status: 502}
		s503    = Outcome{Status: 503}
		s504    = Outcome{Status: 504}
		timeout = Outcome{Err: Timeout}
		reset   = Outcome{Err: Reset}
		connect = Outcome{Err: ConnectFailure}
		// A transport failure carries no status; a stray one is ignored.
		resetWithStatus = Outcome{Status: 409, Err: Reset}
		// gRPC trailers-only answers: HTTP 200 with a grpc-status.
		gCancelled   = Outcome{Status: 200, GRPCStatus: GRPCCancelled}
		gDeadline    = Outcome{Status: 200, GRPCStatus: GRPCDeadlineExceeded}
		gExhausted   = Outcome{Status: 200, GRPCStatus: GRPCResourceExhausted}
		gInternal    = Outcome{Status: 200, GRPCStatus: GRPCInternal}
		gUnavailable = Outcome{Status: 200, GRPCStatus: GRPCUnavailable}
		gNotFound    = Outcome{Status: 200, GRPCStatus: 5}
	)
	all := []Outcome{ok200, s404, s409, s429, s500, s501, s502, s503, s504, timeout, reset, connect,
		gCancelled, gDeadline, gExhausted, gInternal, gUnavailable, gNotFound}
	tests := []struct {
		name  string
		on    []string
		codes []int
		retry []Outcome // every other outcome in all must not be retried
	}{
		{name: "empty retries nothing", on: nil},
		{name: "5xx", on: []string{On5xx}, retry: []Outcome{s500, s501, s502, s503, s504, timeout, reset, connect}},
		{name: "gateway-error", on: []string{OnGatewayError}, retry: []Outcome{s502, s503, s504, timeout, reset, connect}},
		{name: "reset", on: []string{OnReset}, retry: []Outcome{timeout, reset, connect}},
		{name: "connect-failure", on: []string{OnConnectFailure}, retry: []Outcome{connect}},
		{name: "retriable-4xx is 409 only", on: []string{OnRetriable4xx}, retry: []Outcome{s409}},
		{name: "retriable-status-codes", on: []string{OnRetriableStatusCodes}, codes: []int{429, 503}, retry: []Outcome{s429, s503}},
		{name: "status codes without the condition do nothing", on: []string{OnConnectFailure}, codes: []int{429, 503}, retry: []Outcome{connect}},
		{name: "union of conditions", on: []string{OnConnectFailure, OnRetriable4xx, OnRetriableStatusCodes}, codes: []int{501}, retry: []Outcome{connect, s409, s501}},
		{name: "unknown names match nothing", on: []string{"5XX", "refused-stream"}},
		{name: "grpc cancelled", on: []string{OnCancelled}, retry: []Outcome{gCancelled}},
		{name: "grpc deadline-exceeded", on: []string{OnDeadlineExceeded}, retry: []Outcome{gDeadline}},
		{name: "grpc resource-exhausted", on: []string{OnResourceExhausted}, retry: []Outcome{gExhausted}},
		{name: "grpc internal", on: []string{OnInternal}, retry: []Outcome{gInternal}},
		{name: "grpc unavailable", on: []string{OnUnavailable}, retry: []Outcome{gUnavailable}},
		{name: "grpc conditions do not cover transport failures", on: []string{OnUnavailable, OnCancelled, OnDeadlineExceeded}, retry: []Outcome{gUnavailable, gCancelled, gDeadline}},
		{name: "gateway-error and unavailable", on: []string{OnGatewayError, OnUnavailable}, retry: []Outcome{s502, s503, s504, timeout, reset, connect, gUnavailable}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Policy{RetryOn: tc.on, RetriableStatusCodes: tc.codes}
			for _, o := range all {
				want := slices.Contains(tc.retry, o)
				if got := p.Retryable(o); got != want {
					t.Errorf("Retryable(%+v) = %v, want %v", o, got, want)
				}
			}
		})
	}
	t.Run("transport failure ignores status", func(t *testing.T) {
		p := &Policy{RetryOn: []string{OnRetriable4xx}}
		if p.Retryable(resetWithStatus) {
			t.Error("retriable-4xx retried a reset that carried status 409")
		}
	})
}

func TestShouldRetry(t *testing.T) {
	on := []string{On5xx}
	tests := []struct {
		name     string
		attempts int
		tries    int
		o        Outcome
		want     bool
	}{
		{name: "default allows one retry", attempts: 0, tries: 1, o: Outcome{Status: 503}, want: true},
		{name: "default stops after the retry", attempts: 0, tries: 2, o: Outcome{Status: 503}},
		{name: "one attempt never retries", attempts: 1, tries: 1, o: Outcome{Status: 503}},
		{name: "third of three is last", attempts: 3, tries: 3, o: Outcome{Err: Reset}},
		{name: "second of three retries", attempts: 3, tries: 2, o: Outcome{Err: Reset}, want: true},
		{name: "success is not retried", attempts: 3, tries: 1, o: Outcome{Status: 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Policy{Attempts: tc.attempts, RetryOn: on}
			if got := p.ShouldRetry(tc.tries, tc.o); got != tc.want {
				t.Errorf("ShouldRetry(%d, %+v) = %v, want %v", tc.tries, tc.o, got, tc.want)
			}
		})
	}
}

func TestParseRetryOn(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{name: "single", in: "5xx", want: []string{"5xx"}},
		{name: "header form with spaces", in: " 5xx, reset ,connect-failure", want: []string{"5xx", "reset", "connect-failure"}},
		{name: "blank items skipped", in: "gateway-error,,retriable-4xx,", want: []string{"gateway-error", "retriable-4xx"}},
		{name: "all names", in: strings.Join(Names(), ","), want: Names()},
		{name: "unknown lists valid names", in: "5xx,refused-stream", wantErr: `unknown retry_on condition "refused-stream" (valid: 5xx, gateway-error, reset, connect-failure, retriable-4xx, retriable-status-codes, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)`},
		{name: "case matters", in: "5XX", wantErr: `"5XX"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRetryOn(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRetryOn(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRetryOn(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseRetryOn(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzParseRetryOn(f *testing.F) {
	f.Add("5xx,reset")
	f.Add(" gateway-error ,, retriable-status-codes")
	f.Add("nope")
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseRetryOn(s)
		if err != nil {
			return
		}
		for _, n := range names {
			if !slices.Contains(Names(), n) {
				t.Fatalf("ParseRetryOn(%q) returned unknown name %q", s, n)
			}
		}
		p := Policy{RetryOn: names}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed names do not validate: %v", err)
		}
	})
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		wantErr []string // substrings; nil means valid
	}{
		{name: "zero value", p: Policy{}},
		{name: "full", p: Policy{Attempts: 3, RetryOn: []string{"5xx", "retriable-status-codes"}, RetriableStatusCodes: []int{429}, PerTryTimeout: time.Second, Backoff: Backoff{Base: 10 * time.Millisecond, Max: time.Second}}},
		{name: "max equal to base", p: Policy{Backoff: Backoff{Base: time.Second, Max: time.Second}}},
		{name: "max only, above default base", p: Policy{Backoff: Backoff{Max: time.Second}}},
		{name: "max only, below default base", p: Policy{Backoff: Backoff{Max: time.Millisecond}}, wantErr: []string{"backoff max 1ms: must be >= base 25ms"}},
		{name: "unknown condition", p: Policy{RetryOn: []string{"5xx", "bogus"}}, wantErr: []string{`retry_on[1]: unknown retry_on condition "bogus" (valid: 5xx,`}},
		{name: "every problem reported", p: Policy{Attempts: -1, RetriableStatusCodes: []int{200, 99, 600}, PerTryTimeout: -1, Backoff: Backoff{Base: -1, Max: -1}},
			wantErr: []string{"attempts -1", "retriable_status_codes[1]: 99", "retriable_status_codes[2]: 600", "per_try_timeout -1ns", "backoff base -1ns", "backoff max -1ns"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "retry policy: ") {
				t.Errorf("error %q lacks the retry policy context", err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestBackoffCeilings(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		ceiling time.Duration
	}{
		{name: "default first retry", attempt: 1, ceiling: 25 * ms},
		{name: "default second retry", attempt: 2, ceiling: 50 * ms},
		{name: "default fourth retry", attempt: 4, ceiling: 200 * ms},
		{name: "default capped at 10x base", attempt: 5, ceiling: 250 * ms},
		{name: "default capped far out", attempt: 1000, ceiling: 250 * ms},
		{name: "attempt below 1 is 1", attempt: -3, ceiling: 25 * ms},
		{name: "custom base, default max", b: Backoff{Base: 100 * ms}, attempt: 10, ceiling: time.Second},
		{name: "custom max", b: Backoff{Base: 10 * ms, Max: 35 * ms}, attempt: 3, ceiling: 35 * ms},
		{name: "max below base clamps", b: Backoff{Base: 10 * ms, Max: 4 * ms}, attempt: 1, ceiling: 4 * ms},
		{name: "huge max does not overflow", b: Backoff{Base: time.Second, Max: 1<<63 - 1}, attempt: 200, ceiling: 1<<63 - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Policy{Backoff: tc.b}
			r := rand.New(rand.NewPCG(1, 2))
			var lo, hi time.Duration = 1<<63 - 1, 0
			for range 4000 {
				d := p.BackoffFor(tc.attempt, r)
				if d < 0 || d >= tc.ceiling {
					t.Fatalf("BackoffFor(%d) = %v, want in [0, %v)", tc.attempt, d, tc.ceiling)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			// Full jitter: draws spread over the whole range.
			if lo > tc.ceiling/20 || hi < tc.ceiling-tc.ceiling/20 {
				t.Errorf("draws span [%v, %v], want close to [0, %v)", lo, hi, tc.ceiling)
			}
		})
	}
}

// TestBackoffProperties: for any base, max and attempt, BackoffFor lies in
// [0, min(max, base × 2^(attempt-1))), and the same seed gives the same draws.
func TestBackoffProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		base := time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "base"))
		maxWait := base * time.Duration(rapid.Int64Range(1, 1000).Draw(t, "maxFactor"))
		attempt := rapid.IntRange(-2, 80).Draw(t, "attempt")
		seed := rapid.Uint64().Draw(t, "seed")
		p := &Policy{Backoff: Backoff{Base: base, Max: maxWait}}

		ceiling := maxWait
		if n := max(attempt, 1) - 1; n < 62 && base<<n < maxWait && base<<n>>n == base {
			ceiling = base << n
		}
		r1 := rand.New(rand.NewPCG(seed, 7))
		r2 := rand.New(rand.NewPCG(seed, 7))
		for range 20 {
			d := p.BackoffFor(attempt, r1)
			if d < 0 || d >= ceiling {
				t.Fatalf("BackoffFor(%d) = %v, want in [0, %v)", attempt, d, ceiling)
			}
			if d2 := p.BackoffFor(attempt, r2); d2 != d {
				t.Fatalf("same seed drew %v then %v", d, d2)
			}
		}
	})
}

func TestBackoffMeanIsHalfTheCeiling(t *testing.T) {
	p := &Policy{} // 25ms base
	r := rand.New(rand.NewPCG(42, 42))
	const n = 20000
	var sum time.Duration
	for range n {
		sum += p.BackoffFor(3, r) // ceiling 100ms
	}
	mean := sum / n
	if mean < 48*time.Millisecond || mean > 52*time.Millisecond {
		t.Errorf("mean back-off %v, want about 50ms (uniform on [0, 100ms))", mean)
	}
}
