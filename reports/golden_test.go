package reports

import (
	"bytes"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports/reportstest"
)

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, goldenSummary()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "summary.md.golden", b.Bytes())
}

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, goldenSummary(), nil); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "slo.xml.golden", b.Bytes())
	checkJUnitCounts(t, b.Bytes())
}

// goldenGate gates a regressed copy of a ten-repeat run against the
// original.
func goldenGate(t *testing.T) *bench.GateResult {
	cfg := reportstest.Config{Variants: []string{"peak-ewma"}, Repeats: 10, Duration: 20e9}
	base := reportstest.Summary(cfg)
	cfg.Seed, cfg.LatencyFactor = 2, 1.3
	cur := reportstest.Summary(cfg)
	res, err := bench.Gate(base, cur, bench.GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGateOutputsGolden(t *testing.T) {
	res := goldenGate(t)
	if res.Pass {
		t.Fatal("a 30% slower run passed the gate")
	}
	labels := GateLabels{Baseline: "runs/baseline", Current: "runs/current"}
	var table, md, junit bytes.Buffer
	if err := WriteGateTable(&table, res, labels); err != nil {
		t.Fatal(err)
	}
	if err := WriteGateMarkdown(&md, res, labels); err != nil {
		t.Fatal(err)
	}
	if err := WriteGateJUnit(&junit, "meshbench gate synthetic", res); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "gate.txt.golden", table.Bytes())
	checkGolden(t, "gate.md.golden", md.Bytes())
	checkGolden(t, "gate.xml.golden", junit.Bytes())
	checkJUnitCounts(t, junit.Bytes())
}

func TestGateTableThresholdOnlyNote(t *testing.T) {
	cfg := reportstest.Config{Variants: []string{"peak-ewma"}}
	base := reportstest.Summary(cfg)
	cfg.LatencyFactor = 1.5
	res, err := bench.Gate(base, reportstest.Summary(cfg), bench.GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteGateTable(&b, res, GateLabels{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"REGRESSION (threshold only)", "threshold only: with this few repeats", "--repeat 6", "± ∞", "gate: FAIL"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// checkJUnitCounts parses JUnit XML back and checks that the counts on the
// root and on each suite match the cases.
func checkJUnitCounts(t *testing.T, raw []byte) {
	t.Helper()
	var doc junitSuites
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse junit: %v", err)
	}
	tests, failures, errs := 0, 0, 0
	for _, s := range doc.Suites {
		ft, ff, fe := 0, 0, 0
		for _, c := range s.Cases {
			ft++
			if c.Failure != nil {
				ff++
				if c.Failure.Message == "" {
					t.Errorf("%s: failure without a message", c.Name)
				}
			}
			if c.Error != nil {
				fe++
			}
		}
		if ft != s.Tests || ff != s.Failures || fe != s.Errors {
			t.Errorf("suite %s: counts %d/%d/%d, cases %d/%d/%d", s.Name, s.Tests, s.Failures, s.Errors, ft, ff, fe)
		}
		tests, failures, errs = tests+ft, failures+ff, errs+fe
	}
	if tests != doc.Tests || failures != doc.Failures || errs != doc.Errors {
		t.Errorf("root counts %d/%d/%d, cases %d/%d/%d", doc.Tests, doc.Failures, doc.Errors, tests, failures, errs)
	}
}

func TestJUnitWithGateHasBothKinds(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, goldenSummary(), goldenGate(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `<testsuite name="slo sim/round-robin"`) || !strings.Contains(out, `<testsuite name="gate sim/peak-ewma"`) {
		t.Errorf("slo.xml with a gate lacks a suite:\n%s", out)
	}
	checkJUnitCounts(t, b.Bytes())
}

func TestMarkdownEscapesAndCapsList(t *testing.T) {
	s := &bench.Summary{Scenario: "x", Question: "Is a|b <script> safe?"}
	for i := range maxListed + 5 {
		s.Runs = append(s.Runs, bench.RunSummary{Backend: "sim", Variant: "v", Repeat: i, Stats: bench.Stats{Requests: 1},
			SLO: []bench.SLOVerdict{{Metric: "p99", Bound: "max", Threshold: 1, Value: 2, Unit: "ms"}}})
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>") || !strings.Contains(out, `a\|b`) {
		t.Errorf("question not escaped:\n%s", out)
	}
	if !strings.Contains(out, "… and 5 more") {
		t.Errorf("failed SLO list not capped:\n%s", out)
	}
}

// The writers never fail on odd but valid summaries: no runs, runs without
// histograms or buckets, NaN-free zero values.
func TestWritersOnSparseSummaries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	cases := map[string]*bench.Summary{
		"empty":       {Scenario: "e"},
		"no requests": {Scenario: "z", Runs: []bench.RunSummary{{Backend: "sim", Variant: "v"}}},
		"one":         reportstest.Summary(reportstest.Config{Variants: []string{"only"}, Duration: 3e9, Seed: r.Uint64()%100 + 1}),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			for _, w := range []func(io.Writer) error{
				func(w io.Writer) error { return WriteMarkdown(w, s) },
				func(w io.Writer) error { return WriteJUnit(w, s, nil) },
			} {
				if err := w(io.Discard); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			if _, err := RenderPlots(dir, s, Timeline{}, PlotOptions{Formats: []string{FormatSVG}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGateNotesBusyRuns: the gate's table and its JSON verdict name the
// runs measured on a busy machine.
func TestGateNotesBusyRuns(t *testing.T) {
	res := &bench.GateResult{Alpha: 0.05, Pass: true, Busy: []string{"current local/v repeat 1"}}
	var b bytes.Buffer
	if err := WriteGateTable(&b, res, GateLabels{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if want := "measured on a busy machine (other processes and the hypervisor's steal together at 0.25 cores or more, so the figures carry that work): current local/v repeat 1"; !strings.Contains(b.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, b.String())
	}
	if v := NewGateVerdict(res, GateLabels{"a", "b"}); len(v.Busy) != 1 {
		t.Errorf("verdict busy %v", v.Busy)
	}
}
