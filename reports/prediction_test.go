package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports/reportstest"
	"github.com/meshbench/meshbench/scenarios"
)

// TestPredictionSection renders a run whose stored predictions have each
// verdict and checks summary.md and index.html show the errors, the
// verdicts, the tolerance and the real backend's spread.
func TestPredictionSection(t *testing.T) {
	s := goldenSummary() // sim and local, two repeats each
	var err error
	tol := scenarios.PredictionTolerance{P50: 0.01, P99: 0.05, P999: 0.05, Availability: 0.01}
	if s.Predictions, err = bench.Predict(s, tol); err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, p := range s.Predictions {
		verdicts[p.Variant] = p.Verdict
	}
	// round-robin: p50 −1.6% is outside 1% and outside local's spread
	// (13.57–13.65 ms against sim's 13.36).
	if verdicts["round-robin"] != bench.PredictionFail {
		t.Errorf("round-robin verdict %q, want fail: %+v", verdicts["round-robin"], s.Predictions)
	}
	wantMarkdown(t, s, "### Prediction: sim beside the real backends — ❌ 2 of 2 fail\n", "| round-robin | local | −1.6% ✗ |", "❌ FAIL |",
		"Tolerance: p50 ±1%, p99 ±5%, p99.9 ±5%, availability ±0.01 pp", "**Run-to-run spread beside the prediction**", "13.36 (13.32–13.44) · 13.58 (13.57–13.65)")

	page, dir := renderIndex(t, s, Options{Plots: PlotOptions{Formats: []string{FormatSVG}}})
	for _, want := range []string{`id="prediction-table"`, `id="prediction-spread-table"`, `href="#prediction"`, "<td class=\"bad\">−1.6%</td>", "FAIL</td>", "availability ±0.01 pp"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, PlotsDir, "prediction.svg")); err != nil {
		t.Errorf("no prediction plot: %v", err)
	}
}

// TestPredictionNoise marks a metric outside the tolerance but inside the
// real backend's spread as within noise, in both outputs.
func TestPredictionNoise(t *testing.T) {
	s := goldenSummary()
	// Latencies pass a loose tolerance; availability, −0.039 pp, does not
	// pass 0.01 pp, but sim's 98.976% lies inside local's 98.975%–99.054%.
	tol := scenarios.PredictionTolerance{P50: 0.5, P99: 0.5, P999: 0.5, Availability: 0.01}
	preds, err := bench.Predict(s, tol)
	if err != nil {
		t.Fatal(err)
	}
	s.Predictions = preds
	var pe bench.Prediction
	for _, p := range preds {
		if p.Variant == "peak-ewma" {
			pe = p
		}
	}
	if pe.Verdict != bench.PredictionNoise {
		t.Fatalf("peak-ewma verdict %q, want noise: %+v", pe.Verdict, pe.Metrics)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| −0.039 pp ≈ | ≈ within noise |") || !strings.Contains(md.String(), "≈ 2 within the real backend's noise") {
		t.Errorf("summary.md:\n%s", md.String())
	}
	var page bytes.Buffer
	if err := WriteIndex(&page, &Run{Summary: s}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<td class="near">−0.039 pp</td>`) || !strings.Contains(page.String(), "within noise</td>") {
		t.Error("index.html does not mark the noise")
	}
}

// TestOldSummaryWithoutPredictions reads a run folder and compares
// summaries written before predictions were stored: the report computes
// them with the default tolerance, and compare does not mind.
func TestOldSummaryWithoutPredictions(t *testing.T) {
	old := reportstest.Summary(reportstest.Config{Backends: []string{"sim", "local"}, Duration: 10 * time.Second})
	dir := t.TempDir()
	if err := reportstest.WriteRun(dir, old, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`"predictions"`)) {
		t.Fatal("the old summary has predictions")
	}
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, run.Summary); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Tolerance: p50 ±10%, p99 ±15%, p99.9 ±25%, availability ±0.5 pp") {
		t.Errorf("no prediction with the default tolerance:\n%s", md.String())
	}
	c := NewComparison([]ComparedRun{{Label: "old", Summary: run.Summary}, {Label: "new", Summary: old}})
	var out bytes.Buffer
	if err := c.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "local / peak-ewma") {
		t.Errorf("comparison:\n%s", out.String())
	}
}

// TestKneeSection renders runs whose load rose in steps, judged on the
// knee alone, and checks summary.md and index.html show each run's knee
// with its steps, the knee's error, and the metrics not judged.
func TestKneeSection(t *testing.T) {
	s := goldenSummary() // sim and local, two repeats each
	ms := func(v float64) *float64 { return &v }
	for i := range s.Runs {
		r := &s.Runs[i]
		rate := 1380.0
		if r.Backend != "sim" {
			rate = 1200 + 100*float64(r.Repeat)
		}
		r.Knee = &bench.Knee{Metric: "p99", MaxMS: 50, RateRPS: rate, Steps: []bench.KneeStep{
			{AtS: 0, EndS: 10, RateRPS: 400, ValueMS: ms(35.3)},
			{AtS: 10, EndS: 20, RateRPS: 1100, ValueMS: ms(40.1)},
			{AtS: 20, EndS: 30, RateRPS: 1400, Over: true},
		}}
	}
	tol := scenarios.DefaultPredictionTolerance()
	tol.Judge = []string{bench.PredictKnee}
	var err error
	if s.Predictions, err = bench.Predict(s, tol); err != nil {
		t.Fatal(err)
	}
	wantMarkdown(t, s,
		"| availability error | knee error | verdict |",
		"+10.4% |", // 1380 against the median of 1200 and 1300
		"(not judged)",
		"Tolerance: knee ±15% (the scenario's verdict rests on these alone",
		"### Knee: the offered rate where p99 first exceeds 50 ms",
		"| knee | 400/s | 1100/s | 1400/s |",
		"| 1380/s | 35.30 | 40.10 | no answers ✗ |",
		"1380/s (1380/s–1380/s) · 1250/s (1200/s–1300/s)")
	html, _ := renderIndex(t, s, Options{NoPlots: true})
	for _, want := range []string{"<th>knee error</th>", "<th>knee /s</th>", "1380/s (1380/s–1380/s) · 1250/s (1200/s–1300/s)"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

// TestCPUColumn: runs that measured their CPU get a cpu column beside the
// knee's place, in summary.md and index.html, shown and not judged by
// default.
func TestCPUColumn(t *testing.T) {
	s := goldenSummary() // sim and local, two repeats each
	for i := range s.Runs {
		r := &s.Runs[i]
		r.CPU = &bench.CPU{Cores: 1.1, PerRequestMS: 2.75}
		if r.Backend != "sim" {
			r.CPU.Cores = 0.9 + 0.2*float64(r.Repeat)
		}
	}
	var err error
	if s.Predictions, err = bench.Predict(s, scenarios.DefaultPredictionTolerance()); err != nil {
		t.Fatal(err)
	}
	md := wantMarkdown(t, s,
		"| availability error | cpu error | verdict |",
		"+10.0% (not judged) |", // 1.1 against the mean of 0.9 and 1.1
		"cpu: the mean cores busy after the warm-up",
		"| availability | cpu cores |",
		"1.10 cores (1.10 cores–1.10 cores) · 1.00 cores (0.90 cores–1.10 cores)")
	if strings.Contains(md, "knee") {
		t.Errorf("summary.md has a knee column without knees:\n%s", md)
	}
	html, _ := renderIndex(t, s, Options{NoPlots: true})
	for _, want := range []string{"<th>cpu error</th>", "<th>cpu cores</th>", `title="not judged">`} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

// wantMarkdown checks that s's summary.md holds every string of wants,
// and returns it.
func wantMarkdown(t *testing.T, s *bench.Summary, wants ...string) string {
	t.Helper()
	var md bytes.Buffer
	if err := WriteMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range wants {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	return md.String()
}

// renderIndex writes s as a run folder, renders it with opts and returns
// its index.html and the folder.
func renderIndex(t *testing.T, s *bench.Summary, opts Options) (page, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := reportstest.WriteRun(dir, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), dir
}
