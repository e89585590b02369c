package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// failing answers 503 to its first n requests and echoes after that.
func failing(n int64, name string) (http.Handler, *atomic.Int64) {
	var count atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			io.Copy(io.Discard, r.Body)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		echo(name)(w, r)
	}), &count
}

func oneRoute(cluster config.ClusterConfig, pol config.Policy) config.Config {
	return config.Config{
		Clusters: []config.ClusterConfig{cluster},
		Routes:   []config.RouteConfig{{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: cluster.Name, Policy: pol}},
	}
}

func TestRetries(t *testing.T) {
	t.Run("5xx retried until success", func(t *testing.T) {
		hd, count := failing(2, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd))},
			config.Policy{Retry: config.RetryConfig{Attempts: 3, RetryOn: []string{"5xx"}, BackoffBase: config.Duration(time.Millisecond)}}))
		resp, body := h.get(t, "/")
		if resp.StatusCode != 200 || count.Load() != 3 {
			t.Fatalf("status %d after %d tries: %s", resp.StatusCode, count.Load(), body)
		}
	})

	t.Run("attempts bound the tries", func(t *testing.T) {
		hd, count := failing(10, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd))},
			config.Policy{Retry: config.RetryConfig{Attempts: 2, BackoffBase: config.Duration(time.Millisecond)}}))
		resp, _ := h.get(t, "/")
		if resp.StatusCode != 503 || count.Load() != 2 {
			t.Fatalf("status %d after %d tries, want 503 after 2", resp.StatusCode, count.Load())
		}
	})

	t.Run("buffered body replayed", func(t *testing.T) {
		hd, count := failing(1, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd))},
			config.Policy{Retry: config.RetryConfig{Attempts: 2, BackoffBase: config.Duration(time.Millisecond)}}))
		req, _ := http.NewRequest(http.MethodPost, h.url+"/", strings.NewReader("hello body"))
		resp, body := h.do(t, req)
		if resp.StatusCode != 200 || count.Load() != 2 || decodeEcho(t, body).BodyLen != len("hello body") {
			t.Fatalf("status %d tries %d body %s", resp.StatusCode, count.Load(), body)
		}
	})

	t.Run("body over the buffer is not retried", func(t *testing.T) {
		hd, count := failing(1, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd))},
			config.Policy{Retry: config.RetryConfig{Attempts: 3, BackoffBase: config.Duration(time.Millisecond), BufferBytes: 16}}))
		req, _ := http.NewRequest(http.MethodPost, h.url+"/", bytes.NewReader(make([]byte, 1000)))
		resp, _ := h.do(t, req)
		if resp.StatusCode != 503 || count.Load() != 1 {
			t.Fatalf("status %d after %d tries, want one 503", resp.StatusCode, count.Load())
		}
	})

	t.Run("connect failure retried on another endpoint", func(t *testing.T) {
		live := upstream(t, echo("live"))
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(deadAddr(t), live)},
			config.Policy{Retry: config.RetryConfig{Attempts: 3, RetryOn: []string{"connect-failure"}, BackoffBase: config.Duration(time.Millisecond)}}))
		for i := range 10 {
			if resp, body := h.get(t, "/"); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
			}
		}
	})

	t.Run("budget exhausted", func(t *testing.T) {
		hd, count := failing(1000, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd))},
			config.Policy{Retry: config.RetryConfig{Attempts: 5, BackoffBase: config.Duration(time.Millisecond),
				Budget: &config.BudgetConfig{Ratio: 0, MinPerSecond: 1, TTL: config.Duration(time.Minute)}}}))
		// The reserve is 1/s × 60s = 60 retries; requests beyond that are
		// tried once.
		tries := int64(0)
		for range 20 {
			before := count.Load()
			resp, _ := h.get(t, "/")
			if resp.StatusCode != 503 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			tries += count.Load() - before
		}
		if tries != 20+60 {
			t.Errorf("%d tries for 20 requests, want 20 + 60 retries from the reserve", tries)
		}
		if got := metricValue(t, h.p, `meshbench_proxy_rejections_total{reason="retry_budget_exhausted",route="r"}`); got < 1 {
			t.Errorf("budget rejections %v", got)
		}
	})

	t.Run("budget disabled", func(t *testing.T) {
		hd, count := failing(1000, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd))},
			config.Policy{Retry: config.RetryConfig{Attempts: 5, BackoffBase: config.Duration(time.Millisecond),
				Budget: &config.BudgetConfig{Disabled: true}}}))
		// The default budget would allow 100 retries from its reserve and
		// 0.2 per request; without one every request takes its 5 tries.
		for range 40 {
			if resp, _ := h.get(t, "/"); resp.StatusCode != 503 {
				t.Fatalf("status %d", resp.StatusCode)
			}
		}
		if got := count.Load(); got != 40*5 {
			t.Errorf("%d tries for 40 requests, want 5 each", got)
		}
	})
}

func TestHedging(t *testing.T) {
	var calls atomic.Int64
	loserCancelled := make(chan struct{})
	hd := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// The original: never answers; it must be cancelled once the
			// hedge wins.
			<-r.Context().Done()
			close(loserCancelled)
			return
		}
		echo("hedge")(w, r)
	})
	a, b := upstream(t, hd), upstream(t, hd)
	h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(a, b)},
		config.Policy{Hedge: config.HedgeConfig{Delay: config.Duration(20 * time.Millisecond)}}))
	resp, body := h.get(t, "/")
	if resp.StatusCode != 200 || decodeEcho(t, body).Name != "hedge" {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	select {
	case <-loserCancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the losing try was not cancelled")
	}
	if got := metricValue(t, h.p, `meshbench_proxy_hedges_total{cluster="up",route="r"}`); got != 1 {
		t.Errorf("hedges metric %v, want 1", got)
	}
}

func TestLocalRejections(t *testing.T) {
	t.Run("circuit breaker opens", func(t *testing.T) {
		hd, _ := failing(1000, "up")
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, hd)),
			CircuitBreaker: &config.BreakerConfig{ConsecutiveFailures: 2, SleepWindow: config.Duration(time.Hour)}}, config.Policy{}))
		for range 2 {
			if resp, _ := h.get(t, "/"); resp.StatusCode != 503 || resp.Header.Get(HeaderReason) != "" {
				t.Fatalf("status %d reason %q, want the upstream's 503", resp.StatusCode, resp.Header.Get(HeaderReason))
			}
		}
		resp, _ := h.get(t, "/")
		if resp.StatusCode != 503 || resp.Header.Get(HeaderReason) != ReasonCircuitOpen {
			t.Fatalf("status %d reason %q, want 503 %s", resp.StatusCode, resp.Header.Get(HeaderReason), ReasonCircuitOpen)
		}
		if got := metricValue(t, h.p, `meshbench_proxy_breaker_state{cluster="up"}`); got != 1 {
			t.Errorf("breaker state metric %v, want 1 (open)", got)
		}
	})

	t.Run("max requests threshold", func(t *testing.T) {
		entered := make(chan struct{})
		release := make(chan struct{})
		up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
		}))
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up), Thresholds: config.ThresholdsConfig{MaxRequests: 1}}, config.Policy{}))
		done := make(chan int)
		go func() {
			resp, err := h.client.Get(h.url + "/")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		<-entered
		resp, _ := h.get(t, "/")
		close(release)
		if resp.StatusCode != 503 || resp.Header.Get(HeaderReason) != ReasonOverflow {
			t.Errorf("status %d reason %q, want 503 overflow", resp.StatusCode, resp.Header.Get(HeaderReason))
		}
		if code := <-done; code != 200 {
			t.Errorf("first request %d", code)
		}
	})

	t.Run("concurrency limit", func(t *testing.T) {
		entered := make(chan struct{})
		release := make(chan struct{})
		up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-release
		}))
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up), Concurrency: &config.ConcurrencyConfig{Type: "concurrency", Limit: 1}}, config.Policy{}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if resp, err := h.client.Get(h.url + "/"); err == nil {
				resp.Body.Close()
			}
		}()
		<-entered
		resp, _ := h.get(t, "/")
		close(release)
		<-done
		if resp.StatusCode != 503 || resp.Header.Get(HeaderReason) != ReasonConcurrencyLimited {
			t.Errorf("status %d reason %q", resp.StatusCode, resp.Header.Get(HeaderReason))
		}
	})

	// A route limiter refuses past its burst; with rateLimits, a tighter
	// limiter asked after rateLimit refuses first.
	for _, tc := range []struct {
		name string
		pol  config.Policy
	}{
		{name: "route rate limit", pol: config.Policy{RateLimit: &config.RateLimitConfig{Rate: 0.001, Burst: 2}}},
		{name: "further route rate limits", pol: config.Policy{RateLimit: &config.RateLimitConfig{Rate: 0.001, Burst: 5},
			RateLimits: []config.RateLimitConfig{{Type: "sliding_window", Limit: 2, Window: config.Duration(time.Hour)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, echo("up")))}, tc.pol))
			for range 2 {
				if resp, _ := h.get(t, "/"); resp.StatusCode != 200 {
					t.Fatalf("status %d within the limits", resp.StatusCode)
				}
			}
			resp, _ := h.get(t, "/")
			if resp.StatusCode != 429 || resp.Header.Get(HeaderReason) != ReasonRateLimited {
				t.Fatalf("status %d reason %q, want 429", resp.StatusCode, resp.Header.Get(HeaderReason))
			}
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	}

	t.Run("consumer rate limit by header", func(t *testing.T) {
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, echo("up")))},
			config.Policy{ConsumerRateLimit: &config.ConsumerRateLimitConfig{Key: "header:X-Api-Key", RateLimitConfig: config.RateLimitConfig{Rate: 0.001, Burst: 1}}}))
		if resp, _ := h.get(t, "/", "X-Api-Key", "alice"); resp.StatusCode != 200 {
			t.Fatalf("alice's first: %d", resp.StatusCode)
		}
		resp, _ := h.get(t, "/", "X-Api-Key", "alice")
		if resp.StatusCode != 429 || resp.Header.Get(HeaderReason) != ReasonConsumerLimited || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("alice's second: %d %q", resp.StatusCode, resp.Header.Get(HeaderReason))
		}
		if resp, _ := h.get(t, "/", "X-Api-Key", "bob"); resp.StatusCode != 200 {
			t.Fatalf("bob: %d", resp.StatusCode)
		}
	})

	t.Run("consumer rate limit by client IP", func(t *testing.T) {
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, echo("up")))},
			config.Policy{ConsumerRateLimit: &config.ConsumerRateLimitConfig{RateLimitConfig: config.RateLimitConfig{Type: "sliding_window", Limit: 1, Window: config.Duration(time.Hour)}}}))
		h.get(t, "/")
		if resp, _ := h.get(t, "/"); resp.StatusCode != 429 {
			t.Fatalf("second from the same IP: %d", resp.StatusCode)
		}
	})
}

func TestUpstreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(t *testing.T) config.ClusterConfig
		pol    config.Policy
		status int
		reason string
	}{
		{
			name: "empty cluster",
			cfg: func(t *testing.T) config.ClusterConfig {
				return config.ClusterConfig{Name: "up", Discovery: &config.DiscoveryConfig{Type: "file", Path: emptyFile(t)}}
			},
			status: 503, reason: ReasonNoHealthyUpstream,
		},
		{
			name: "connection refused",
			cfg: func(t *testing.T) config.ClusterConfig {
				return config.ClusterConfig{Name: "up", Endpoints: eps(deadAddr(t))}
			},
			status: 503, reason: ReasonConnectFailure,
		},
		{
			name: "connection reset",
			cfg: func(t *testing.T) config.ClusterConfig {
				return config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					conn, _, err := http.NewResponseController(w).Hijack()
					if err == nil {
						if tc, ok := conn.(*net.TCPConn); ok {
							tc.SetLinger(0)
						}
						conn.Close()
					}
				})))}
			},
			status: 502, reason: ReasonUpstreamReset,
		},
		{
			name: "route timeout",
			cfg: func(t *testing.T) config.ClusterConfig {
				return config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, blockUntilDone()))}
			},
			pol:    config.Policy{Timeout: config.Duration(50 * time.Millisecond)},
			status: 504, reason: ReasonRequestTimeout,
		},
		{
			name: "per-try timeout",
			cfg: func(t *testing.T) config.ClusterConfig {
				return config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, blockUntilDone()))}
			},
			pol:    config.Policy{Retry: config.RetryConfig{PerTryTimeout: config.Duration(30 * time.Millisecond)}},
			status: 504, reason: ReasonUpstreamTimeout,
		},
		{
			name: "per-try timeouts retried then given up",
			cfg: func(t *testing.T) config.ClusterConfig {
				return config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, blockUntilDone()))}
			},
			pol:    config.Policy{Retry: config.RetryConfig{Attempts: 2, RetryOn: []string{"reset"}, PerTryTimeout: config.Duration(20 * time.Millisecond), BackoffBase: config.Duration(time.Millisecond)}},
			status: 504, reason: ReasonUpstreamTimeout,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, oneRoute(tc.cfg(t), tc.pol))
			resp, body := h.get(t, "/")
			if resp.StatusCode != tc.status || resp.Header.Get(HeaderReason) != tc.reason {
				t.Fatalf("status %d reason %q, want %d %q (%s)", resp.StatusCode, resp.Header.Get(HeaderReason), tc.status, tc.reason, body)
			}
		})
	}

	t.Run("caller deadline", func(t *testing.T) {
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(upstream(t, blockUntilDone()))}, config.Policy{Timeout: config.Duration(time.Hour)}))
		resp, _ := h.get(t, "/", HeaderDeadline, "30")
		if resp.StatusCode != 504 || resp.Header.Get(HeaderReason) != ReasonRequestTimeout {
			t.Fatalf("status %d reason %q", resp.StatusCode, resp.Header.Get(HeaderReason))
		}
	})
}

// blockUntilDone is an upstream that never answers.
func blockUntilDone() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
}

func emptyFile(t *testing.T) string {
	t.Helper()
	return writeFile(t, "eps.yaml", "[]\n")
}

const rejectionsYAML = `
routes:
  - name: limited
    match: {prefix: /limited}
    cluster: up
    rateLimit: {rate: 0.001, burst: 1}
  - name: full
    match: {prefix: /full}
    cluster: full
  - name: slow-try
    match: {prefix: /slow-try}
    cluster: hang
    retry: {perTryTimeout: 50ms}
  - name: slow
    match: {prefix: /slow}
    cluster: hang
    timeout: 50ms
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
  - name: full
    endpoints: [{address: "{{UP}}"}]
    thresholds: {maxRequests: -1}
  - name: hang
    endpoints: [{address: "{{HANG}}"}]
`

// TestRejections checks the answers the proxy gives by itself through a
// configuration file: 429 with Retry-After from the route's limiter, 503
// with its reason when a threshold admits nothing, and 504 from the per-try
// and the route timeouts.
func TestRejections(t *testing.T) {
	up := upstream(t, echo("up"))
	hang := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	cfg, err := config.Parse("rejections.yaml", []byte(strings.NewReplacer("{{UP}}", up, "{{HANG}}", hang).Replace(rejectionsYAML)))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, cfg)
	for _, c := range []struct {
		name, path string
		status     int
		reason     string
	}{
		{"within the limit", "/limited", 200, ""},
		{"over the limit", "/limited", 429, ReasonRateLimited},
		{"threshold full", "/full", 503, ReasonOverflow},
		{"per-try timeout", "/slow-try", 504, ReasonUpstreamTimeout},
		{"route timeout", "/slow", 504, ReasonRequestTimeout},
	} {
		resp, body := h.get(t, c.path)
		if resp.StatusCode != c.status || resp.Header.Get(HeaderReason) != c.reason {
			t.Errorf("%s: %d %q (%s), want %d %q", c.name, resp.StatusCode, resp.Header.Get(HeaderReason), body, c.status, c.reason)
		}
		if c.status == 429 {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("%s: Retry-After %q", c.name, resp.Header.Get("Retry-After"))
			}
		}
	}
}
