package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
)

// publishedFigure is one expected figure of a shipped check: the value
// queueing theory gives, how the description quotes it, the tolerance, and
// where the run measured it.
type publishedFigure struct {
	what   string
	want   float64 // in the unit of quoted and of measured
	quoted string  // the figure as the description writes it
	tol    float64 // relative
	// measured reads the figure from the variant's run.
	variant  string
	measured func(r bench.RunSummary) float64
}

func routeMean(route string) func(bench.RunSummary) float64 {
	return func(r bench.RunSummary) float64 { return r.Routes[route].LatencyMS.Mean }
}

// ekSigma solves σ = A*(μ(1−σ)) for the E_k/M/1 queue, whose interarrival
// times are Erlang-k with mean 1/λ: A*(s) = (kλ/(kλ+s))^k (Kleinrock,
// Queueing Systems Vol. 1, 1975, §6.4). Fixed-point iteration from 0
// converges to the root inside (0, 1) when λ < μ.
func ekSigma(k int, lambda, mu float64) float64 {
	sigma := 0.0
	for range 10000 {
		next := math.Pow(float64(k)*lambda/(float64(k)*lambda+mu*(1-sigma)), float64(k))
		if math.Abs(next-sigma) < 1e-13 {
			return next
		}
		sigma = next
	}
	return sigma
}

// publishedChecks lists the figures each shipped check must reproduce,
// computed here from the published formulas.
func publishedChecks() map[string][]publishedFigure {
	ms := func(s float64) float64 { return s * 1e3 }
	// erlang-c: μ = 100/s (10ms exponential), 640/s per route, c = 8.
	const mu, lambda, c = 100.0, 640.0, 8
	pwait := erlangC(c, lambda/mu)
	pooled := ms(pwait/(c*mu-lambda) + 1/mu)
	perReplica := lambda / c
	mm1 := 1 / (mu - perReplica)
	sigma := ekSigma(c, perReplica, mu)
	ek := ms(1 / (mu * (1 - sigma)))
	// power-of-two-choices: μ = 100/s, ρ = 0.9.
	const rho = 0.9
	return map[string][]publishedFigure{
		"erlang-c": {
			{what: "M/M/8 P(wait)", want: pwait, quoted: fmt.Sprintf("probability %.4f", pwait)},
			{what: "E8/M/1 sigma", want: sigma, quoted: fmt.Sprintf("sigma = %.4f", sigma)},
			{what: "pooled mean, random", want: pooled, quoted: fmt.Sprintf("%.2fms", pooled), tol: 0.05, variant: "random", measured: routeMean("pooled")},
			{what: "pooled mean, round_robin", want: pooled, quoted: fmt.Sprintf("%.2fms", pooled), tol: 0.05, variant: "round_robin", measured: routeMean("pooled")},
			{what: "split mean, random (M/M/1)", want: ms(mm1), quoted: fmt.Sprintf("mean %.2fms", ms(mm1)), tol: 0.05, variant: "random", measured: routeMean("split")},
			{what: "split p50, random (M/M/1)", want: ms(mm1 * math.Ln2), quoted: fmt.Sprintf("median %.2fms", ms(mm1*math.Ln2)), tol: 0.05, variant: "random",
				measured: func(r bench.RunSummary) float64 { return r.Routes["split"].LatencyMS.P50 }},
			{what: "split p99, random (M/M/1)", want: ms(mm1 * math.Log(100)), quoted: fmt.Sprintf("p99 %.2fms", ms(mm1*math.Log(100))), tol: 0.15, variant: "random",
				measured: func(r bench.RunSummary) float64 { return r.Routes["split"].LatencyMS.P99 }},
			{what: "split mean, round_robin (E8/M/1)", want: ek, quoted: fmt.Sprintf("%.2fms", ek), tol: 0.05, variant: "round_robin", measured: routeMean("split")},
		},
		"power-of-two-choices": {
			{what: "random mean (M/M/1)", want: ms(1 / (mu * (1 - rho))), quoted: "1/(mu - lambda) = 100ms", tol: 0.05, variant: "random",
				measured: func(r bench.RunSummary) float64 { return r.LatencyMS.Mean }},
			{what: "two choices mean (supermarket)", want: ms(supermarketMean(rho, 2) / mu), quoted: fmt.Sprintf("%.2fms for two choices", ms(supermarketMean(rho, 2)/mu)), tol: 0.05, variant: "two_choices",
				measured: func(r bench.RunSummary) float64 { return r.LatencyMS.Mean }},
			{what: "three choices mean (supermarket)", want: ms(supermarketMean(rho, 3) / mu), quoted: fmt.Sprintf("%.2fms for three", ms(supermarketMean(rho, 3)/mu)), tol: 0.05, variant: "three_choices",
				measured: func(r bench.RunSummary) float64 { return r.LatencyMS.Mean }},
			{what: "improvement of two choices", want: (1 / (1 - rho)) / supermarketMean(rho, 2), quoted: fmt.Sprintf("a %.1f-fold improvement", (1/(1-rho))/supermarketMean(rho, 2))},
		},
	}
}

// TestPublishedChecks runs every shipped check (scenarios/checks) on the
// simulator with its own seed and compares the figures its description
// quotes, computed here from the published formulas, with the run.
func TestPublishedChecks(t *testing.T) {
	registerOnce.Do(func() { bench.Register(Backend{}) })
	want := publishedChecks()
	checks := scenarios.Checks()
	if len(checks) != len(want) {
		t.Errorf("%d shipped checks, %d checked here", len(checks), len(want))
	}
	for _, e := range checks {
		t.Run(e.Name, func(t *testing.T) {
			figures, ok := want[e.Name]
			if !ok {
				t.Fatalf("check %s has no expected figures here", e.Name)
			}
			p, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
			if err != nil {
				t.Fatal(err)
			}
			if p.Seed != 1 {
				t.Errorf("seed %d: the figures were measured with seed 1", p.Seed)
			}
			for _, f := range figures {
				if !strings.Contains(p.Description, f.quoted) {
					t.Errorf("%s: the description does not quote %q", f.what, f.quoted)
				}
			}
			sum, err := bench.Run(t.Context(), p, bench.RunOptions{Backends: []string{scenarios.BackendSim}, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			runs := map[string]bench.RunSummary{}
			for _, r := range sum.Runs {
				runs[r.Variant] = r
			}
			for _, f := range figures {
				if f.measured == nil {
					continue
				}
				got := f.measured(runs[f.variant])
				t.Logf("%s: %.3f, published %.3f (%+.1f%%, tolerance ±%.0f%%)", f.what, got, f.want, 100*(got/f.want-1), 100*f.tol)
				if !within(got, f.want, f.tol) {
					t.Errorf("%s: %.3f outside ±%.0f%% of the published %.3f", f.what, got, 100*f.tol, f.want)
				}
			}
			if !sum.SLOPass {
				t.Error("a request failed: the checks assume every request is served")
			}
		})
	}
}
