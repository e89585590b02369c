package ratelimit

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"single", []time.Duration{7}, 0.5, 7},
		{"median of odd count", []time.Duration{5, 1, 3}, 0.5, 3},
		{"median of even count takes the lower", []time.Duration{4, 1, 3, 2}, 0.5, 2},
		{"p90 nearest rank", []time.Duration{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.9, 9},
		{"max", []time.Duration{2, 9, 4}, 1, 9},
		{"tiny p is the min", []time.Duration{2, 9, 4}, 0.0001, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.samples, tt.p); got != tt.want {
				t.Fatalf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}
