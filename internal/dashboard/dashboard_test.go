package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/scenarios"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		remote     bool
		wantErr    string
	}{
		{name: "ipv4 loopback", addr: "127.0.0.1:8080"},
		{name: "any of 127/8", addr: "127.1.2.3:0"},
		{name: "ipv6 loopback", addr: "[::1]:8080"},
		{name: "localhost", addr: "localhost:8080"},
		{name: "every interface", addr: ":8080", wantErr: "listens on every interface: not a loopback address"},
		{name: "wildcard", addr: "0.0.0.0:8080", wantErr: "not a loopback address"},
		{name: "lan address", addr: "192.168.1.4:8080", wantErr: "not a loopback address"},
		{name: "host name", addr: "example.com:8080", wantErr: "not a loopback address"},
		{name: "allowed remote", addr: "0.0.0.0:8080", remote: true},
		{name: "no port", addr: "127.0.0.1", wantErr: "not a host:port address"},
		{name: "empty port", addr: "127.0.0.1:", wantErr: "has no port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAddr(tc.addr, tc.remote)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckAddr(%q): %v", tc.addr, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("CheckAddr(%q) = %v, want an error containing %q", tc.addr, err, tc.wantErr)
			}
		})
	}
}

const tinyScenario = `apiVersion: meshbench/v1
kind: Scenario
name: tiny
duration: 10s
warmup: 2s
topology:
  gateway:
    routes: [{name: pay, service: payments}]
  services:
    - {name: payments, replicas: 2, serviceTime: 5ms}
load:
  - {name: checkout, target: {method: POST, path: /v1/payments}, rate: 100/s}
faults:
  - {at: 4s, for: 2s, action: slow, factor: 5, target: "payments[0]"}
variants:
  - name: a
  - name: b
slo:
  - {metric: p99, max: 50ms}
`

func newTiny(t *testing.T, ctx context.Context, opts Options) *Server {
	t.Helper()
	plan, err := scenarios.LoadBytes("tiny.yaml", []byte(tinyScenario))
	if err != nil {
		t.Fatal(err)
	}
	jobs, backends, err := bench.Jobs(plan, bench.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s, err := New(ctx, opts, plan, jobs, backends, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

type sseEvent struct {
	name string
	data map[string]any
}

// readEvents reads n events of the stream r.
func readEvents(t *testing.T, r *bufio.Reader, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var ev sseEvent
	for len(out) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data); err != nil {
				t.Fatalf("event %s: %v", ev.name, err)
			}
		case line == "":
			out = append(out, ev)
			ev = sseEvent{}
		}
	}
	return out
}

func names(evs []sseEvent) string {
	var n []string
	for _, e := range evs {
		n = append(n, e.name)
	}
	return strings.Join(n, ",")
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestEventStream checks the stream a browser reads: the run's meta first,
// then buckets, job ends and the outcome as they come; a browser that
// connects late gets the whole run; Close ends every stream.
func TestEventStream(t *testing.T) {
	s := newTiny(t, context.Background(), Options{})
	early := get(t, s.URL()+"events")
	defer early.Body.Close()
	if ct := early.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	er := bufio.NewReader(early.Body)
	meta := readEvents(t, er, 1)[0]
	if meta.name != "meta" || meta.data["scenario"] != "tiny" || len(meta.data["jobs"].([]any)) != 2 || len(meta.data["faults"].([]any)) != 1 {
		t.Fatalf("first event %+v", meta)
	}
	if f := meta.data["faults"].([]any)[0].(map[string]any); f["start_s"] != 4.0 || f["end_s"] != 6.0 || !strings.Contains(f["label"].(string), "payments[0]") {
		t.Errorf("fault %+v", f)
	}

	b := bench.Bucket{StartS: 0, WidthS: 1, Requests: 100, Successes: 99, Retries: 3, Hedges: 2, P99MS: 7}
	soFar := bench.RunSummary{Stats: bench.Stats{Requests: 10}, SLO: []bench.SLOVerdict{{Metric: "p99", Bound: "max", Threshold: 50, Value: 7, Unit: "ms", Pass: true}}}
	s.Bucket(1, 0, b, soFar)
	s.Done(1, bench.RunSummary{Buckets: []bench.Bucket{b, b}, Stats: bench.Stats{Requests: 200}})
	s.Finish(&bench.Summary{SLOPass: true, Runs: []bench.RunSummary{{Backend: "sim", Variant: "b"}}}, t.TempDir(), nil)
	evs := readEvents(t, er, 3)
	if got := names(evs); got != "bucket,job,done" {
		t.Fatalf("events %s", got)
	}
	bucket := evs[0].data
	if bucket["job"] != 1.0 || bucket["bucket"].(map[string]any)["hedges"] != 2.0 || bucket["so_far"].(map[string]any)["slo"].([]any)[0].(map[string]any)["pass"] != true {
		t.Errorf("bucket event %+v", bucket)
	}
	if done := evs[2].data; done["slo_pass"] != true || done["report"] != "report/" {
		t.Errorf("done event %+v", done)
	}

	late := get(t, s.URL()+"events")
	defer late.Body.Close()
	if got := names(readEvents(t, bufio.NewReader(late.Body), 4)); got != "meta,bucket,job,done" {
		t.Errorf("a late browser got %s", got)
	}

	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(er); err != nil || len(rest) != 0 {
		t.Errorf("after Close the stream gave %q, %v; want its end", rest, err)
	}
}

// TestReportServedAfterFinish checks that /report/ serves the run folder
// once the run has ended, and says why not before.
func TestReportServedAfterFinish(t *testing.T) {
	s := newTiny(t, context.Background(), Options{})
	resp := get(t, s.ReportURL())
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("before the end: %s", resp.Status)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<title>report</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Finish(&bench.Summary{}, dir, nil)
	resp = get(t, s.ReportURL())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "<title>report</title>" {
		t.Fatalf("after the end: %s %q", resp.Status, body)
	}
	resp = get(t, s.URL())
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `<script src="app.js">`) {
		t.Errorf("the page at / is not the dashboard: %.200s", body)
	}
}

// TestRefusesRemoteAddress checks that New listens on loopback only unless
// told otherwise.
func TestRefusesRemoteAddress(t *testing.T) {
	plan, err := scenarios.LoadBytes("tiny.yaml", []byte(tinyScenario))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), Options{Addr: "0.0.0.0:0"}, plan, nil, nil, 0)
	if err == nil || !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("New on 0.0.0.0: %v", err)
	}
}

// TestPaceStopsWithTheRun checks that a paced bucket waits for its time,
// and that cancelling the run's context ends the wait.
func TestPaceStopsWithTheRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := newTiny(t, ctx, Options{Pace: 0.001})                  // one bucket every 1000 s
	s.Bucket(0, 0, bench.Bucket{WidthS: 1}, bench.RunSummary{}) // the job's first: no wait
	told := make(chan struct{})
	go func() {
		s.Bucket(0, 1, bench.Bucket{StartS: 1, WidthS: 1}, bench.RunSummary{})
		close(told)
	}()
	select {
	case <-told:
		t.Fatal("the second bucket was not held back")
	default:
	}
	cancel()
	<-told
}

// TestAssetsAreSelfContained checks that the page loads nothing from
// another host: no CDN, no font service.
func TestAssetsAreSelfContained(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		if m := remote.Find(raw); m != nil {
			t.Errorf("%s refers to %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPaceLeavesRealBackendsAlone checks that a real backend's buckets are
// never held back: holding them would delay its load generator.
func TestPaceLeavesRealBackendsAlone(t *testing.T) {
	plan, err := scenarios.LoadBytes("tiny.yaml", []byte(tinyScenario))
	if err != nil {
		t.Fatal(err)
	}
	jobs, _, err := bench.Jobs(plan, bench.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	backends := make([]string, len(jobs))
	for i := range backends {
		backends[i] = "local"
	}
	s, err := New(context.Background(), Options{Addr: "127.0.0.1:0", Pace: 0.001}, plan, jobs, backends, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for i := range 3 { // would wait 1000 s per bucket if paced
		s.Bucket(0, i, bench.Bucket{StartS: float64(i), WidthS: 1}, bench.RunSummary{})
	}
}
