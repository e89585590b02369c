package book

import (
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench"
)

// run builds a fixture run: requests, successes, p50 and p99 in ms, and the
// verdicts of an SLO set {p99 ≤ 150 ms, availability ≥ 99.9%}.
func run(backend, variant string, req, ok int64, p50, p99 float64) bench.RunSummary {
	avail := float64(ok) / float64(req)
	r := bench.RunSummary{Backend: backend, Variant: variant,
		Stats: bench.Stats{Requests: req, Successes: ok, Availability: avail,
			LatencyMS: bench.Latency{P50: p50, P99: p99, P999: p99 * 2}}}
	r.SLO = []bench.SLOVerdict{
		{Metric: "p99", Bound: "max", Threshold: 150, Value: p99, Unit: "ms", Pass: p99 <= 150},
		{Metric: "availability", Bound: "min", Threshold: 0.999, Value: avail, Unit: "ratio", Pass: avail >= 0.999},
	}
	return r
}

func summary(runs ...bench.RunSummary) *bench.Summary {
	return &bench.Summary{Schema: bench.SummarySchema, Scenario: "fixture", Runs: runs}
}

func mustContain(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("answer lacks %q:\n%s", w, got)
		}
	}
}

func TestAnswerWinnerBySLOMetric(t *testing.T) {
	s := summary(
		run("sim", "round_robin", 10000, 9996, 12, 497),
		run("sim", "least_request", 10000, 10000, 12, 82.8),
		run("sim", "peak_ewma", 10000, 10000, 11.8, 38.3),
	)
	if w := Winner(s, "sim"); w != "peak_ewma" {
		t.Fatalf("winner %q, want peak_ewma", w)
	}
	got := Answer(s, "sim")
	mustContain(t, got,
		"On the simulator, peak_ewma does best (2 of 2 SLOs met)",
		"its p99 is 38.3 ms, 54% lower than the runner-up least_request's 82.8 ms",
		"The last, round_robin, gives p99 497 ms (13.0 times peak_ewma's)",
		"SLOs missed: round_robin — p99 497 ms (≤ 150 ms)",
	)
}

func TestAnswerFewestMissedSLOsWins(t *testing.T) {
	// fast has the lower p99 but loses requests: meeting the SLOs comes
	// before the metric.
	s := summary(
		run("sim", "fast", 10000, 9000, 5, 20),
		run("sim", "safe", 10000, 10000, 6, 30),
	)
	got := Answer(s, "sim")
	mustContain(t, got, "safe does best: it misses no SLO, fewer than any other variant (next: fast, which misses 1)",
		"though with p99 30.0 ms against 20.0 ms", "fast — availability 90.000% (≥ 99.9%)")
}

// An SLO set for one variant alone does not rank it: zone-failure's
// locality-failover meets an extra SLO of its own and has the higher p99,
// so zone-blind does best; retry-storm's with-budget misses an extra SLO
// of its own (its error rate) and keeps more requests than no-retries,
// so it does best though it misses more SLOs in all.
func TestAnswerIgnoresVariantOnlySLOs(t *testing.T) {
	blind := run("sim", "zone-blind", 10000, 10000, 13, 35.7)
	local := run("sim", "locality-failover", 10000, 10000, 13.2, 36.3)
	local.SLO = append(local.SLO, bench.SLOVerdict{Metric: "p50", Bound: "max", Threshold: 25, Value: 13.2, Unit: "ms", Pass: true})
	s := summary(blind, local)
	if w := Winner(s, "sim"); w != "zone-blind" {
		t.Errorf("winner %q, want zone-blind: locality-failover's own p50 SLO must not count", w)
	}
	mustContain(t, Answer(s, "sim"), "zone-blind does best (2 of 2 SLOs met): its p99 is 35.7 ms, 2% lower than the runner-up locality-failover's 36.3 ms")

	none := run("sim", "no-retries", 10000, 8221, 10, 40)
	budget := run("sim", "with-budget", 10000, 9621, 10, 40)
	budget.SLO = append(budget.SLO, bench.SLOVerdict{Metric: "error_rate", Bound: "max", Threshold: 0.01, Value: 0.0379, Unit: "ratio"})
	if w := Winner(summary(none, budget), "sim"); w != "with-budget" {
		t.Errorf("winner %q, want with-budget: its own error-rate SLO must not rank it below no-retries", w)
	}
}

// A load that rises in steps has a knee per variant, which is a capacity
// test's answer: the paragraph gives each, with its bound when the steps
// did not bracket it.
func TestAnswerGivesTheKnees(t *testing.T) {
	rr := run("sim", "round_robin", 10000, 10000, 12, 120)
	rr.Knee = &bench.Knee{Metric: "p99", MaxMS: 50, RateRPS: 1402.4}
	lr := run("sim", "least_request", 10000, 10000, 12, 122)
	lr.Knee = &bench.Knee{Metric: "p99", MaxMS: 50, RateRPS: 2000, Bound: bench.KneeAbove}
	mustContain(t, Answer(summary(rr, lr), "sim"), "The knee, the offered rate at which p99 first exceeds 50 ms: round_robin 1402/s, least_request > 2000/s.")
	if got := Answer(summary(run("sim", "a", 100, 100, 1, 2)), "sim"); strings.Contains(got, "knee") {
		t.Errorf("a constant load's answer mentions a knee: %s", got)
	}
}

// With repeats every run has its own verdicts, and the answer counts them
// as verdicts over the repeats, not as SLOs.
func TestAnswerCountsVerdictsOverRepeats(t *testing.T) {
	var runs []bench.RunSummary
	for i, v := range []struct {
		name string
		p99  float64
	}{{"a", 40}, {"a", 160}, {"b", 90}, {"b", 100}} {
		r := run("sim", v.name, 10000, 10000, 10, v.p99)
		r.Repeat = i % 2
		runs = append(runs, r)
	}
	mustContain(t, Answer(summary(runs...), "sim"), "b does best: it misses no SLO, fewer than any other variant (next: a, which misses 1)",
		"SLOs missed: a — p99 160 ms (≤ 150 ms)")
	ok := []bench.RunSummary{run("sim", "a", 100, 100, 1, 20), run("sim", "a", 100, 100, 1, 22), run("sim", "b", 100, 100, 1, 30), run("sim", "b", 100, 100, 1, 31)}
	ok[1].Repeat, ok[3].Repeat = 1, 1
	mustContain(t, Answer(summary(ok...), "sim"), "a does best (4 of 4 SLO verdicts met over 2 repeats)")
}

func TestAnswerTie(t *testing.T) {
	s := summary(
		run("sim", "a", 10000, 10000, 5, 30.0),
		run("sim", "b", 10000, 10000, 5, 30.1), // within 0.5%: a tie
	)
	mustContain(t, Answer(s, "sim"), "a and b tie at the top", "Every variant meets every SLO")
}

func TestAnswerNoSLOAndOneVariant(t *testing.T) {
	r := run("local", "only", 1000, 1000, 3, 9)
	r.SLO = nil
	got := Answer(summary(r), "local")
	mustContain(t, got, "On the local backend, the only variant, only, gives p99 9.00 ms, availability 100.000% (the scenario sets no SLO).")
	if Answer(summary(r), "sim") != "No run on the simulator." {
		t.Errorf("a backend without runs: %q", Answer(summary(r), "sim"))
	}
}

func TestAgreement(t *testing.T) {
	agree := summary(
		run("sim", "rr", 10000, 10000, 10, 100),
		run("sim", "lr", 10000, 10000, 9, 50),
		run("local", "rr", 10000, 10000, 12, 110),
		run("local", "lr", 10000, 10000, 11, 55),
	)
	mustContain(t, Agreement(agree, "local"),
		"The simulator and the local backend agree: both rank lr first, and 4 of 4 SLO verdicts match.",
		"The simulator's p50 is 17–18% below and its p99 9% below the measured one",
		"availability differs by at most 0.00 percentage points")

	disagree := summary(
		run("sim", "rr", 10000, 10000, 10, 100),
		run("sim", "lr", 10000, 10000, 9, 50),
		run("local", "rr", 10000, 10000, 12, 60),
		run("local", "lr", 10000, 10000, 11, 170),
	)
	mustContain(t, Agreement(disagree, "local"),
		"The simulator and the local backend disagree: the simulator ranks lr first, local measures rr best, and 3 of 4 SLO verdicts match.",
		"lr's p99 passes on the simulator and fails on local",
		"its p99 71% below to 67% above the measured one")

	partly := summary(
		run("sim", "rr", 10000, 10000, 10, 100),
		run("sim", "lr", 10000, 10000, 9, 50),
		run("local", "rr", 10000, 10000, 10, 160),
		run("local", "lr", 10000, 10000, 9, 50),
	)
	mustContain(t, Agreement(partly, "local"), "partly agree: both rank lr first, and 3 of 4 SLO verdicts match")

	// Two variants level at the top of the simulator's ranking, and local
	// separating them by more than a tie: the simulator names the first
	// in the scenario's order, and that is no disagreement.
	level := summary(
		run("sim", "rr", 10000, 10000, 10, 100),
		run("sim", "lr", 10000, 10000, 9, 50),
		run("sim", "ip", 10000, 10000, 9, 50),
		run("local", "rr", 10000, 10000, 12, 110),
		run("local", "lr", 10000, 10000, 11, 56),
		run("local", "ip", 10000, 10000, 11, 55),
	)
	mustContain(t, Agreement(level, "local"),
		"The simulator and the local backend agree: the simulator puts lr and ip level at the top, local measures ip best, and 6 of 6 SLO verdicts match.")
	// The same the other way round: level on local, apart on the simulator.
	levelReal := summary(
		run("sim", "rr", 10000, 10000, 10, 100),
		run("sim", "lr", 10000, 10000, 9, 56),
		run("sim", "ip", 10000, 10000, 9, 50),
		run("local", "rr", 10000, 10000, 12, 110),
		run("local", "lr", 10000, 10000, 11, 55),
		run("local", "ip", 10000, 10000, 11, 55.1),
	)
	mustContain(t, Agreement(levelReal, "local"),
		"The simulator and the local backend agree: the simulator ranks ip first, local measures it level with lr at the top")

	// The same winner, but no verdict in common: that is no agreement.
	apart := summary(
		run("sim", "rr", 10000, 10000, 10, 100),
		run("sim", "lr", 10000, 10000, 9, 50),
		run("local", "rr", 10000, 9800, 30, 200),
		run("local", "lr", 10000, 9800, 29, 180),
	)
	mustContain(t, Agreement(apart, "local"), "disagree: both rank lr first, and 0 of 4 SLO verdicts match")
}

// part is one workload's share of a fixture run: requests, successes and
// p99 in ms.
func part(req, ok int64, p99 float64) bench.Stats {
	return bench.Stats{Requests: req, Successes: ok, Availability: float64(ok) / float64(req), LatencyMS: bench.Latency{P50: 5, P99: p99}}
}

// With several workloads, the answer says which variant serves each best.
func TestAnswerByWorkload(t *testing.T) {
	global := run("sim", "global", 3000, 1500, 10, 28)
	global.Workloads = map[string]bench.Stats{"noisy": part(2000, 900, 27), "quiet": part(1000, 600, 29)}
	per := run("sim", "per-key", 3000, 1200, 10, 28)
	per.Workloads = map[string]bench.Stats{"noisy": part(2000, 200, 29), "quiet": part(1000, 1000, 28)}
	got := Answer(summary(global, per), "sim")
	mustContain(t, got, "By workload: workload noisy gets the highest availability under global (45.000%) and the lowest under per-key (10.000%); workload quiet gets the highest availability under per-key (100.000%) and the lowest under global (60.000%).")
}

// An SLO on one workload ranks the variants by that workload's figure:
// global has the lower p99 over all requests, but the quiet workload,
// which the SLO names, is served only under per-key.
func TestAnswerRanksByAWorkloadSLO(t *testing.T) {
	quietSLO := func(r *bench.RunSummary) {
		q := r.Workloads["quiet"]
		r.SLO = append([]bench.SLOVerdict{{Metric: "availability", Workload: "quiet", Bound: "min", Threshold: 0.999,
			Value: q.Availability, Unit: "ratio", Pass: q.Availability >= 0.999}}, r.SLO[:1]...)
	}
	global := run("sim", "global", 3000, 1500, 10, 27)
	global.Workloads = map[string]bench.Stats{"noisy": part(2000, 900, 27), "quiet": part(1000, 600, 27)}
	quietSLO(&global)
	per := run("sim", "per-key", 3000, 1200, 10, 28)
	per.Workloads = map[string]bench.Stats{"noisy": part(2000, 200, 29), "quiet": part(1000, 1000, 28)}
	quietSLO(&per)
	perIP := run("sim", "per-ip", 3000, 1200, 10, 29)
	perIP.Workloads = map[string]bench.Stats{"noisy": part(2000, 200, 29), "quiet": part(1000, 999, 29)}
	quietSLO(&perIP)
	s := summary(global, perIP, per)
	if w := Winner(s, "sim"); w != "per-key" {
		t.Fatalf("winner %q, want per-key", w)
	}
	mustContain(t, Answer(s, "sim"),
		"On the simulator, per-key does best (2 of 2 SLOs met): its availability of quiet is 100.000%",
		"the runner-up per-ip's 99.900%",
		"SLOs missed: global — availability of quiet 60.000% (≥ 99.9%)")
}

// TestPredictionTableCPU: a local page sets the cores the simulator's
// host model predicted beside the local process's, when both have them,
// and leaves the table out otherwise.
func TestPredictionTableCPU(t *testing.T) {
	res := &Results{Runs: []Row{
		{Backend: "sim", Variant: "rr", P50MS: 10, P99MS: 20, CPUCores: 1.1},
		{Backend: "local", Variant: "rr", P50MS: 11, P99MS: 21, CPUCores: 0.97},
	}}
	var out strings.Builder
	writePredictionTable(&out, res)
	if want := "| rr | 1.10 | 0.97 | +13.4% |"; !strings.Contains(out.String(), want) {
		t.Errorf("the table lacks %q:\n%s", want, out.String())
	}
	res.Runs[0].CPUCores = 0
	out.Reset()
	writePredictionTable(&out, res)
	if strings.Contains(out.String(), "CPU sim") {
		t.Errorf("a CPU table without the simulator's figure:\n%s", out.String())
	}
}
