package sweep

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The files of a sweep folder (docs/sweep.md describes them).
const (
	RowsCSV     = "rows.csv"
	RowsJSON    = "rows.json"
	SweepJSON   = "sweep.json"
	SummaryMD   = "summary.md"
	JournalFile = "rows.journal" // rows as their runs end, one JSON line each; removed when the folder is written
)

// FolderSchema names version 1 of sweep.json.
const FolderSchema = "meshbench.sweep/v1"

// CRNNote is what a sweep's report says about its seeds.
const CRNNote = "Common random numbers: every point of repeat r runs with the same seed (bench.RepeatSeed(scenario seed, r)), so arrivals and service times are the same streams at every point and differences between points come from the settings, not from the noise."

// Folder is sweep.json: the definition, its points, and whether it is
// partial.
type Folder struct {
	Schema     string      `json:"schema"`
	Definition *Definition `json:"definition"`
	// Points lists every point's settings, by point number.
	Points []map[string]string `json:"points"`
	// Seeds are the seeds of the repeats, the same for every point.
	Seeds []uint64 `json:"seeds"`
	// CommonRandomNumbers explains the seeds (CRNNote).
	CommonRandomNumbers string `json:"common_random_numbers"`
	// Rows counts the rows written; Partial is true when not every point ×
	// repeat ran (an interrupted sweep, which --resume completes).
	Rows    int  `json:"rows"`
	Partial bool `json:"partial"`
	// Best names the points with the best mean p99 among those whose
	// repeats all met the SLOs (at most five).
	Best []int `json:"best"`
}

// Journal appends rows to a folder's journal as they end, so that a sweep
// killed outright can still resume.
type Journal struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// JournalHeader is a journal's first line: what the folder measures, so
// that --resume refuses a folder of another sweep or search even when it
// was killed before sweep.json was written.
type JournalHeader struct {
	Journal  string    `json:"journal"` // FolderSchema
	Scenario string    `json:"scenario"`
	Hash     string    `json:"hash"`
	Tune     *TuneSpec `json:"tune,omitempty"` // a tune's search, nil for a sweep
}

// OpenJournal creates or appends to dir's journal of def (a tune's when
// tune is not nil); a new journal starts with its JournalHeader.
func OpenJournal(dir string, def *Definition, tune *TuneSpec) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, JournalFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	j := &Journal{f: f, w: bufio.NewWriter(f)}
	if fi, err := f.Stat(); err != nil || fi.Size() > 0 {
		return j, err
	}
	head, err := json.Marshal(JournalHeader{Journal: FolderSchema, Scenario: def.Scenario, Hash: def.Hash, Tune: tune})
	if err == nil {
		_, err = j.w.Write(append(head, '\n'))
	}
	if err == nil {
		err = j.w.Flush()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// Add writes one row.
func (j *Journal) Add(r Row) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := j.w.Write(b); err != nil {
		return err
	}
	return j.w.Flush()
}

// Close closes the journal.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	return j.f.Close()
}

// ReadFolder reads a sweep folder for --resume: its definition and every
// row written (rows.json and the journal). It refuses a folder of another
// sweep: the hash must be want's.
func ReadFolder(dir string, want *Definition) ([]Row, error) {
	rows, _, err := readFolder(dir, want)
	return rows, err
}

// readFolder is ReadFolder, also returning the journal's header (nil
// without a journal, or with one written before journals had headers).
func readFolder(dir string, want *Definition) ([]Row, *JournalHeader, error) {
	another := func(scenario, hash string) error {
		return fmt.Errorf("resume %s: the folder holds another sweep (scenario %q, hash %s; this one is %q, hash %s): the scenario file or the swept values differ; use a new --out",
			dir, scenario, hash, want.Scenario, want.Hash)
	}
	raw, err := os.ReadFile(filepath.Join(dir, SweepJSON))
	if errors.Is(err, fs.ErrNotExist) {
		if _, jerr := os.Stat(filepath.Join(dir, JournalFile)); jerr != nil {
			return nil, nil, fmt.Errorf("resume %s: not a sweep folder (no %s)", dir, SweepJSON)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("resume: %w", err)
	} else {
		var f Folder
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, nil, fmt.Errorf("resume: %s: %w", filepath.Join(dir, SweepJSON), err)
		}
		if f.Schema != FolderSchema || f.Definition == nil {
			return nil, nil, fmt.Errorf("resume: %s is not a %s file", filepath.Join(dir, SweepJSON), FolderSchema)
		}
		if f.Definition.Hash != want.Hash {
			return nil, nil, another(f.Definition.Scenario, f.Definition.Hash)
		}
	}
	var rows []Row
	if raw, err := os.ReadFile(filepath.Join(dir, RowsJSON)); err == nil {
		if err := json.Unmarshal(raw, &rows); err != nil {
			return nil, nil, fmt.Errorf("resume: %s: %w", filepath.Join(dir, RowsJSON), err)
		}
	}
	var head *JournalHeader
	if raw, err := os.ReadFile(filepath.Join(dir, JournalFile)); err == nil {
		for i, line := range bytes.Split(raw, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if i == 0 {
				var h JournalHeader
				if json.Unmarshal(line, &h) == nil && h.Journal != "" {
					if h.Hash != want.Hash {
						return nil, nil, another(h.Scenario, h.Hash)
					}
					head = &h
					continue
				}
			}
			var r Row
			if err := json.Unmarshal(line, &r); err != nil {
				if i == bytes.Count(raw, []byte("\n")) {
					break // a last line cut short by a kill
				}
				return nil, nil, fmt.Errorf("resume: %s line %d: %w", filepath.Join(dir, JournalFile), i+1, err)
			}
			rows = append(rows, r)
		}
	}
	return rows, head, nil
}

// WriteFolder writes rows.csv, rows.json, sweep.json and summary.md into
// dir and removes the journal.
func WriteFolder(dir string, res *Result, question string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	def := res.Definition
	points := Summarize(res.Rows)
	f := Folder{Schema: FolderSchema, Definition: def, CommonRandomNumbers: CRNNote, Rows: len(res.Rows), Partial: res.Partial, Best: []int{}}
	f.Points = res.Points
	if f.Points == nil {
		for i := range def.Points() {
			params, _ := ParamsOf(def.Point(i))
			f.Points = append(f.Points, params)
		}
	}
	for r := range def.Repeat {
		f.Seeds = append(f.Seeds, RepeatSeedOf(def, r))
	}
	for _, p := range Best(points, MetricP99) {
		if len(f.Best) == 5 || p.Feasible < 1 {
			break
		}
		f.Best = append(f.Best, p.Point)
	}
	sj, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	rj, err := json.MarshalIndent(res.Rows, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		SweepJSON: append(sj, '\n'),
		RowsJSON:  append(rj, '\n'),
		RowsCSV:   rowsCSV(def, res.Rows),
		SummaryMD: []byte(SummaryMarkdown(res, question, points)),
	}
	for _, name := range []string{RowsCSV, RowsJSON, SummaryMD, SweepJSON} {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(dir, JournalFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// rowsCSV writes one line per row: point, repeat, seed, each parameter as
// written, each as a number (x:PATH, empty when not numeric), feasible,
// error, then every metric (empty when absent).
func rowsCSV(def *Definition, rows []Row) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"point", "repeat", "seed"}
	for _, p := range def.Params {
		head = append(head, p.Path)
	}
	for _, p := range def.Params {
		head = append(head, "x:"+p.Path)
	}
	head = append(head, "feasible", "error")
	head = append(head, MetricNames...)
	_ = w.Write(head)
	for _, r := range rows {
		rec := []string{strconv.Itoa(r.Point), strconv.Itoa(r.Repeat), strconv.FormatUint(r.Seed, 10)}
		for _, p := range def.Params {
			rec = append(rec, r.Params[p.Path])
		}
		for _, p := range def.Params {
			x, ok := r.X[p.Path]
			rec = append(rec, num(x, ok))
		}
		rec = append(rec, strconv.FormatBool(r.Feasible), r.Error)
		for _, m := range MetricNames {
			v, ok := r.Metrics[m]
			rec = append(rec, num(v, ok))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

func num(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// AppendPlots adds the sweep's plots, written into dir after the folder,
// to its summary.md as image links, so the summary shows them where
// Markdown renders.
func AppendPlots(dir string, files []string) error {
	if len(files) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\n## Plots\n\n")
	for _, f := range files {
		name := strings.TrimSuffix(f, filepath.Ext(f))
		fmt.Fprintf(&b, "![%s](%s)\n\n", name, f)
	}
	f, err := os.OpenFile(filepath.Join(dir, SummaryMD), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("sweep summary: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("sweep summary: %w", err)
	}
	return f.Close()
}
