package bench

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/scenarios"
)

// virtualBackend emits a fixed stream per job on a virtual timeline, as
// the simulator does; it writes no records of its own.
type virtualBackend struct{ name string }

func (b virtualBackend) Name() string { return b.name }
func (virtualBackend) Parallel() bool { return true }
func (virtualBackend) Run(_ context.Context, job Job, sink Sink) (Outcome, error) {
	for i := range 50 {
		r := Result{Start: time.Duration(i) * 100 * time.Millisecond, Latency: time.Duration(job.Variant+1) * time.Millisecond, Status: 200, Kind: KindOK, Instance: "payments[0]"}
		switch i % 5 {
		case 1:
			r.Status, r.Kind, r.Instance = 503, KindBreakerOpen, ""
		case 2:
			r.Status, r.Kind, r.Instance = 0, KindTimeout, ""
		case 3:
			r.Retries, r.Hedges = 2, 1
		}
		sink.Record(r)
	}
	return Outcome{End: job.Plan.Duration}, nil
}

// recordingBackend writes its own records to Job.Raw, as the real ones do.
type recordingBackend struct{}

func (recordingBackend) Name() string     { return "test-recording" }
func (recordingBackend) RecordsRaw() bool { return true }
func (recordingBackend) Run(_ context.Context, job Job, sink Sink) (Outcome, error) {
	sink.Record(Result{Start: time.Second, Latency: time.Millisecond, Status: 200})
	if job.Raw != nil {
		if err := job.Raw.Encode(&vegeta.Result{Attack: "own", Code: 200}); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{End: job.Plan.Duration}, nil
}

func init() {
	Register(virtualBackend{name: "test-virtual"})
	Register(recordingBackend{})
}

func decodeResults(t *testing.T, path string) []vegeta.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
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

// TestResultsFileOfAVirtualBackend: with Results, a backend that writes no
// records of its own gets vegeta's record of each Result, on VirtualEpoch,
// job after job in Jobs order whatever order the parallel jobs finish in,
// the same on every run; without Results it writes none.
func TestResultsFileOfAVirtualBackend(t *testing.T) {
	plan, err := scenarios.LoadBytes("overrides.yaml", []byte(overrideScenario))
	if err != nil {
		t.Fatal(err)
	}
	var runs [2][]vegeta.Result
	for i := range runs {
		dir := t.TempDir()
		if _, err := Run(context.Background(), plan, RunOptions{Backends: []string{"test-virtual"}, Repeat: 2, Workers: 4, Dir: dir, Results: true}); err != nil {
			t.Fatal(err)
		}
		runs[i] = decodeResults(t, filepath.Join(dir, ResultsFile))
		if left, _ := filepath.Glob(filepath.Join(dir, ".results-*")); len(left) > 0 {
			t.Errorf("spools left behind: %v", left)
		}
	}
	if !reflect.DeepEqual(runs[0], runs[1]) {
		t.Error("two runs wrote different records")
	}
	rs := runs[0]
	if len(rs) != 4*50 {
		t.Fatalf("%d records, want 200 (2 variants × 2 repeats × 50)", len(rs))
	}
	wantAttacks := []string{"test-virtual/base/0", "test-virtual/base/1", "test-virtual/double/0", "test-virtual/double/1"}
	for j, a := range wantAttacks {
		for k := range 50 {
			r := rs[j*50+k]
			if r.Attack != a || r.Seq != uint64(k) {
				t.Fatalf("record %d: attack %q seq %d, want %q %d", j*50+k, r.Attack, r.Seq, a, k)
			}
			if want := VirtualEpoch.Add(time.Duration(k) * 100 * time.Millisecond); !r.Timestamp.Equal(want) {
				t.Fatalf("record %d: timestamp %v, want %v", j*50+k, r.Timestamp, want)
			}
		}
	}
	if r := rs[1]; r.Code != 503 || r.Error != "503 Service Unavailable" || r.Headers.Get(HeaderReason) != "circuit_open" {
		t.Errorf("breaker rejection recorded as %+v", r)
	}
	if r := rs[2]; r.Code != 0 || r.Error == "" || r.Headers != nil {
		t.Errorf("timeout recorded as %+v", r)
	}
	if r := rs[3]; r.Error != "" || r.Headers.Get(HeaderInstance) != "payments[0]" || r.Headers.Get(HeaderRetries) != "2" || r.Headers.Get(HeaderHedges) != "1" {
		t.Errorf("retried answer recorded as %+v", r)
	}
	m := vegeta.Metrics{}
	for i := range rs {
		m.Add(&rs[i])
	}
	m.Close()
	if m.Requests != 200 || m.StatusCodes["503"] != 40 || m.StatusCodes["0"] != 40 {
		t.Errorf("vegeta's metrics of the file: %d requests, codes %v", m.Requests, m.StatusCodes)
	}

	dir := t.TempDir()
	if _, err := Run(context.Background(), plan, RunOptions{Backends: []string{"test-virtual"}, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ResultsFile)); !os.IsNotExist(err) {
		t.Errorf("a run without Results wrote %s (%v)", ResultsFile, err)
	}
}

// TestResultsFileOfARecordingBackend: a backend that writes its own
// records keeps writing only those, with or without Results.
func TestResultsFileOfARecordingBackend(t *testing.T) {
	plan, err := scenarios.LoadBytes("overrides.yaml", []byte(overrideScenario))
	if err != nil {
		t.Fatal(err)
	}
	for _, results := range []bool{false, true} {
		dir := t.TempDir()
		if _, err := Run(context.Background(), plan, RunOptions{Backends: []string{"test-recording"}, Variants: []string{"base"}, Dir: dir, Results: results}); err != nil {
			t.Fatal(err)
		}
		rs := decodeResults(t, filepath.Join(dir, ResultsFile))
		if len(rs) != 1 || rs[0].Attack != "own" {
			t.Errorf("Results=%v: records %+v, want the backend's one", results, rs)
		}
	}
}
