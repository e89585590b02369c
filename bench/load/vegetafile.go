package load

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
)

// VegetaBackend is the backend name under which a vegeta results file's
// requests appear in a summary.
const VegetaBackend = "vegeta"

// VegetaOptions says how SummarizeVegeta files a results file.
type VegetaOptions struct {
	// Scenario names the summary (default: "vegeta").
	Scenario string
	// Variant names the one variant (default: the records' attack name
	// when they all share one, else "default").
	Variant string
	// BucketWidth is the width of the per-second time series (default 1s).
	BucketWidth time.Duration
}

// SummarizeVegeta reads a results file written by `vegeta attack` (or
// `vegeta encode`: gob, JSON or CSV, as vegeta's own decoders detect it),
// or a meshbench run's results.bin, and summarizes it as one run of
// backend "vegeta" with one variant: the same summary.json that `meshbench
// run` writes, so the report renders from it. Each record is filed as the
// real backends file their own (Convert): the status and, where the answer
// carried one, meshbench's reason header decide the kind; an answerless
// record's error text decides between timeout, refused, reset and other.
// Time runs from the earliest record's timestamp; the run lasts until the
// last answer. The file is read twice (first for that epoch), so it must
// be a regular file.
func SummarizeVegeta(path string, opts VegetaOptions) (*bench.Summary, error) {
	first, err := scanVegeta(path, nil)
	if err != nil {
		return nil, err
	}
	if first.n == 0 {
		return nil, fmt.Errorf("%s: no results in the file", path)
	}
	agg := bench.NewAggregator(0, opts.BucketWidth)
	if _, err := scanVegeta(path, func(r *vegeta.Result) {
		agg.Record(Convert(r, first.epoch))
	}); err != nil {
		return nil, err
	}
	rs, err := agg.Summarize(first.end.Sub(first.epoch))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rs.Backend = VegetaBackend
	rs.Variant = opts.Variant
	if rs.Variant == "" {
		rs.Variant = "default"
		if len(first.attacks) == 1 {
			for a := range first.attacks {
				if a != "" {
					rs.Variant = a
				}
			}
		}
	}
	name := opts.Scenario
	if name == "" {
		name = VegetaBackend
	}
	sum := &bench.Summary{
		Schema:   bench.SummarySchema,
		Scenario: name,
		Question: fmt.Sprintf("What did the vegeta attack recorded in %s measure?", filepath.Base(path)),
		Runs:     []bench.RunSummary{rs},
	}
	// No scenario, so no SLOs: every run passes the none it has.
	sum.Runs[0].SLO = []bench.SLOVerdict{}
	sum.SLOPass = true
	return sum, nil
}

// vegetaScan is what a first pass over a results file learns.
type vegetaScan struct {
	n          int
	epoch, end time.Time // earliest timestamp, latest answer
	attacks    map[string]bool
}

// scanVegeta decodes every record of the file at path, calls each (when
// not nil) with it, and returns the first pass's figures.
func scanVegeta(path string, each func(*vegeta.Result)) (vegetaScan, error) {
	s := vegetaScan{attacks: map[string]bool{}}
	f, err := os.Open(path)
	if err != nil {
		return s, fmt.Errorf("vegeta results: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		return s, nil
	}
	dec := vegeta.DecoderFor(f)
	if dec == nil {
		return s, fmt.Errorf("%s is not a vegeta results file (vegeta's gob, JSON or CSV encoding)", path)
	}
	for {
		var r vegeta.Result
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			return s, fmt.Errorf("%s: record %d: %w", path, s.n+1, err)
		}
		if s.n == 0 || r.Timestamp.Before(s.epoch) {
			s.epoch = r.Timestamp
		}
		if s.n == 0 || r.End().After(s.end) {
			s.end = r.End()
		}
		if len(s.attacks) <= 1 {
			s.attacks[r.Attack] = true
		}
		s.n++
		if each != nil {
			each(&r)
		}
	}
}
