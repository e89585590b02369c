package book

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports"
)

// ResultsSchema names version 1 of a book's results.json.
const ResultsSchema = "meshbench.book/v1"

// Results is results.json beside a scenario's page: the figures the page is
// written from, small enough to review in a diff (no histograms, no time
// series: those stay in the run folder a `meshbench run` writes).
type Results struct {
	Schema   string `json:"schema"`
	Scenario string `json:"scenario"`
	Question string `json:"question"`
	Seed     uint64 `json:"seed"`
	// DurationS and WarmupS are the timeline the runs used, in seconds.
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	// Repeats is how many times each backend ran each variant, when more
	// than once (book --repeat): the rows' figures are then medians over
	// the repeats, and their spreads the range.
	Repeats int `json:"repeats,omitempty"`
	// Backends lists the backends run, in order.
	Backends []string `json:"backends"`
	// Winner is the variant ranked first on each backend (see Answer).
	Winner map[string]string `json:"winner"`
	// Answer is each backend's answer paragraph.
	Answer map[string]string `json:"answer"`
	// Agreement is the simulator-against-real-backend paragraph (local part
	// only).
	Agreement string `json:"agreement,omitempty"`
	Runs      []Row  `json:"runs"`
	// Machine describes where the runs happened (local part only: the
	// simulator's part carries no machine fact, so it is the same
	// everywhere).
	Machine *Machine `json:"machine,omitempty"`
}

// Row is one backend × variant: medians over repeats (one unless the book
// ran with --repeat).
type Row struct {
	Backend       string  `json:"backend"`
	Variant       string  `json:"variant"`
	Requests      int64   `json:"requests"`
	Availability  float64 `json:"availability"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	P999MS        float64 `json:"p999_ms"`
	ThroughputRPS float64 `json:"throughput_rps"`
	Retries       int64   `json:"retries"`
	// Hedges counts the gateway's hedged tries (omitted when none).
	Hedges        int64              `json:"hedges,omitempty"`
	SLO           []bench.SLOVerdict `json:"slo"`
	Untrustworthy bool               `json:"untrustworthy,omitempty"`
	// P50Spread and P99Spread are the range of the repeats' p50 and p99,
	// in ms, when there were several.
	P50Spread *Span `json:"p50_spread_ms,omitempty"`
	P99Spread *Span `json:"p99_spread_ms,omitempty"`
	// Knee is where the run's latency SLO was first exceeded on a load
	// that rises in steps (bench.Knee; the first repeat's); absent on
	// other loads.
	Knee *bench.Knee `json:"knee,omitempty"`
	// CPUCores is the median over repeats of the cores the run used after
	// its warm-up (bench.CPU): the local backend's process or the
	// containers backend's machine, measured, or the simulator's host
	// model, predicted; absent otherwise.
	CPUCores float64 `json:"cpu_cores,omitempty"`
	// Routes and Workloads are present when the scenario has several.
	Routes    []Part `json:"routes,omitempty"`
	Workloads []Part `json:"workloads,omitempty"`
}

// Span is a figure's range over repeats.
type Span struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// spanOf is a Stat's range, rounded as the rows' figures are; nil for
// fewer than two repeats.
func spanOf(s reports.Stat) *Span {
	if s.N < 2 {
		return nil
	}
	return &Span{Min: round(s.Min, 4), Max: round(s.Max, 4)}
}

// Part is one route's or workload's share of a row.
type Part struct {
	Name         string  `json:"name"`
	Requests     int64   `json:"requests"`
	Availability float64 `json:"availability"`
	P50MS        float64 `json:"p50_ms"`
	P99MS        float64 `json:"p99_ms"`
	P999MS       float64 `json:"p999_ms"`
}

// NewResults condenses a summary into the book's figures.
func NewResults(s *bench.Summary, durationS, warmupS float64) *Results {
	res := &Results{
		Schema: ResultsSchema, Scenario: s.Scenario, Question: s.Question, Seed: s.Seed,
		DurationS: durationS, WarmupS: warmupS,
		Winner: map[string]string{}, Answer: map[string]string{},
	}
	for _, g := range reports.Groups(s) {
		if !contains(res.Backends, g.Key.Backend) {
			res.Backends = append(res.Backends, g.Key.Backend)
		}
		t := g.Totals()
		row := Row{
			Backend: g.Key.Backend, Variant: g.Key.Variant, Requests: t.Requests,
			Availability: round(t.Availability(), 6),
			P50MS:        round(t.P50.Median, 4), P99MS: round(t.P99.Median, 4), P999MS: round(t.P999.Median, 4),
			ThroughputRPS: round(t.Throughput.Median, 3), Retries: t.Retries, Hedges: t.Hedges,
			SLO: g.Runs[0].SLO, Untrustworthy: t.Untrusted > 0, Knee: g.Runs[0].Knee,
		}
		row.P50Spread, row.P99Spread = spanOf(t.P50), spanOf(t.P99)
		if c := g.CPUCores(); c.N > 0 {
			row.CPUCores = round(c.Median, 4)
		}
		if t.Repeats > 1 {
			res.Repeats = max(res.Repeats, t.Repeats)
		}
		row.Routes = parts(g, reports.ByRoute)
		row.Workloads = parts(g, reports.ByWorkload)
		res.Runs = append(res.Runs, row)
	}
	for _, b := range res.Backends {
		res.Winner[b] = Winner(s, b)
		res.Answer[b] = Answer(s, b)
	}
	return res
}

func parts(g reports.Group, kind string) []Part {
	names := g.Parts(kind)
	if len(names) < 2 {
		return nil
	}
	var out []Part
	for _, n := range names {
		t := g.PartTotals(kind, n)
		out = append(out, Part{Name: n, Requests: t.Requests, Availability: round(t.Availability(), 6),
			P50MS: round(t.P50.Median, 4), P99MS: round(t.P99.Median, 4), P999MS: round(t.P999.Median, 4)})
	}
	return out
}

// Marshal encodes results as indented JSON with a trailing newline; maps
// have sorted keys, so the bytes depend on the figures only.
func (r *Results) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadResults reads a results.json.
func ReadResults(path string) (*Results, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != ResultsSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, ResultsSchema)
	}
	return &r, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// round rounds x to digits decimals; NaN (no request, no success) is
// written as 0, which JSON can carry.
func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
