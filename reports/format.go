package reports

import (
	"math"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench"
)

// dash marks a value that does not exist (no successful request, no run).
const noValue = "–"

// fmtMS prints a latency in ms with the precision a reader can use: 0.512,
// 12.34, 180.2, 1234.
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return noValue
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// fmtCores prints a number of cores with two decimals: "0.97 cores".
func fmtCores(v float64) string {
	if math.IsNaN(v) {
		return noValue
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " cores"
}

// fmtPct prints a ratio as a percentage with three decimals: 99.912%.
func fmtPct(ratio float64) string {
	if math.IsNaN(ratio) {
		return noValue
	}
	return strconv.FormatFloat(ratio*100, 'f', 3, 64) + "%"
}

// fmtRPS prints a rate in requests per second.
func fmtRPS(v float64) string {
	if math.IsNaN(v) {
		return noValue
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtCount prints a count with thousands separators: 1,234,567.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtUnit prints a value in an SLO verdict's unit.
func fmtUnit(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmtMS(v) + " ms"
	case "ratio":
		return fmtPct(v)
	case "rps":
		return fmtRPS(v) + " req/s"
	}
	return strconv.FormatFloat(v, 'g', 6, 64) + " " + unit
}

// FormatThreshold prints an SLO's bound as its author would write it: "250
// ms", "99.9%", "400 req/s".
func FormatThreshold(v float64, unit string) string {
	short := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch unit {
	case "ms":
		return short(v) + " ms"
	case "ratio":
		return short(math.Round(v*100*1e6)/1e6) + "%"
	case "rps":
		return short(v) + " req/s"
	}
	return short(v) + " " + unit
}

// sloText describes an SLO: "p99 ≤ 250 ms", "availability of customers ≥ 99%".
func sloText(v bench.SLOVerdict) string {
	op := "≤"
	if v.Bound == "min" {
		op = "≥"
	}
	return v.Label() + " " + op + " " + FormatThreshold(v.Threshold, v.Unit)
}

// sloOutcome explains a verdict: "p99 412.3 ms exceeds the maximum 250 ms".
func sloOutcome(v bench.SLOVerdict) string {
	switch {
	case v.Pass:
		return v.Label() + " " + fmtUnit(v.Value, v.Unit) + " meets " + sloText(v)
	case v.Bound == "min":
		return v.Label() + " " + fmtUnit(v.Value, v.Unit) + " is below the minimum " + FormatThreshold(v.Threshold, v.Unit)
	default:
		return v.Label() + " " + fmtUnit(v.Value, v.Unit) + " exceeds the maximum " + FormatThreshold(v.Threshold, v.Unit)
	}
}
