package load

import (
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// ratePer is the time unit used for rates that are not whole numbers per
// second: vegeta's rates are integer hits per duration, so 333.3/s becomes
// 333333 hits per 1000s.
const ratePer = 1000 * time.Second

// vegetaRate writes a rate in events per second as a vegeta.Rate. Whole
// rates keep vegeta's usual form ({500, 1s}); others are scaled to ratePer.
// Rates at or below zero give the zero Rate, which callers must not pace
// with (vegeta reads it as "as fast as possible").
func vegetaRate(perSecond float64) vegeta.Rate {
	switch {
	case !(perSecond > 0):
		return vegeta.Rate{}
	case perSecond == math.Trunc(perSecond) && perSecond < math.MaxInt32:
		return vegeta.Rate{Freq: int(perSecond), Per: time.Second}
	}
	freq := math.Round(perSecond * ratePer.Seconds())
	if freq < 1 {
		freq = 1
	}
	return vegeta.Rate{Freq: int(freq), Per: ratePer}
}

// idlePacer sends nothing: a workload whose rate is zero over its window.
type idlePacer struct{}

// Pace stops at once.
func (idlePacer) Pace(time.Duration, uint64) (time.Duration, bool) { return 0, true }

// Rate is zero.
func (idlePacer) Rate(time.Duration) float64 { return 0 }
