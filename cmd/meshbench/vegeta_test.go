package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
)

func readVegeta(t *testing.T, path string) []vegeta.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.DecoderFor(f)
	if dec == nil {
		t.Fatalf("%s: vegeta does not recognise the file", path)
	}
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

// TestRunResultsOnSim: `run --results` on the simulator writes results.bin
// that vegeta's decoder reads: every request of every variant, stamped on
// the virtual timeline from bench.VirtualEpoch, the same records on every
// run; and `report --from-vegeta` turns it back into a report.
func TestRunResultsOnSim(t *testing.T) {
	var runs [2][]vegeta.Result
	var sum *bench.Summary
	for i := range runs {
		dir := filepath.Join(t.TempDir(), "run")
		code, _, stderr := cli(t, context.Background(), "run", "retry-storm", "--backend", "sim", "--duration", "3s", "--results", "--out", dir)
		if code != exitOK && code != exitFailure {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		runs[i] = readVegeta(t, filepath.Join(dir, bench.ResultsFile))
		var err error
		if sum, err = bench.ReadSummary(filepath.Join(dir, "summary.json")); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(runs[0], runs[1]) {
		t.Error("two runs of one scenario and seed wrote different records")
	}
	var measured int64
	attacks := map[string]bool{}
	for _, r := range sum.Runs {
		measured += r.Requests
		attacks["sim/"+r.Variant+"/0"] = true
	}
	m := vegeta.Metrics{}
	for i := range runs[0] {
		r := &runs[0][i]
		if !attacks[r.Attack] {
			t.Fatalf("record %d: attack %q, want one of %v", i, r.Attack, attacks)
		}
		if r.Timestamp.Before(bench.VirtualEpoch) || r.Timestamp.After(bench.VirtualEpoch.Add(3*time.Second)) {
			t.Fatalf("record %d: timestamp %v is off the virtual timeline", i, r.Timestamp)
		}
		m.Add(r)
	}
	m.Close()
	// The file has the warm-up's requests too, which the summary leaves out.
	if m.Requests < uint64(measured) || m.Requests > uint64(measured)*2 {
		t.Errorf("vegeta counts %d requests, the summary %d after warm-up", m.Requests, measured)
	}

	out := filepath.Join(t.TempDir(), "from-vegeta")
	path := filepath.Join(t.TempDir(), "results.bin")
	writeVegeta(t, path, runs[0])
	code, stdout, stderr := cli(t, context.Background(), "report", "--from-vegeta", path, "--no-plots", out)
	if code != exitOK {
		t.Fatalf("report --from-vegeta: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "index.html") {
		t.Errorf("stdout %q", stdout)
	}
	back, err := bench.ReadSummary(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 1 || back.Runs[0].Backend != "vegeta" || back.Runs[0].Requests != int64(m.Requests) {
		t.Errorf("summary of the file: %+v", back.Runs)
	}
}

func writeVegeta(t *testing.T, path string, rs []vegeta.Result) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := vegeta.NewEncoder(f)
	for i := range rs {
		if err := enc.Encode(&rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReportFromVegeta renders the report of a results file written with
// vegeta's encoder, as `vegeta attack` writes one, and refuses what it
// cannot read or would overwrite.
func TestReportFromVegeta(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rs []vegeta.Result
	for i := range 300 {
		r := vegeta.Result{Attack: "smoke", Seq: uint64(i), Code: 200, Timestamp: t0.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Duration(2+i%9) * time.Millisecond}
		if i%50 == 7 {
			r.Code, r.Error = 500, "500 Internal Server Error"
		}
		rs = append(rs, r)
	}
	path := filepath.Join(t.TempDir(), "results.bin")
	writeVegeta(t, path, rs)
	out := filepath.Join(t.TempDir(), "report")
	code, _, stderr := cli(t, context.Background(), "report", "--from-vegeta", path, "--name", "smoke-test", "--format", "png", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"summary.json", "summary.md", "index.html", "slo.xml", "plots/latency-over-time.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the report has no %s: %v", f, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "smoke-test") || !strings.Contains(string(md), "| vegeta | smoke |") || !strings.Contains(string(md), "98.") {
		t.Errorf("summary.md:\n%s", md)
	}

	notResults := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notResults, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"existing run folder": {"report", "--from-vegeta", path, out},
		"not a results file":  {"report", "--from-vegeta", notResults, filepath.Join(t.TempDir(), "x")},
		"missing file":        {"report", "--from-vegeta", notResults + ".gone", filepath.Join(t.TempDir(), "x")},
		"a directory":         {"report", "--from-vegeta", t.TempDir(), filepath.Join(t.TempDir(), "x")},
	} {
		code, _, stderr := cli(t, context.Background(), args...)
		if code != exitUsage || !strings.Contains(stderr, "meshbench:") {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
	}
}
