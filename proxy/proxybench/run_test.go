package proxybench

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRunShort runs the whole bench briefly, unpinned, with the test
// binary standing in for meshbench: every installed target is measured
// without errors, the others are skipped with a reason, and the report
// prints and encodes. It checks what was measured, never how fast.
func TestRunShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts proxy processes")
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{
		Duration: 200 * time.Millisecond, Warmup: 100 * time.Millisecond, Rate: 200, Connections: 4, Rounds: 2,
		MeshbenchCommand: childCommand, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if len(rep.Targets) != len(AllTargets) {
		t.Fatalf("%d targets, want %d", len(rep.Targets), len(AllTargets))
	}
	for i, tg := range rep.Targets {
		if tg.Name != AllTargets[i] {
			t.Errorf("target %d is %s, want %s", i, tg.Name, AllTargets[i])
		}
		if tg.Skipped != "" {
			if tg.Name == TargetDirect || tg.Name == TargetMeshbench {
				t.Errorf("%s skipped: %s", tg.Name, tg.Skipped)
			}
			continue
		}
		if len(tg.Rounds) != 2 {
			t.Errorf("%s: %d rounds, want 2", tg.Name, len(tg.Rounds))
		}
		for _, ph := range []Phase{tg.Rate, tg.Saturation} {
			if ph.Requests == 0 || ph.Errors != 0 || ph.Throughput <= 0 || ph.P50Ms <= 0 || ph.P99Ms < ph.P50Ms {
				t.Errorf("%s: phase %+v", tg.Name, ph)
			}
		}
		// The middleware route answers through every proxy (the key is
		// accepted, the rate limit never refuses); wrk and h2load, when
		// installed, measure without errors.
		for i, rd := range tg.Rounds {
			if tg.Name != TargetDirect && rd.Middleware == nil {
				t.Errorf("%s round %d: no middleware phase", tg.Name, i)
			}
			if _, err := exec.LookPath("wrk"); err == nil && (rd.Wrk == nil || tg.Name != TargetDirect && rd.WrkMiddleware == nil) {
				t.Errorf("%s round %d: wrk installed but not run", tg.Name, i)
			}
			if _, err := exec.LookPath("h2load"); err == nil && tg.Name != TargetDirect && rd.H2load == nil {
				t.Errorf("%s round %d: h2load installed but not run", tg.Name, i)
			}
			for _, ph := range []*Phase{rd.Middleware, rd.Wrk, rd.WrkMiddleware, rd.H2load} {
				if ph != nil && (ph.Requests == 0 || ph.Errors != 0 || ph.Throughput <= 0) {
					t.Errorf("%s round %d: %s phase %+v: %s", tg.Name, i, ph.Tool, ph, ph.firstError)
				}
			}
		}
		if tg.Name != TargetDirect && (tg.Saturation.CPUSeconds < 0 || tg.ThroughputRatio <= 0) {
			t.Errorf("%s: cpu %v ratio %v", tg.Name, tg.Saturation.CPUSeconds, tg.ThroughputRatio)
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"direct", "meshbench", "× direct", "CPU µs/req", "target: meshbench added p99", "medians"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Targets) != len(rep.Targets) {
		t.Fatalf("JSON round trip: %v", err)
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil || c.Duration != DefaultDuration || c.Rate != DefaultRate || c.Connections != DefaultConnections || len(c.Targets) != len(AllTargets) {
		t.Fatalf("defaults %+v %v", c, err)
	}
	if c.Rounds != DefaultRounds {
		t.Errorf("rounds %d, want %d", c.Rounds, DefaultRounds)
	}
	for _, bad := range []Config{{Connections: -1}, {Targets: []string{"envoy"}}, {Duration: -time.Second}, {Rounds: -1}, {Rounds: maxRounds + 1}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestBurstPacer(t *testing.T) {
	p := burstPacer{rate: 5000, slack: time.Millisecond}
	for _, tc := range []struct {
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
	}{
		{0, 0, 0},
		{0, 5, 0},                             // hit 5 is due at 1ms: within the slack
		{0, 10, time.Millisecond},             // due at 2ms, may leave at 1ms
		{3 * time.Millisecond, 10, 0},         // late: at once
		{time.Second, 5000, 0},                // on time
		{time.Second, 5010, time.Millisecond}, // ahead by 2ms
	} {
		if wait, stop := p.Pace(tc.elapsed, tc.hits); wait != tc.wait || stop {
			t.Errorf("Pace(%v, %d) = %v %v, want %v", tc.elapsed, tc.hits, wait, stop, tc.wait)
		}
	}
}

// TestMediansOverRounds: a round disturbed by noise on the machine (a
// latency spike in direct's fixed-rate phase, a throughput dip in nginx's
// closed loop) moves neither the added p99 nor the nginx ratio, which are
// medians of per-round comparisons.
func TestMediansOverRounds(t *testing.T) {
	round := func(p99, sat float64) Round {
		return Round{Rate: Phase{P50Ms: 0.1, P99Ms: p99}, Saturation: Phase{Throughput: sat}}
	}
	rep := &Report{Rate: 5000, Rounds: 3, Targets: []Target{
		{Name: TargetDirect, Rounds: []Round{round(1.0, 100000), round(7.0, 100000), round(1.1, 100000)}},
		{Name: TargetMeshbench, Rounds: []Round{round(1.3, 40000), round(1.4, 41000), round(1.5, 39000)}},
		{Name: TargetNginx, Rounds: []Round{round(1.1, 80000), round(1.2, 20000), round(1.2, 82000)}},
	}}
	for i := range rep.Targets {
		rep.Targets[i].pickMedians()
	}
	rep.compare()
	m, _ := rep.Find(TargetMeshbench)
	// Per-round added p99: 0.3, -5.6, 0.4 → median 0.3.
	if d := m.AddedP99Ms - 0.3; d > 1e-9 || d < -1e-9 {
		t.Errorf("added p99 %.3f ms, want 0.300", m.AddedP99Ms)
	}
	if m.Rate.P99Ms != 1.4 || m.Saturation.Throughput != 40000 {
		t.Errorf("median round: p99 %.1f, throughput %.0f; want 1.4 and 40000", m.Rate.P99Ms, m.Saturation.Throughput)
	}
	if m.ThroughputRatio != 0.4 {
		t.Errorf("ratio to direct %.3f, want 0.400", m.ThroughputRatio)
	}
	// Per-round ratio to nginx: 0.5, 2.05, 0.4756 → median 0.5.
	if x, ok := throughputRatio(m, mustFind(t, rep, TargetNginx)); !ok || x != 0.5 {
		t.Errorf("ratio to nginx %.4f, want 0.5000", x)
	}
	var verdicts bytes.Buffer
	for _, l := range rep.Verdicts() {
		verdicts.WriteString(l + "\n")
	}
	if !strings.Contains(verdicts.String(), "= 0.50 × nginx's") || !strings.Contains(verdicts.String(), "= +0.300 ms (want ≤ 1 ms): met") ||
		!strings.Contains(verdicts.String(), "other proxies in the same rounds: nginx +0.100 ms") {
		t.Errorf("verdicts:\n%s", verdicts.String())
	}
}

func mustFind(t *testing.T, r *Report, name string) Target {
	t.Helper()
	tg, ok := r.Find(name)
	if !ok {
		t.Fatalf("no target %s", name)
	}
	return tg
}

// TestGoals checks the table of targets against nginx: medians of
// per-round ratios per load generator, rounds with errors left out, the
// added p99 compared as the ratio of the medians, and the verdicts.
func TestGoals(t *testing.T) {
	round := func(p99, cpu, mwTput, wrkCPU float64, wrkErr int64) Round {
		return Round{Rate: Phase{P99Ms: p99}, Saturation: Phase{Throughput: 1000, CPUPerRequestUs: cpu},
			Middleware: &Phase{Throughput: mwTput}, Wrk: &Phase{Tool: ToolWrk, CPUPerRequestUs: wrkCPU, Errors: wrkErr}}
	}
	rep := &Report{Rate: 5000, Rounds: 3, Targets: []Target{
		{Name: TargetDirect, Rounds: []Round{{Rate: Phase{P99Ms: 1}}, {Rate: Phase{P99Ms: 1}}, {Rate: Phase{P99Ms: 1}}}},
		{Name: TargetMeshbench, Rounds: []Round{round(1.5, 20, 700, 20, 0), round(1.6, 22, 900, 99, 3), round(1.4, 18, 800, 30, 0)}},
		{Name: TargetNginx, Rounds: []Round{round(2.0, 20, 1000, 25, 0), round(1.8, 20, 1000, 25, 0), round(2.2, 20, 1000, 25, 0)}},
	}}
	for i := range rep.Targets {
		rep.Targets[i].pickMedians()
	}
	rep.compare()
	goals := map[string]Goal{}
	for _, g := range rep.Goals() {
		goals[g.What+"/"+g.Load] = g
	}
	check := func(key string, ratio float64, met bool) {
		t.Helper()
		g, ok := goals[key]
		if !ok {
			t.Errorf("no goal %s in %v", key, goals)
			return
		}
		if !near(g.Ratio, ratio) || g.Met != met {
			t.Errorf("%s: ratio %.4f met %v, want %.4f %v", key, g.Ratio, g.Met, ratio, met)
		}
	}
	// CPU ratios 1.0, 1.1, 0.9 → 1.0: met (≤ 1).
	check("CPU per request, plain route/own closed loop", 1.0, true)
	// wrk: round 2 had errors; ratios 0.8 and 1.2 → 1.0.
	check("CPU per request, plain route/wrk", 1.0, true)
	// Middleware throughput 0.7, 0.9, 0.8 → 0.8: met (≥ 0.8).
	check("throughput, middleware route/own closed loop", 0.8, true)
	// Added p99: meshbench 0.5 (median of 0.5, 0.6, 0.4), nginx 1.0 → 0.5.
	check("added p99 at 5000 req/s/vegeta open loop", 0.5, true)
	if _, ok := goals["CPU per request, plain route/h2load h2c"]; ok {
		t.Error("a goal for h2load, which did not run")
	}
	var table bytes.Buffer
	if err := rep.writeGoals(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"meshbench vs nginx", "1.00×", "≥ 0.80", "met"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("goals table lacks %q:\n%s", want, table.String())
		}
	}
}
