package ratelimit

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	want := []string{"adaptive_concurrency", "concurrency", "sliding_window", "token_bucket"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		if IsConcurrency(n) != strings.Contains(n, "concurrency") {
			t.Fatalf("IsConcurrency(%q) = %v", n, IsConcurrency(n))
		}
	}
}

func TestNewBuildsEachType(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		check func(t *testing.T, l Limiter)
	}{
		{"token bucket with default burst", Config{Type: "token_bucket", Rate: 2.5}, func(t *testing.T, l Limiter) {
			b := l.(*TokenBucket)
			if b.Rate() != 2.5 || b.Burst() != 3 {
				t.Fatalf("rate %v burst %d, want 2.5 and 3", b.Rate(), b.Burst())
			}
		}},
		{"token bucket with burst", Config{Type: "token_bucket", Rate: 100, Burst: 7}, func(t *testing.T, l Limiter) {
			if b := l.(*TokenBucket); b.Burst() != 7 {
				t.Fatalf("burst %d", b.Burst())
			}
		}},
		{"sliding window defaults to 1s", Config{Type: "sliding_window", Limit: 5}, func(t *testing.T, l Limiter) {
			if s := l.(*SlidingWindow); s.Limit() != 5 || s.Window() != time.Second {
				t.Fatalf("limit %d window %v", s.Limit(), s.Window())
			}
		}},
		{"sliding window from a rate", Config{Type: "sliding_window", Rate: 2.5, Window: 2 * time.Second}, func(t *testing.T, l Limiter) {
			if s := l.(*SlidingWindow); s.Limit() != 5 {
				t.Fatalf("limit %d, want 5", s.Limit())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, l)
		})
	}
}

func TestNewConcurrencyLimiterBuildsEachType(t *testing.T) {
	c, err := NewConcurrencyLimiter(Config{Type: "concurrency", Limit: 4})
	if err != nil || c.Limit() != 4 {
		t.Fatalf("concurrency: %v, %v", c, err)
	}
	a, err := NewConcurrencyLimiter(Config{Type: "adaptive_concurrency"})
	if err != nil {
		t.Fatal(err)
	}
	got := a.(*AdaptiveConcurrency).cfg
	if got.MinLimit != 3 || got.MaxLimit != 1000 || got.Limit != 3 || got.SampleWindow != 100*time.Millisecond ||
		got.Percentile != 0.5 || got.MinRTTInterval != time.Minute || got.MinRTTSamples != 50 ||
		got.MinRTTJitter != 0.1 || got.Buffer != 0.25 {
		t.Fatalf("defaults not applied: %+v", got)
	}
	a, _ = NewConcurrencyLimiter(Config{Type: "adaptive_concurrency", Buffer: -1, MinRTTJitter: -1})
	if got := a.(*AdaptiveConcurrency).cfg; got.Buffer != 0 || got.MinRTTJitter != 0 {
		t.Fatalf("negative Buffer/MinRTTJitter should mean none: %+v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		mk   string // "rate", "concurrency" or "keyed"
		want string // substring of the error
	}{
		{"unknown type lists valid names", Config{Type: "leaky_bucket"}, "rate",
			`unknown limiter type "leaky_bucket" (valid: adaptive_concurrency, concurrency, sliding_window, token_bucket)`},
		{"empty type", Config{}, "concurrency", `unknown limiter type ""`},
		{"token bucket needs a rate", Config{Type: "token_bucket"}, "rate", "token_bucket: rate must be > 0"},
		{"negative rate", Config{Type: "token_bucket", Rate: -1}, "rate", "rate -1: must be a finite number >= 0"},
		{"negative burst", Config{Type: "token_bucket", Rate: 1, Burst: -2}, "rate", "burst -2: must be >= 0"},
		{"sliding window needs a limit", Config{Type: "sliding_window"}, "rate", "limit (or rate) must be > 0"},
		{"negative window", Config{Type: "sliding_window", Limit: 1, Window: -time.Second}, "rate", "window -1s"},
		{"concurrency needs a limit", Config{Type: "concurrency"}, "concurrency", "concurrency: limit must be > 0"},
		{"min above max", Config{Type: "adaptive_concurrency", MinLimit: 10, MaxLimit: 5}, "concurrency", "minLimit 10 > maxLimit 5"},
		{"initial limit out of range", Config{Type: "adaptive_concurrency", Limit: 2000}, "concurrency", "limit 2000 outside [minLimit 3, maxLimit 1000]"},
		{"percentile above 1", Config{Type: "adaptive_concurrency", Percentile: 90}, "concurrency", "percentile 90: must be in (0, 1]"},
		{"rate type to the concurrency constructor", Config{Type: "token_bucket", Rate: 1}, "concurrency", "is a rate limiter: build it with New"},
		{"concurrency type to the rate constructor", Config{Type: "concurrency", Limit: 1}, "rate", "is a concurrency limiter: build it with NewConcurrencyLimiter"},
		{"keyed concurrency", Config{Type: "adaptive_concurrency"}, "keyed", "keyed limiting takes token_bucket or sliding_window"},
		{"negative max keys", Config{Type: "sliding_window", Limit: 1, MaxKeys: -1}, "keyed", "maxKeys -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			switch tt.mk {
			case "rate":
				_, err = New(tt.cfg)
			case "concurrency":
				_, err = NewConcurrencyLimiter(tt.cfg)
			case "keyed":
				_, err = NewKeyed(tt.cfg)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	_, err := New(Config{Type: "nope"})
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("%v does not wrap ErrUnknownType", err)
	}
}
