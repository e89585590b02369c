package proxybench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The samples in testdata are outputs of wrk 4.1.0 and h2load 1.52.0
// (Debian 12) recorded against nginx, a listener-less port and a server
// that closes every connection after one answer.

func readSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		file                          string
		requests, errors              int64
		seconds                       float64
		p50, p75, p90, p99, mean, max float64
	}{
		{"wrk-ok.txt", 14440, 0, 1.01, 0.210, 0.748, 2.25, 5.28, 0.72608, 8.62},
		{"wrk-non2xx.txt", 15986, 15986, 1.01, 0.186, 0.627, 2.05, 4.41, 0.64926, 8.57},
		{"wrk-socketerrors.txt", 1872, 1877 + 2392, 1.02, 0.151, 0.202, 0.261, 0.438, 0.16757, 3.93},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := parseWrk(readSample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if p.Tool != ToolWrk || p.Requests != tc.requests || p.Errors != tc.errors || !near(p.Seconds, tc.seconds) {
				t.Errorf("got %d requests, %d errors in %vs; want %d, %d in %vs", p.Requests, p.Errors, p.Seconds, tc.requests, tc.errors, tc.seconds)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"p50", p.P50Ms, tc.p50}, {"p75", p.P75Ms, tc.p75}, {"p90", p.P90Ms, tc.p90}, {"p99", p.P99Ms, tc.p99}, {"mean", p.MeanMs, tc.mean}, {"max", p.MaxMs, tc.max}} {
				if !near(c.got, c.want) {
					t.Errorf("%s = %v ms, want %v", c.name, c.got, c.want)
				}
			}
			wantTput := float64(max(0, tc.requests-tc.errors)) / tc.seconds
			if !near(p.Throughput, wantTput) {
				t.Errorf("throughput %v, want %v", p.Throughput, wantTput)
			}
			if (tc.errors > 0) != (p.firstError != "") {
				t.Errorf("first error %q with %d errors", p.firstError, tc.errors)
			}
		})
	}
}

func TestParseWrkBad(t *testing.T) {
	for name, out := range map[string]string{
		"refused":    readSample(t, "wrk-refused.txt"),
		"no latency": "  14440 requests in 1.01s, 2.05MB read\n",
		"bad unit":   strings.Replace(readSample(t, "wrk-ok.txt"), "5.28ms", "5.28xs", 1),
		"empty":      "",
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseH2load(t *testing.T) {
	p, err := parseH2load(readSample(t, "h2load-ok.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Tool != ToolH2load || p.Requests != 7391 || p.Errors != 0 || !near(p.Seconds, 1.02) || !near(p.Throughput, 7391/1.02) {
		t.Errorf("phase %+v", p)
	}
	if !near(p.MinMs, 0.110) || !near(p.MaxMs, 17.56) || !near(p.MeanMs, 0.700) || !near(p.SdMs, 1.32) {
		t.Errorf("min %v max %v mean %v sd %v", p.MinMs, p.MaxMs, p.MeanMs, p.SdMs)
	}
	if p.P50Ms != 0 || p.P99Ms != 0 {
		t.Errorf("h2load gives no percentiles, got p50 %v p99 %v", p.P50Ms, p.P99Ms)
	}

	p, err = parseH2load(readSample(t, "h2load-non2xx.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Requests != 7146 || p.Errors != 7146 || p.Throughput != 0 || !strings.Contains(p.firstError, "7146 failed") {
		t.Errorf("non-2xx: %+v %q", p, p.firstError)
	}

	if _, err := parseH2load(readSample(t, "h2load-refused.txt")); err == nil || !strings.Contains(err.Error(), "no request") {
		t.Errorf("refused: %v", err)
	}
	if _, err := parseH2load("h2load: command not found"); err == nil {
		t.Error("garbage: no error")
	}
}

func TestLatencyMs(t *testing.T) {
	for in, want := range map[string]float64{"651.00us": 0.651, "1.10ms": 1.1, "2.00s": 2000, "1.50m": 90000, "0us": 0} {
		got, err := latencyMs(in)
		if err != nil || !near(got, want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ms", "12", "1.2.3ms", "5ns"} {
		if _, err := latencyMs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestToolArgs(t *testing.T) {
	got := strings.Join(wrkArgs("wrk", "http://a/b", 64, 2500*1e6, []string{"X-Api-Key: k"}), " ")
	if want := "wrk -t1 -c64 -d3s --latency -H X-Api-Key: k http://a/b"; got != want {
		t.Errorf("wrk: %q, want %q", got, want)
	}
	got = strings.Join(h2loadArgs("h2load", "http://a/b", 8, 100*1e6, nil), " ")
	if want := "h2load -t1 -c8 -m1 -D1 http://a/b"; got != want {
		t.Errorf("h2load: %q, want %q", got, want)
	}
}
