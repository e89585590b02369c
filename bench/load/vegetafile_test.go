package load

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// attackResults is what a `vegeta attack` of 10 s at 10 req/s might record:
// mostly 200s, and one of each outcome meshbench tells apart.
func attackResults() []vegeta.Result {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rs []vegeta.Result
	for i := range 100 {
		r := vegeta.Result{
			Attack: "checkout", Seq: uint64(i), Code: 200, Method: "POST", URL: "http://127.0.0.1:8080/v1/payments",
			Timestamp: t0.Add(time.Duration(i) * 100 * time.Millisecond), Latency: time.Duration(5+i%7) * time.Millisecond,
		}
		switch i {
		case 10:
			r.Code, r.Error = 503, "503 Service Unavailable"
		case 20:
			r.Code, r.Error = 503, "503 Service Unavailable"
			r.Headers = http.Header{HeaderReason: {"circuit_open"}}
		case 30:
			r.Code, r.Error = 429, "429 Too Many Requests"
		case 40:
			r.Code, r.Error = 0, `Post "http://127.0.0.1:8080/v1/payments": dial tcp 127.0.0.1:8080: connect: connection refused`
		case 50:
			r.Code, r.Error = 0, `Post "http://127.0.0.1:8080/v1/payments": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
		case 60:
			r.Code, r.Error = 0, `Post "http://127.0.0.1:8080/v1/payments": read tcp 127.0.0.1:5555->127.0.0.1:8080: read: connection reset by peer`
		case 70:
			r.Code, r.Error = 402, "402 Payment Required" // a declined payment answers the request
		case 80:
			r.Headers = http.Header{fleet.HeaderInstance: {"payments[1]"}}
		}
		rs = append(rs, r)
	}
	return rs
}

func writeResults(t *testing.T, name string, enc func(*os.File) vegeta.Encoder, rs []vegeta.Result) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	e := enc(f)
	for i := range rs {
		if err := e.Encode(&rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSummarizeVegeta writes an attack's results with vegeta's encoders
// (gob, as `vegeta attack` does, and JSON, as `vegeta encode` does) and
// checks the summary: one run of backend vegeta named after the attack,
// every record counted, each error under its kind, time from the first
// request.
func TestSummarizeVegeta(t *testing.T) {
	encoders := map[string]func(*os.File) vegeta.Encoder{
		"results.bin":  func(f *os.File) vegeta.Encoder { return vegeta.NewEncoder(f) },
		"results.json": func(f *os.File) vegeta.Encoder { return vegeta.NewJSONEncoder(f) },
	}
	rs := attackResults()
	// Out of order, as an attack's workers finish: the epoch is the earliest.
	rs[0], rs[5] = rs[5], rs[0]
	for name, enc := range encoders {
		t.Run(name, func(t *testing.T) {
			path := writeResults(t, name, enc, rs)
			sum, err := SummarizeVegeta(path, VegetaOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Schema != bench.SummarySchema || sum.Scenario != "vegeta" || len(sum.Runs) != 1 || !sum.SLOPass {
				t.Fatalf("summary %+v", sum)
			}
			r := sum.Runs[0]
			if r.Backend != "vegeta" || r.Variant != "checkout" {
				t.Errorf("backend %q variant %q", r.Backend, r.Variant)
			}
			if r.Requests != 100 {
				t.Errorf("requests %d, want 100", r.Requests)
			}
			want := map[string]int64{"status_5xx": 1, "breaker_open": 1, "status_429": 1, "refused": 1, "timeout": 1, "reset": 1}
			for kind, n := range want {
				if r.Errors[kind] != n {
					t.Errorf("errors[%s] = %d, want %d (all: %v)", kind, r.Errors[kind], n, r.Errors)
				}
			}
			if r.Availability != 0.94 {
				t.Errorf("availability %v, want 0.94", r.Availability)
			}
			// 9.9 s of sends and the last answer 5–11 ms later.
			if r.DurationS < 9.9 || r.DurationS > 9.92 {
				t.Errorf("duration %v s", r.DurationS)
			}
			if r.PerInstance["payments[1]"] != 1 {
				t.Errorf("per instance %v", r.PerInstance)
			}
		})
	}
}

func TestSummarizeVegetaNames(t *testing.T) {
	rs := attackResults()
	rs[3].Attack = "other"
	path := writeResults(t, "r.bin", func(f *os.File) vegeta.Encoder { return vegeta.NewEncoder(f) }, rs)
	sum, err := SummarizeVegeta(path, VegetaOptions{Scenario: "baseline"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Scenario != "baseline" || sum.Runs[0].Variant != "default" {
		t.Errorf("two attacks: scenario %q variant %q", sum.Scenario, sum.Runs[0].Variant)
	}
}

func TestSummarizeVegetaErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.bin")
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(text, []byte("this is not a results file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := writeResults(t, "r.bin", func(f *os.File) vegeta.Encoder { return vegeta.NewEncoder(f) }, attackResults())
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.bin")
	if err := os.WriteFile(truncated, raw[:len(raw)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{empty, "no results"},
		{text, "not a vegeta results file"},
		{truncated, "record 100"},
		{filepath.Join(dir, "missing.bin"), "no such file"},
	} {
		if _, err := SummarizeVegeta(c.path, VegetaOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", filepath.Base(c.path), err, c.want)
		}
	}
}

// TestVegetaHeadersAgree: the headers the runner writes for the
// simulator's records are the ones this package reads from real answers.
func TestVegetaHeadersAgree(t *testing.T) {
	for _, c := range [][2]string{
		{bench.HeaderInstance, fleet.HeaderInstance},
		{bench.HeaderReason, HeaderReason},
		{bench.HeaderRetries, headerRetries},
		{bench.HeaderHedges, headerHedges},
	} {
		if c[0] != c[1] {
			t.Errorf("bench writes %q, load reads %q", c[0], c[1])
		}
	}
	// The simulator's outcomes come back as the kinds they were.
	for _, c := range []struct {
		status int
		kind   bench.Kind
	}{
		{200, bench.KindOK}, {402, bench.KindOK}, {0, bench.KindTimeout}, {0, bench.KindRefused},
		{0, bench.KindReset}, {0, bench.KindOther}, {503, bench.KindBreakerOpen}, {503, bench.KindNoEndpoint},
		{503, bench.KindQueueFull}, {503, bench.KindStatus5xx}, {502, bench.KindReset}, {503, bench.KindRefused},
		{504, bench.KindTimeout}, {429, bench.KindStatus429}, {403, bench.KindStatus4xx},
	} {
		in := bench.Result{Start: time.Second, Latency: time.Millisecond, Status: c.status, Kind: c.kind, Retries: 3}
		got := Convert(bench.VegetaResult(in, bench.VirtualEpoch, "a", 0), bench.VirtualEpoch)
		wantRetries := uint16(3)
		if c.status == 0 {
			wantRetries = 0 // read from an answer's headers, as for a real backend
		}
		if got.Kind != c.kind || got.Status != c.status || got.Start != time.Second || got.Latency != time.Millisecond || got.Retries != wantRetries {
			t.Errorf("status %d kind %s read back as %+v", c.status, c.kind, got)
		}
	}
}
