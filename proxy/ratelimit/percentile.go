package ratelimit

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-quantile of samples (p in (0, 1]),
// sorting samples in place. samples must not be empty.
func percentile(samples []time.Duration, p float64) time.Duration {
	slices.Sort(samples)
	i := int(math.Ceil(p*float64(len(samples)))) - 1
	return samples[min(max(i, 0), len(samples)-1)]
}
