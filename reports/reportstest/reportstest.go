// Package reportstest builds synthetic run folders for tests and benchmarks
// of the reports and the CLI: summaries with realistic latency histograms,
// time buckets, fault effects and SLO verdicts, from a seed, without running
// anything.
package reportstest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/meshbench/meshbench/bench"
	"gonum.org/v1/gonum/stat/distuv"
)

// Window is a stretch of the timeline during which the synthetic fleet is
// degraded: latency multiplied by Slowdown, and a fraction ErrorRate of
// requests failing.
type Window struct {
	Start, End time.Duration
	Slowdown   float64
	ErrorRate  float64
}

// Config describes a synthetic summary. Zero fields take the defaults noted.
type Config struct {
	Scenario string        // default "synthetic"
	Question string        // default a fixed question
	Backends []string      // default [sim]
	Variants []string      // default [round-robin, peak-ewma]
	Repeats  int           // default 1
	Duration time.Duration // default 120s
	Warmup   time.Duration // default 0
	Bucket   time.Duration // default 1s
	RPS      float64       // offered load, default 500
	// Instances is the number of replicas of the entry service (default 4).
	Instances int
	// Degraded are windows of degradation (default: none).
	Degraded []Window
	Seed     uint64 // default 1
	// LatencyFactor scales every latency of every run (default 1), to make a
	// "current" run that regressed.
	LatencyFactor float64
	// Routes, when set, breaks each run down by route, and by a workload
	// of the same name sending to it (default: no breakdown, as a summary
	// written before they existed).
	Routes []Route
	// ScheduleLagP99 sets each run's schedule lag (default: none, a
	// closed-loop or older run); runs past bench.DefaultMaxScheduleLag are
	// marked untrustworthy.
	ScheduleLagP99 time.Duration
}

// Route is one route of a synthetic run: its share of the requests and a
// factor on the run's latencies.
type Route struct {
	Name          string
	Share         float64
	LatencyFactor float64 // default 1
}

func (c *Config) defaults() {
	if c.Scenario == "" {
		c.Scenario = "synthetic"
	}
	if c.Question == "" {
		c.Question = "Does peak-EWMA keep p99 under 250 ms when one replica browns out?"
	}
	if len(c.Backends) == 0 {
		c.Backends = []string{"sim"}
	}
	if len(c.Variants) == 0 {
		c.Variants = []string{"round-robin", "peak-ewma"}
	}
	if c.Repeats == 0 {
		c.Repeats = 1
	}
	if c.Duration == 0 {
		c.Duration = 120 * time.Second
	}
	if c.Bucket == 0 {
		c.Bucket = time.Second
	}
	if c.RPS == 0 {
		c.RPS = 500
	}
	if c.Instances == 0 {
		c.Instances = 4
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.LatencyFactor == 0 {
		c.LatencyFactor = 1
	}
}

// Summary builds a deterministic synthetic summary from c.
func Summary(c Config) *bench.Summary {
	c.defaults()
	s := &bench.Summary{Schema: bench.SummarySchema, Scenario: c.Scenario, Question: c.Question, Seed: c.Seed, SLOPass: true}
	for bi, backend := range c.Backends {
		for vi, variant := range c.Variants {
			for rep := range c.Repeats {
				seed := c.Seed*1_000_003 + uint64(bi*10_007+vi*101+rep)
				r := run(c, backend, variant, bi, vi, rep, seed)
				for _, v := range r.SLO {
					s.SLOPass = s.SLOPass && v.Pass
				}
				s.Runs = append(s.Runs, r)
			}
		}
	}
	return s
}

func run(c Config, backend, variant string, bi, vi, rep int, seed uint64) bench.RunSummary {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	// Variants differ in median and tail; backends a little (the simulator
	// is a model), repeats a little more (noise).
	median := (8 + 2*float64(vi)) * (1 + 0.06*float64(bi)) * math.Exp(rng.NormFloat64()*0.03) * c.LatencyFactor
	sigma := 0.55 - 0.08*float64(vi%3) + 0.03*float64(bi)
	// How much worse a degraded window is for this variant: later variants
	// route around trouble better.
	resilience := 1 / (1 + float64(vi))
	ln := distuv.LogNormal{Mu: math.Log(median), Sigma: sigma}

	measured := c.Duration - c.Warmup
	h := hdr.New(1, int64(time.Hour/time.Microsecond), 3)
	rs := bench.RunSummary{
		Backend: backend, Variant: variant, Repeat: rep, Seed: seed,
		DurationS: measured.Seconds(), Stats: bench.Stats{Errors: map[string]int64{}}, PerInstance: map[string]int64{},
	}
	nb := int(math.Ceil(float64(c.Duration) / float64(c.Bucket)))
	for i := range nb {
		start := time.Duration(i) * c.Bucket
		slow, errRate := 1.0, 0.0005
		for _, w := range c.Degraded {
			if start >= w.Start && start < w.End {
				slow = 1 + (w.Slowdown-1)*resilience
				errRate = math.Max(errRate, w.ErrorRate*resilience)
			}
		}
		req := int64(math.Round(c.RPS * c.Bucket.Seconds() * math.Exp(rng.NormFloat64()*0.02)))
		fail := int64(math.Round(float64(req) * errRate * (0.5 + rng.Float64())))
		ok := req - fail
		jit := math.Exp(rng.NormFloat64() * 0.05)
		q := func(p float64) float64 { return round4(ln.Quantile(p) * slow * jit) }
		b := bench.Bucket{
			StartS: start.Seconds(), WidthS: c.Bucket.Seconds(), Requests: req, Successes: ok,
			Retries: fail / 2, Availability: round6(float64(ok) / float64(max(req, 1))),
			ThroughputRPS: round3(float64(ok) / c.Bucket.Seconds()),
			P50MS:         q(0.5), P99MS: q(0.99), P999MS: q(0.999),
		}
		rs.Buckets = append(rs.Buckets, b)
		if start < c.Warmup {
			continue
		}
		rs.Requests += req
		rs.Successes += ok
		rs.Retries += fail / 2
		if fail > 0 {
			rs.Errors["status_5xx"] += fail - fail/3
			if fail/3 > 0 {
				rs.Errors["timeout"] += fail / 3
			}
		}
		// The bucket's successes, spread over 50 strata of its latency
		// distribution: enough for a smooth whole-run histogram, and
		// independent of the request count.
		const strata = 50
		for k := range strata {
			p := (float64(k) + 0.5) / strata
			n := ok / strata
			if int64(k) < ok%strata {
				n++
			}
			if n > 0 {
				_ = h.RecordValues(int64(ln.Quantile(p)*slow*jit*1000), n)
			}
		}
		// A thin tail beyond the strata, so high percentiles differ from the
		// 99th.
		for _, p := range []float64{0.995, 0.999, 0.9995, 0.9999} {
			_ = h.RecordValue(int64(ln.Quantile(p) * slow * jit * 1000))
		}
	}
	if rs.Requests > 0 {
		rs.Availability = round6(float64(rs.Successes) / float64(rs.Requests))
	}
	rs.ThroughputRPS = round3(float64(rs.Successes) / measured.Seconds())
	rs.LatencyMS = bench.Latency{
		Mean: round4(h.Mean() / 1000),
		P50:  ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
	enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		panic(fmt.Sprintf("reportstest: encode histogram: %v", err))
	}
	rs.LatencyHDR = string(enc)
	// The first replica is slower, so a latency-aware balancer sends it less.
	weights := make([]float64, c.Instances)
	var wsum float64
	for i := range weights {
		weights[i] = 1
		if i == 0 {
			weights[i] = 1 - 0.5*float64(vi)/float64(max(len(c.Variants)-1, 1))
		}
		wsum += weights[i]
	}
	var given int64
	for i := range weights {
		n := int64(float64(rs.Successes) * weights[i] / wsum)
		if i == len(weights)-1 {
			n = rs.Successes - given
		}
		given += n
		rs.PerInstance[fmt.Sprintf("payments[%d]", i)] = n
	}
	for _, rt := range c.Routes {
		st := scaledStats(rs.Stats, h, rt, measured)
		if rs.Routes == nil {
			rs.Routes, rs.Workloads = map[string]bench.Stats{}, map[string]bench.Stats{}
		}
		rs.Routes[rt.Name], rs.Workloads[rt.Name] = st, st
	}
	if len(c.Routes) > 0 {
		rs.Instances = map[string]bench.Stats{}
		for id, n := range rs.PerInstance {
			st := scaledStats(rs.Stats, h, Route{Share: float64(n) / float64(max(rs.Successes, 1))}, measured)
			rs.Instances[id] = st
		}
	}
	if lag := c.ScheduleLagP99; lag > 0 {
		p99 := round4(lag.Seconds() * 1000)
		bound := round4(bench.DefaultMaxScheduleLag.Seconds() * 1000)
		rs.ScheduleLag = &bench.ScheduleLag{Requests: rs.Requests, P50MS: round4(p99 / 10), P99MS: p99, MaxMS: round4(p99 * 2), BoundP99MS: bound, Exceeded: p99 > bound}
		if rs.ScheduleLag.Exceeded {
			rs.Untrustworthy = "the load generator fell behind its schedule"
		}
		for k, st := range rs.Workloads {
			st.ScheduleLag = &bench.ScheduleLag{Requests: st.Requests, P50MS: rs.ScheduleLag.P50MS, P99MS: p99, MaxMS: rs.ScheduleLag.MaxMS}
			rs.Workloads[k] = st
		}
	}
	rs.SLO = []bench.SLOVerdict{
		{Metric: "p99", Bound: "max", Threshold: 250, Value: rs.LatencyMS.P99, Unit: "ms", Pass: rs.LatencyMS.P99 <= 250},
		{Metric: "availability", Bound: "min", Threshold: 0.999, Value: rs.Availability, Unit: "ratio", Pass: rs.Availability >= 0.999},
	}
	if backend != "sim" {
		rs.Audit = &bench.Audit{Acknowledged: rs.Successes, Recorded: rs.Successes}
	}
	return rs
}

// scaledStats is a share of a run's totals with its latencies scaled by
// the route's factor.
func scaledStats(t bench.Stats, h *hdr.Histogram, rt Route, measured time.Duration) bench.Stats {
	f := rt.LatencyFactor
	if f == 0 {
		f = 1
	}
	st := bench.Stats{
		Requests:  int64(math.Round(float64(t.Requests) * rt.Share)),
		Successes: int64(math.Round(float64(t.Successes) * rt.Share)),
		Errors:    map[string]int64{},
	}
	for k, n := range t.Errors {
		if m := int64(math.Round(float64(n) * rt.Share)); m > 0 {
			st.Errors[k] = m
		}
	}
	if st.Requests > 0 {
		st.Availability = round6(float64(st.Successes) / float64(st.Requests))
	}
	st.ThroughputRPS = round3(float64(st.Successes) / measured.Seconds())
	sh := hdr.New(1, int64(time.Hour/time.Microsecond), 3)
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			_ = sh.RecordValues(max(int64(float64(b.From)*f), 1), b.Count)
		}
	}
	st.LatencyMS = bench.Latency{
		Mean: round4(sh.Mean() / 1000),
		P50:  ms(sh.ValueAtQuantile(50)), P90: ms(sh.ValueAtQuantile(90)),
		P99: ms(sh.ValueAtQuantile(99)), P999: ms(sh.ValueAtQuantile(99.9)), Max: ms(sh.Max()),
	}
	enc, err := sh.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		panic(fmt.Sprintf("reportstest: encode histogram: %v", err))
	}
	st.LatencyHDR = string(enc)
	return st
}

func ms(us int64) float64      { return round4(float64(us) / 1000) }
func round3(x float64) float64 { return math.Round(x*1e3) / 1e3 }
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Environment is a fixed environment.json.
func Environment() bench.Environment {
	t := time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)
	return bench.Environment{
		Build:    bench.Build{Version: "v0.1.0-test", Commit: "0123456789ab", GoVersion: "go1.26", OS: "linux", Arch: "amd64"},
		Host:     "testhost",
		CPUs:     2,
		CPUModel: "Synthetic CPU @ 3.0GHz",
		Started:  t,
		Finished: t.Add(2 * time.Minute),
		Command:  []string{"meshbench", "run", "synthetic.yaml"},
	}
}

// WriteRun writes a run folder into dir: summary.json, environment.json and,
// when scenario is not nil, scenario.yaml.
func WriteRun(dir string, s *bench.Summary, scenario []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), raw, 0o644); err != nil {
		return err
	}
	env, err := json.MarshalIndent(Environment(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "environment.json"), append(env, '\n'), 0o644); err != nil {
		return err
	}
	if scenario != nil {
		return os.WriteFile(filepath.Join(dir, "scenario.yaml"), scenario, 0o644)
	}
	return nil
}
