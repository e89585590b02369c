package bench

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestAggregatorCountsAndPercentiles(t *testing.T) {
	a := NewAggregator(time.Second, time.Second)
	// Warm-up results appear in buckets but not in totals.
	a.Record(Result{Start: 500 * time.Millisecond, Latency: time.Hour, Kind: KindOK, Instance: "p[0]"})
	// 1000 successes with latencies 1..1000 ms, spread over 10 s.
	for i := 1; i <= 1000; i++ {
		a.Record(Result{
			Start:    time.Second + time.Duration(i)*9*time.Millisecond,
			Latency:  time.Duration(i) * time.Millisecond,
			Status:   200,
			Instance: []string{"p[0]", "p[1]"}[i%2],
			Retries:  1,
		})
	}
	a.Record(Result{Start: 2 * time.Second, Latency: time.Millisecond, Kind: KindTimeout})
	a.Record(Result{Start: 2 * time.Second, Latency: time.Millisecond, Status: 503, Kind: KindStatus5xx, Instance: "p[1]"})
	a.Record(Result{Start: 2 * time.Second, Latency: time.Millisecond, Status: 429, Kind: KindStatus429})

	s, err := a.Summarize(11 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 1003 || s.Successes != 1000 {
		t.Fatalf("requests=%d successes=%d, want 1003 and 1000", s.Requests, s.Successes)
	}
	wantErrs := map[string]int64{"timeout": 1, "status_5xx": 1, "status_429": 1}
	for k, n := range wantErrs {
		if s.Errors[k] != n {
			t.Errorf("errors[%s]=%d, want %d", k, s.Errors[k], n)
		}
	}
	if len(s.Errors) != len(wantErrs) {
		t.Errorf("errors = %v, want only %v", s.Errors, wantErrs)
	}
	if got, want := s.Availability, round(1000.0/1003.0, 6); got != want {
		t.Errorf("availability=%v, want %v", got, want)
	}
	if got := s.ThroughputRPS; got != 100 {
		t.Errorf("throughput=%v, want 100 (1000 successes over the 10 s window)", got)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", s.LatencyMS.P50, 500},
		{"p90", s.LatencyMS.P90, 900},
		{"p99", s.LatencyMS.P99, 990},
		{"max", s.LatencyMS.Max, 1000},
		{"mean", s.LatencyMS.Mean, 500.5},
	} {
		if math.Abs(c.got-c.want)/c.want > 0.002 { // HDR at 3 significant digits
			t.Errorf("%s=%v, want %v within 0.2%%", c.name, c.got, c.want)
		}
	}
	if s.PerInstance["p[0]"] != 500 || s.PerInstance["p[1]"] != 501 {
		t.Errorf("per_instance=%v", s.PerInstance)
	}
	if s.Retries != 1000 {
		t.Errorf("retries=%d, want 1000", s.Retries)
	}
	if len(s.Buckets) != 11 {
		t.Fatalf("%d buckets, want 11", len(s.Buckets))
	}
	if b := s.Buckets[0]; b.Requests != 1 || b.Successes != 1 {
		t.Errorf("warm-up bucket = %+v, want the warm-up request", b)
	}
	h, err := DecodeHistogram(s.LatencyHDR)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 1000 {
		t.Errorf("decoded histogram holds %d values, want 1000", h.TotalCount())
	}
}

// Buckets count the retries and hedges of the requests that started in
// them; a bucket without hedges leaves the field out of the JSON.
func TestAggregatorBucketRetriesAndHedges(t *testing.T) {
	a := NewAggregator(0, time.Second)
	a.Record(Result{Start: 100 * time.Millisecond, Latency: time.Millisecond, Status: 200, Retries: 2, Hedges: 1})
	a.Record(Result{Start: 900 * time.Millisecond, Latency: time.Millisecond, Status: 200, Hedges: 3})
	a.Record(Result{Start: 1500 * time.Millisecond, Latency: time.Millisecond, Status: 200, Retries: 1})
	s, err := a.Summarize(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Buckets) != 2 {
		t.Fatalf("%d buckets, want 2", len(s.Buckets))
	}
	if b := s.Buckets[0]; b.Retries != 2 || b.Hedges != 4 {
		t.Errorf("bucket 0 retries=%d hedges=%d, want 2 and 4", b.Retries, b.Hedges)
	}
	if b := s.Buckets[1]; b.Retries != 1 || b.Hedges != 0 {
		t.Errorf("bucket 1 retries=%d hedges=%d, want 1 and 0", b.Retries, b.Hedges)
	}
	if s.Hedges != 4 {
		t.Errorf("run hedges=%d, want 4", s.Hedges)
	}
	raw, err := json.Marshal(s.Buckets[1])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "hedges") {
		t.Errorf("a bucket without hedges is written %s; want the field omitted", raw)
	}
}

func TestAggregatorEmpty(t *testing.T) {
	s, err := NewAggregator(0, 0).Summarize(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 0 || s.Availability != 0 || s.LatencyMS != (Latency{}) {
		t.Errorf("empty run summary = %+v", s)
	}
}

func TestKindNamesRoundTrip(t *testing.T) {
	for _, k := range Kinds() {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("bogus"); err == nil {
		t.Error("ParseKind accepted an unknown name")
	}
}

func TestKindFromStatus(t *testing.T) {
	for _, c := range []struct {
		status int
		want   Kind
	}{
		{200, KindOK}, {201, KindOK}, {304, KindOK}, {402, KindOK},
		{400, KindStatus4xx}, {401, KindStatus4xx}, {429, KindStatus429},
		{500, KindStatus5xx}, {503, KindStatus5xx}, {504, KindStatus5xx},
	} {
		if got := KindFromStatus(c.status); got != c.want {
			t.Errorf("KindFromStatus(%d) = %v, want %v", c.status, got, c.want)
		}
	}
}

func TestRepeatSeed(t *testing.T) {
	if RepeatSeed(42, 0) != 42 {
		t.Error("repeat 0 must use the plan's seed")
	}
	seen := map[uint64]bool{}
	for r := 0; r < 100; r++ {
		s := RepeatSeed(42, r)
		if seen[s] {
			t.Fatalf("repeat %d reuses a seed", r)
		}
		seen[s] = true
	}
}

func BenchmarkAggregatorRecord(b *testing.B) {
	a := NewAggregator(0, time.Second)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.Record(Result{Start: time.Duration(i%600) * time.Second, Latency: time.Duration(i%5000) * time.Microsecond, Status: 200, Instance: "payments[0]"})
	}
}

func TestAggregatorBreakdowns(t *testing.T) {
	a := NewAggregator(time.Second, time.Second)
	// In the warm-up: counted nowhere but the buckets.
	a.Record(Result{Start: 0, Latency: time.Hour, Route: "checkout", Workload: "pay", Instance: "p[0]", Scheduled: true, Lag: time.Hour})
	for i := range 100 {
		a.Record(Result{Start: 2 * time.Second, Latency: 10 * time.Millisecond, Route: "checkout", Workload: "pay",
			Instance: []string{"p[0]", "p[1]"}[i%2], Scheduled: true, Lag: time.Duration(i) * 100 * time.Microsecond})
	}
	a.Record(Result{Start: 2 * time.Second, Latency: time.Millisecond, Kind: KindStatus429, Route: "checkout", Workload: "pay", Scheduled: true})
	for range 10 {
		a.Record(Result{Start: 3 * time.Second, Latency: 100 * time.Millisecond, Route: "lookup", Workload: "users", Instance: "p[1]"})
	}
	a.Record(Result{Start: 3 * time.Second, Latency: time.Millisecond, Kind: KindStatus4xx, Workload: "stray"})

	s, err := a.Summarize(11 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	co := s.Routes["checkout"]
	if co.Requests != 101 || co.Successes != 100 || co.Errors["status_429"] != 1 || co.ThroughputRPS != 10 || math.Abs(co.LatencyMS.P99-10) > 0.01 {
		t.Errorf("route checkout: %+v", co)
	}
	if lu := s.Routes["lookup"]; lu.Requests != 10 || math.Abs(lu.LatencyMS.P50-100) > 0.1 || lu.ScheduleLag != nil {
		t.Errorf("route lookup (closed loop): %+v", lu)
	}
	if n := s.Routes[NoRoute]; n.Requests != 1 || n.Errors["status_4xx"] != 1 {
		t.Errorf("unrouted: %+v", n)
	}
	if w := s.Workloads["pay"]; w.Requests != 101 || w.ScheduleLag == nil || w.ScheduleLag.Requests != 101 {
		t.Errorf("workload pay: %+v", w)
	}
	if p1 := s.Instances["p[1]"]; p1.Requests != 60 || p1.Requests != s.PerInstance["p[1]"] || p1.ScheduleLag != nil {
		t.Errorf("instance p[1]: %+v (per_instance %d)", p1, s.PerInstance["p[1]"])
	}
	// Lags 0, 0.1, ..., 9.9 ms and one 0: p99 ≈ 9.8 ms, under the default 10 ms.
	lag := s.ScheduleLag
	if lag == nil || lag.Requests != 101 || lag.MaxMS < 9.9 || lag.MaxMS > 9.91 || lag.Exceeded || lag.BoundP99MS != 10 || s.Untrustworthy != "" {
		t.Fatalf("schedule lag %+v, untrustworthy %q", lag, s.Untrustworthy)
	}
	a.SetMaxScheduleLag(5 * time.Millisecond)
	s, err = a.Summarize(11 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !s.ScheduleLag.Exceeded || s.Untrustworthy == "" {
		t.Errorf("past a 5 ms bound: %+v, untrustworthy %q", s.ScheduleLag, s.Untrustworthy)
	}
}

// TestSummaryReadsOldFiles reads a summary written before the breakdowns
// and the schedule lag existed.
func TestSummaryReadsOldFiles(t *testing.T) {
	old := `{"schema":"meshbench.summary/v1","scenario":"x","seed":1,"partial":false,"slo_pass":true,
"runs":[{"backend":"sim","variant":"v","repeat":0,"seed":1,"duration_s":1,"requests":3,"successes":3,
"errors":{},"availability":1,"throughput_rps":3,"latency_ms":{"mean":1,"p50":1,"p90":1,"p99":1,"p999":1,"max":1},
"latency_hdr":"","retries":0,"hedges":0,"per_instance":{"p[0]":3},"slo":[],"buckets":[]}]}`
	path := t.TempDir() + "/summary.json"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Runs[0]
	if r.Requests != 3 || r.PerInstance["p[0]"] != 3 || r.Routes != nil || r.ScheduleLag != nil || r.Untrustworthy != "" {
		t.Fatalf("old summary read as %+v", r)
	}
}

// TestBreakdownsAddUp: whatever the results, the routes' counts add up to
// the totals, so do the workloads' of requests that name one, and every
// instance's stats agree with per_instance.
func TestBreakdownsAddUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := NewAggregator(time.Duration(rapid.IntRange(0, 3).Draw(t, "warmup"))*time.Second, 0)
		n := rapid.IntRange(0, 200).Draw(t, "n")
		for i := range n {
			a.Record(Result{
				Start:     time.Duration(rapid.IntRange(0, 9999).Draw(t, "start")) * time.Millisecond,
				Latency:   time.Duration(rapid.IntRange(0, 5000).Draw(t, "latency")) * time.Millisecond,
				Kind:      Kind(rapid.IntRange(0, int(numKinds)-1).Draw(t, "kind")),
				Route:     rapid.SampledFrom([]string{"", "a", "b"}).Draw(t, "route"),
				Workload:  rapid.SampledFrom([]string{"w1", "w2"}).Draw(t, "workload"),
				Instance:  rapid.SampledFrom([]string{"", "p[0]", "p[1]"}).Draw(t, "instance"),
				Scheduled: i%2 == 0,
				Lag:       time.Duration(rapid.IntRange(0, 50).Draw(t, "lag")) * time.Millisecond,
			})
		}
		s, err := a.Summarize(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for name, parts := range map[string]map[string]Stats{"routes": s.Routes, "workloads": s.Workloads} {
			var req, ok int64
			for _, p := range parts {
				req += p.Requests
				ok += p.Successes
			}
			if req != s.Requests || ok != s.Successes {
				t.Fatalf("%s add up to %d requests, %d successes; totals %d, %d", name, req, ok, s.Requests, s.Successes)
			}
		}
		for id, st := range s.Instances {
			if st.Requests != s.PerInstance[id] || st.ScheduleLag != nil {
				t.Fatalf("instance %s: %+v, per_instance %d", id, st, s.PerInstance[id])
			}
		}
		if len(s.Instances) != len(s.PerInstance) {
			t.Fatalf("instances %d, per_instance %d", len(s.Instances), len(s.PerInstance))
		}
		if s.ScheduleLag != nil && (s.ScheduleLag.Requests > s.Requests || s.ScheduleLag.Exceeded != (s.ScheduleLag.P99MS > 10)) {
			t.Fatalf("schedule lag %+v of %d requests", s.ScheduleLag, s.Requests)
		}
	})
}
