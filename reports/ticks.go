package reports

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// logRatio is the spread (max/min) above which a latency axis turns
// logarithmic: a p99.9 ten times the p50 would otherwise flatten the p50 into
// the floor of the chart.
const logRatio = 20

// setLatencyAxis fits ax to latencies in [lo, hi] ms, logarithmic when they
// span more than logRatio, and leaves headroom above hi (a fraction of the
// axis) for fault labels.
func setLatencyAxis(ax *plot.Axis, lo, hi, headroom float64) {
	if !(hi > 0) || math.IsInf(hi, 0) {
		ax.Min, ax.Max = 0, 1
		return
	}
	if !(lo > 0) {
		lo = hi / 1000
	}
	if hi/lo > logRatio {
		ax.Scale = plot.LogScale{}
		ax.Tick.Marker = plot.TickerFunc(logTicks)
		lmin, lmax := math.Log10(lo)-0.05, math.Log10(hi)
		lmax += (lmax - lmin) * headroom / (1 - headroom)
		ax.Min, ax.Max = math.Pow(10, lmin), math.Pow(10, lmax+0.05)
		return
	}
	ax.Min = 0
	ax.Max = hi * 1.05 / (1 - headroom)
	ax.Tick.Marker = niceTicks(5)
}

// logTicks labels 1, 2 and 5 times each power of ten when the axis spans
// less than three decades, and only the powers of ten (with unlabelled
// minor ticks between) beyond that.
func logTicks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	k0 := int(math.Floor(math.Log10(min)))
	k1 := int(math.Ceil(math.Log10(max)))
	dense := math.Log10(max/min) <= 2.2
	var ticks []plot.Tick
	for k := k0; k <= k1; k++ {
		p := math.Pow10(k)
		for m := 1; m <= 9; m++ {
			v := float64(m) * p
			if v < min || v > max {
				continue
			}
			major := m == 1 || (dense && (m == 2 || m == 5))
			t := plot.Tick{Value: v}
			if major {
				t.Label = formatTick(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// formatTick prints a tick value without exponents: 0.05, 2, 1000.
func formatTick(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// quantileX places quantile q on a percentile-spectrum axis: 1/(1−q), so
// that 90%, 99%, 99.9% are evenly spaced on a log scale, as HdrHistogram's
// percentile plots are.
func quantileX(q float64) float64 { return 1 / (1 - q) }

// percentileTicks labels the spectrum axis from p50 to p99.99.
var percentileTicks = plot.ConstantTicks{
	{Value: quantileX(0.5), Label: "50%"},
	{Value: quantileX(0.75)},
	{Value: quantileX(0.9), Label: "90%"},
	{Value: quantileX(0.95)},
	{Value: quantileX(0.99), Label: "99%"},
	{Value: quantileX(0.995)},
	{Value: quantileX(0.999), Label: "99.9%"},
	{Value: quantileX(0.9995)},
	{Value: quantileX(0.9999), Label: "99.99%"},
}

// niceTicks is a linear ticker with steps of 1, 2, 2.5 or 5 times a power of
// ten, about target labelled ticks over the axis, and labels printed with
// just the digits the step needs (gonum's default prints "500.00").
func niceTicks(target int) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		return niceTicksIn(min, max, target, math.Inf(1))
	})
}

// capTicks is niceTicks that labels no value above limit (an availability
// axis has headroom above 100% for fault labels, but no 105% tick).
func capTicks(target int, limit float64) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		return niceTicksIn(min, max, target, limit)
	})
}

func niceTicksIn(min, max float64, target int, limit float64) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return nil
	}
	step := niceStep((max - min) / float64(target))
	// Enough decimals for the step: 0.5 needs one, 0.25 and 2.5 one more
	// than their magnitude.
	mag := int(math.Floor(math.Log10(step) + 1e-9))
	decimals := 0
	if mag < 0 {
		decimals = -mag
	}
	// 2.5 and 0.25 need a digit more than their magnitude; 25 and 250
	// need none.
	if m := step / math.Pow10(mag); math.Abs(m-2.5) < 1e-9 && mag <= 0 {
		decimals++
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step-1e-9) * step; v <= max+step*1e-9; v += step {
		if v > limit+1e-9 {
			break
		}
		r := math.Round(v/step) * step
		if r == 0 {
			r = 0 // not -0
		}
		ticks = append(ticks, plot.Tick{Value: r, Label: strconv.FormatFloat(r, 'f', decimals, 64)})
		// An unlabelled tick halfway, for reading values between labels.
		if h := r + step/2; h <= max && h <= limit {
			ticks = append(ticks, plot.Tick{Value: h})
		}
	}
	return ticks
}

// niceStep returns the step of 1, 2, 2.5 or 5 times a power of ten nearest
// to x (on a log scale).
func niceStep(x float64) float64 {
	if !(x > 0) {
		return 1
	}
	p := math.Pow10(int(math.Floor(math.Log10(x))))
	best := p
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if math.Abs(math.Log(m*p/x)) < math.Abs(math.Log(best/x)) {
			best = m * p
		}
	}
	return best
}

// timeSteps are tick steps for a time axis in seconds: round numbers of
// seconds and minutes, never 2.5 s.
var timeSteps = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200}

// timeTicks labels a time axis in seconds with about target steps from
// timeSteps.
func timeTicks(target int) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		if !(max > min) {
			return nil
		}
		want := (max - min) / float64(target)
		step := timeSteps[0]
		for _, s := range timeSteps {
			if math.Abs(math.Log(s/want)) < math.Abs(math.Log(step/want)) {
				step = s
			}
		}
		decimals := 0
		if step < 1 {
			decimals = 1
		}
		var ticks []plot.Tick
		for i := math.Ceil(min/step - 1e-9); i*step <= max+1e-9; i++ {
			v := i * step
			if v == 0 {
				v = 0 // not -0
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
		}
		return ticks
	})
}
