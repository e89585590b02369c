package sim

import (
	"math"
	"testing"
	"time"
)

// size picks the full or the -short version of a test.
func size(full, short time.Duration) time.Duration {
	if testing.Short() {
		return short
	}
	return full
}

// TestMM1 checks one single-worker replica under Poisson load against the
// M/M/1 queue: sojourn time is exponential with rate μ−λ, so its mean is
// 1/(μ−λ) and its 99th percentile ln(100)/(μ−λ). At ρ = 0.5 the run mixes
// fast enough for 3% to be a test of the model rather than of the seed
// (measured over seeds 1–5: within 1.8% at 600s of virtual time).
func TestMM1(t *testing.T) {
	const mu, lambda = 1000.0, 500.0
	dur := size(600*time.Second, 120*time.Second)
	tol := 0.03
	if testing.Short() {
		tol = 0.05
	}
	s := fleetSpec(1, 1, time.Second/time.Duration(mu), lambda, dur, "round_robin")
	mean, p99, n := latencyStats(runSpec(t, s), 10*time.Second)
	wantMean := 1 / (mu - lambda)
	wantP99 := math.Log(100) / (mu - lambda)
	t.Logf("M/M/1 ρ=%.1f n=%d: mean %.3fms (theory %.3fms, %+.2f%%), p99 %.3fms (theory %.3fms, %+.2f%%)",
		lambda/mu, n, mean*1e3, wantMean*1e3, 100*(mean/wantMean-1), p99*1e3, wantP99*1e3, 100*(p99/wantP99-1))
	if !within(mean, wantMean, tol) || !within(p99, wantP99, tol) {
		t.Errorf("outside %.0f%% of theory", tol*100)
	}
}

// erlangC is the probability that an arrival waits in an M/M/c queue with
// offered load a = λ/μ.
func erlangC(c int, a float64) float64 {
	// Erlang B by its stable recurrence, then C from B.
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho + rho*b)
}

// TestMMc checks one replica with c workers against the M/M/c queue: mean
// sojourn is C(c, a)/(cμ−λ) + 1/μ.
func TestMMc(t *testing.T) {
	const c, mu, lambda = 4, 1000.0, 3200.0
	dur := size(600*time.Second, 120*time.Second)
	tol := 0.03
	if testing.Short() {
		tol = 0.05
	}
	s := fleetSpec(1, c, time.Second/time.Duration(mu), lambda, dur, "round_robin")
	mean, _, n := latencyStats(runSpec(t, s), 10*time.Second)
	want := erlangC(c, lambda/mu)/(c*mu-lambda) + 1/mu
	t.Logf("M/M/%d ρ=%.1f n=%d: mean %.4fms (Erlang C %.4fms, %+.2f%%)", c, lambda/(c*mu), n, mean*1e3, want*1e3, 100*(mean/want-1))
	if !within(mean, want, tol) {
		t.Errorf("outside %.0f%% of theory", tol*100)
	}
}

// supermarketMean is the mean sojourn time, in units of 1/μ, of the
// supermarket model (Mitzenmacher 2001) with d choices as n → ∞: the
// fraction of queues with at least i jobs is ρ^((d^i−1)/(d−1)), and by
// Little's law T = Σ_{i≥1} ρ^((d^i−d)/(d−1)).
func supermarketMean(rho float64, d int) float64 {
	var sum float64
	di := float64(d)
	for i := 1; i < 40; i++ {
		term := math.Pow(rho, (di-float64(d))/float64(d-1))
		sum += term
		if term < 1e-12 {
			break
		}
		di *= float64(d)
	}
	return sum
}

// TestPowerOfTwoChoices runs 100 single-worker replicas at 90% load: random
// balancing splits a Poisson stream into 100 independent M/M/1 queues, while
// least_request with two choices is the supermarket model and lands far
// below.
func TestPowerOfTwoChoices(t *testing.T) {
	const n, mu, rho = 100, 1000.0, 0.9
	dur := size(60*time.Second, 5*time.Second)
	warm := size(5*time.Second, time.Second)
	randTol, p2cTol := 0.03, 0.10
	if testing.Short() {
		randTol = 0.08
	}
	mm1 := 1 / (mu * (1 - rho))
	sm := supermarketMean(rho, 2) / mu

	rs := runSpec(t, fleetSpec(n, 1, time.Second/time.Duration(mu), rho*mu*n, dur, "random"))
	randMean, _, cnt := latencyStats(rs, warm)
	t.Logf("random: n=%d mean %.3fms (M/M/1 %.3fms, %+.2f%%)", cnt, randMean*1e3, mm1*1e3, 100*(randMean/mm1-1))
	if !within(randMean, mm1, randTol) {
		t.Errorf("random: mean %.3fms outside %.0f%% of M/M/1", randMean*1e3, randTol*100)
	}

	rs = runSpec(t, fleetSpec(n, 1, time.Second/time.Duration(mu), rho*mu*n, dur, "least_request"))
	p2cMean, _, cnt := latencyStats(rs, warm)
	t.Logf("least_request(2): n=%d mean %.3fms (supermarket n→∞ %.3fms, %+.2f%%; %.2f× M/M/1)",
		cnt, p2cMean*1e3, sm*1e3, 100*(p2cMean/sm-1), p2cMean/mm1)
	if p2cMean > 0.4*mm1 {
		t.Errorf("least_request: mean %.3fms not far below M/M/1 %.3fms", p2cMean*1e3, mm1*1e3)
	}
	// A finite fleet sits a little above the n → ∞ limit, never below.
	if p2cMean < sm*(1-0.02) || p2cMean > sm*(1+p2cTol) {
		t.Errorf("least_request: mean %.3fms not within [−2%%, +%.0f%%] of the supermarket model's %.3fms", p2cMean*1e3, p2cTol*100, sm*1e3)
	}
}
