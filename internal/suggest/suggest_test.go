package suggest

import (
	"testing"

	"pgregory.net/rapid"
)

func TestDidYouMean(t *testing.T) {
	balancers := []string{"round_robin", "weighted_round_robin", "random", "least_request", "peak_ewma", "ring_hash", "maglev", "ip_hash"}
	dists := []string{"constant", "exponential", "uniform", "normal", "lognormal", "pareto", "empirical"}
	tests := []struct {
		got   string
		valid []string
		want  string
	}{
		{"lognorml", dists, "lognormal"},
		{"Exponential", dists, "exponential"},
		{"round-robin", balancers, "round_robin"},
		{"RoundRobin", balancers, "round_robin"},
		{"leastrequest", balancers, "least_request"},
		{"peak_ewm", balancers, "peak_ewma"},
		{"fruad", []string{"payments", "fraud", "risk"}, "fraud"},
		{"retry", []string{"balancer", "retries", "timeouts"}, "retries"},
		{"weibull", dists, ""},
		{"power_of_two", balancers, ""},
		{"x", []string{"y"}, "y"},
		{"colour", []string{"name", "replicas"}, ""},
		{"", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.got, func(t *testing.T) {
			got, ok := Nearest(tt.got, tt.valid)
			if !ok {
				got = ""
			}
			if got != tt.want {
				t.Errorf("Nearest(%q) = %q, want %q", tt.got, got, tt.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"fruad", "fraud", 1}, // a transposition is one edit
		{"lognorml", "lognormal", 1},
		{"µs", "us", 1}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestDistanceProperties: symmetric, zero only for equal strings, and
// bounded by the longer length.
func TestDistanceProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		a := rapid.StringMatching(`[a-dµ_]{0,8}`).Draw(rt, "a")
		b := rapid.StringMatching(`[a-dµ_]{0,8}`).Draw(rt, "b")
		d := Distance(a, b)
		if d != Distance(b, a) {
			rt.Fatalf("not symmetric")
		}
		if (d == 0) != (a == b) {
			rt.Fatalf("distance %d between %q and %q", d, a, b)
		}
		if la, lb := len([]rune(a)), len([]rune(b)); d > max(la, lb) || d < abs(la-lb) {
			rt.Fatalf("distance %d out of bounds for lengths %d, %d", d, la, lb)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
