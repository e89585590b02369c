package bench

import (
	"fmt"
	"strings"

	"github.com/meshbench/meshbench/scenarios"
)

// EvaluateSLOs judges every SLO of plan against every run of sum that it
// applies to, filling RunSummary.SLO, and reports whether all passed. A real
// run whose ledger audit found a lost or doubled payment gets a failing
// "audit" verdict as well: money is an SLO whether or not the scenario says so.
func EvaluateSLOs(plan *scenarios.Plan, sum *Summary) bool {
	pass := true
	for i := range sum.Runs {
		r := &sum.Runs[i]
		r.SLO = r.SLO[:0]
		for _, slo := range plan.SLO {
			if !slo.Applies(r.Variant, r.Backend) {
				continue
			}
			v := judge(slo, r)
			r.SLO = append(r.SLO, v)
			pass = pass && v.Pass
		}
		if r.Audit != nil {
			bad := float64(r.Audit.Lost + r.Audit.Duplicates)
			v := SLOVerdict{Metric: "audit", Bound: "max", Threshold: 0, Value: bad, Unit: "payments", Pass: r.Audit.Clean()}
			r.SLO = append(r.SLO, v)
			pass = pass && v.Pass
		}
		if r.SLO == nil {
			r.SLO = []SLOVerdict{}
		}
	}
	return pass
}

// judge compares one run's metric with an SLO's bound: the run's totals,
// or its workload's share of them when the SLO names one. A run that
// measured no successful request has no latency: a latency SLO then fails
// rather than passing on a zero; a workload that sent nothing after the
// warm-up fails the same way.
func judge(slo scenarios.SLO, run *RunSummary) SLOVerdict {
	bound, t := slo.Bound()
	v := SLOVerdict{Metric: slo.Metric, Workload: slo.Workload, Bound: bound}
	r := &run.Stats
	if slo.Workload != "" {
		w := run.Workloads[slo.Workload]
		r = &w
	}
	var measured float64 // in the threshold's unit
	noData := false
	switch slo.Metric {
	case scenarios.MetricP50, scenarios.MetricP90, scenarios.MetricP99, scenarios.MetricP999, scenarios.MetricMean:
		v.Unit = "ms"
		v.Value = latencyMetric(r.LatencyMS, slo.Metric)
		v.Threshold = round(t.Value*1000, 4)
		measured = v.Value / 1000
		noData = r.Successes == 0
	case scenarios.MetricAvailability:
		v.Unit = "ratio"
		v.Value, v.Threshold, measured = r.Availability, t.Value, r.Availability
		noData = r.Requests == 0
	case scenarios.MetricErrorRate:
		v.Unit = "ratio"
		er := 0.0
		if r.Requests > 0 {
			er = round(1-r.Availability, 6)
		}
		v.Value, v.Threshold, measured = er, t.Value, er
		noData = r.Requests == 0
	case scenarios.MetricThroughput:
		v.Unit = "rps"
		v.Value, v.Threshold, measured = r.ThroughputRPS, t.Value, r.ThroughputRPS
	default:
		// Load rejects unknown metrics; reaching here is a programming error.
		panic(fmt.Sprintf("bench: SLO metric %q has no evaluation", slo.Metric))
	}
	v.Pass = !noData && slo.Met(measured)
	return v
}

func latencyMetric(l Latency, metric string) float64 {
	switch strings.ToLower(metric) {
	case scenarios.MetricP50:
		return l.P50
	case scenarios.MetricP90:
		return l.P90
	case scenarios.MetricP99:
		return l.P99
	case scenarios.MetricP999:
		return l.P999
	default:
		return l.Mean
	}
}
