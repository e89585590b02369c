package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
)

//go:embed templates/index.html.tmpl
var indexSource string

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(indexSource))

// The view model of index.html: everything formatted, so that the template
// only lays out.
type indexPage struct {
	Scenario, Question, Description string
	Schema                          string
	Seed                            uint64
	Partial                         bool
	SLOPass                         bool
	SLOTotal, SLOFailed             int
	Repeated                        bool
	Groups                          []groupRow
	Runs                            []runRow
	SLOs                            []sloRow
	Plots                           []plotView
	Faults                          []faultRow
	ScenarioText                    string
	Env                             *bench.Environment
	Warnings                        []string
	Gate                            string
	// Untrusted counts the runs marked untrustworthy; Lag is every run's
	// schedule lag (none for older summaries); Breakdowns are the
	// per-route, per-workload and per-instance tables.
	Untrusted  int
	Lag        []lagRow
	Breakdowns []breakdownView
	// Predictions set the simulator beside each real backend, with the
	// tolerance they were judged against, the verdicts counted, and
	// whether any backend had repeats to show a spread.
	Predictions                                     []predictionRow
	PredictionTolerance                             string
	PredictionPass, PredictionNoise, PredictionFail int
	PredictionSpread                                bool
	// PredictionKnee is true when a prediction has a capacity knee,
	// PredictionCPU when one has the CPU used.
	PredictionKnee, PredictionCPU bool
	// Hedged: some run hedged, so the results table has a hedges column.
	Hedged bool
}

type groupRow struct {
	Backend, Variant                      string
	Repeats                               int
	Requests, Availability                string
	P50, P90, P99, P999, Mean, Throughput string
	Retries, Hedges, Errors               string
	SLOPassed, SLOTotal                   int
	SLOPass                               bool
}

type runRow struct {
	Backend, Variant           string
	Repeat                     int
	Seed                       uint64
	Requests, Availability     string
	P50, P99, P999, Throughput string
	Status                     string
}

type sloRow struct {
	Backend, Variant string
	Repeat           int
	Objective, Value string
	Pass             bool
}

type plotView struct {
	Name, Title, Caption string
	Image, Link, Vector  string
}

type faultRow struct{ Label, From, To string }

// WriteIndex writes index.html for run: one self-contained page (inline
// CSS, images referenced relatively in plots/) with the scenario's question,
// a results table per backend × variant, the SLO verdicts, the plots, the
// scenario text and the environment. gate, when not empty, is the gate's
// table to show with the verdicts.
func WriteIndex(w io.Writer, run *Run, plots []PlotFile, gate string) error {
	s := run.Summary
	page := indexPage{
		Scenario: s.Scenario, Question: s.Question, Description: run.Description,
		Schema: s.Schema, Seed: s.Seed, Partial: s.Partial,
		ScenarioText: string(run.Scenario), Env: run.Environment, Warnings: run.Warnings, Gate: gate,
	}
	// The description usually starts with the question; do not say it twice.
	if q := strings.TrimSpace(s.Question); q != "" {
		page.Description = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(page.Description), q))
	}
	for _, g := range Groups(s) {
		t := g.Totals()
		page.Repeated = page.Repeated || t.Repeats > 1
		page.Hedged = page.Hedged || t.Hedges > 0
		page.Groups = append(page.Groups, groupRow{
			Backend: g.Key.Backend, Variant: g.Key.Variant, Repeats: t.Repeats,
			Requests: fmtCount(t.Requests), Availability: fmtPct(t.Availability()),
			P50: fmtMS(t.P50.Median), P90: fmtMS(t.P90.Median), P99: fmtMS(t.P99.Median), P999: fmtMS(t.P999.Median),
			Mean: fmtMS(t.Mean.Median), Throughput: fmtRPS(t.Throughput.Median),
			Retries: fmtCount(t.Retries), Hedges: fmtCount(t.Hedges), Errors: errorsText(t.Errors),
			SLOPassed: t.SLOPassed, SLOTotal: t.SLOTotal, SLOPass: t.SLOPass(),
		})
		for _, r := range g.Runs {
			status := "ok"
			switch {
			case r.Error != "":
				status = "failed: " + r.Error
			case r.Partial:
				status = "partial"
			}
			page.Runs = append(page.Runs, runRow{
				Backend: r.Backend, Variant: r.Variant, Repeat: r.Repeat, Seed: r.Seed,
				Requests: fmtCount(r.Requests), Availability: fmtPct(r.Availability),
				P50: fmtMS(r.LatencyMS.P50), P99: fmtMS(r.LatencyMS.P99), P999: fmtMS(r.LatencyMS.P999),
				Throughput: fmtRPS(r.ThroughputRPS), Status: status,
			})
			for _, v := range r.SLO {
				page.SLOTotal++
				if !v.Pass {
					page.SLOFailed++
				}
				page.SLOs = append(page.SLOs, sloRow{Backend: r.Backend, Variant: r.Variant, Repeat: r.Repeat,
					Objective: sloText(v), Value: fmtUnit(v.Value, v.Unit), Pass: v.Pass})
			}
		}
	}
	page.SLOPass = page.SLOFailed == 0
	page.Untrusted = untrustworthyRuns(s)
	if note := busyRunsNote(s); note != "" {
		page.Warnings = append(page.Warnings, note)
	}
	page.Lag = lagRows(s)
	page.Breakdowns = breakdownViews(Groups(s))
	if preds, err := bench.PredictionsOf(s); err != nil {
		page.Warnings = append(page.Warnings, fmt.Sprintf("prediction not shown: %v", err))
	} else {
		page.Predictions = predictionRows(preds)
		page.PredictionTolerance = predictionTolerance(preds)
		page.PredictionKnee = predictionKnee(page.Predictions)
		page.PredictionCPU = predictionCPU(page.Predictions)
		page.PredictionPass, page.PredictionNoise, page.PredictionFail = predictionCounts(page.Predictions)
		for _, r := range page.Predictions {
			page.PredictionSpread = page.PredictionSpread || r.Spread
		}
	}
	for _, p := range plots {
		img := p.File(FormatPNG)
		vec := p.File(FormatSVG)
		if img == "" {
			img = vec
		}
		if img == "" {
			continue
		}
		link := vec
		if link == "" {
			link = img
		}
		if vec == img {
			vec = ""
		}
		page.Plots = append(page.Plots, plotView{Name: p.Name, Title: p.Title, Caption: p.Caption, Image: img, Link: link, Vector: vec})
	}
	for _, f := range run.Timeline.Faults {
		page.Faults = append(page.Faults, faultRow{Label: f.Label, From: fmtOffset(f.Start), To: fmtOffset(f.End)})
	}
	if err := indexTmpl.Execute(w, page); err != nil {
		return fmt.Errorf("render index.html: %w", err)
	}
	return nil
}

// errorsText lists error kinds by count, largest first: "status_5xx 120,
// timeout 3".
func errorsText(errs map[string]int64) string {
	if len(errs) == 0 {
		return noValue
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if errs[kinds[i]] != errs[kinds[j]] {
			return errs[kinds[i]] > errs[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = k + " " + fmtCount(errs[k])
	}
	return strings.Join(parts, ", ")
}

// fmtOffset prints a time since the start of a run: "1m30s", "45s".
func fmtOffset(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return d.Round(time.Millisecond).String()
}
