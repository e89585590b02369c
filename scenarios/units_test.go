package scenarios

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestParseRate(t *testing.T) {
	tests := []parseCase[Rate]{
		{"500/s", 500, ""},
		{"30/m", 0.5, ""},
		{"1.5/s", 1.5, ""},
		{"7200/h", 2, ""},
		{"0/s", 0, ""},
		{".5/s", 0.5, ""},
		{"500", 0, `missing unit (did you mean "500/s"?)`},
		{"500rps", 0, `did you mean "500/s"?`},
		{"800 per second", 0, `did you mean "800/s"?`},
		{"10 / m", 0, `did you mean "10/m"?`},
		{"500/sec", 0, `unknown unit "sec" (did you mean "500/s"?)`},
		{"5/d", 0, `unknown unit "d" (valid: s, m, h)`},
		{"-5/s", 0, "must not be negative"},
		{"abc/s", 0, "is not a number"},
		{"NaN/s", 0, "is not a number"},
		{"lots", 0, "want N/s, N/m or N/h"},
	}
	checkParse(t, tests, ParseRate)
}

// TestRateRoundTrip: a rate's String parses back to the same float64.
func TestRateRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		r := Rate(rapid.Float64Range(0, 1e9).Draw(rt, "rate"))
		got, err := ParseRate(r.String())
		if err != nil || got != r {
			rt.Fatalf("%s parsed as %v, %v", r, got, err)
		}
	})
}

func TestParseDuration(t *testing.T) {
	tests := []parseCase[time.Duration]{
		{"250ms", 250 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"200µs", 200 * time.Microsecond, ""},
		{"200us", 200 * time.Microsecond, ""},
		{"0", 0, ""},
		{"5 ms", 0, `did you mean "5ms"?`},
		{"5 seconds", 0, `did you mean "5s"?`},
		{"5parsecs", 0, `unknown unit "parsecs"`},
		{"10", 0, `missing unit (did you mean "10ms" or "10s"?)`},
		{"2d", 0, `did you mean "48h"?`},
		{"1m30secs", 0, `did you mean "1m30s"?`},
		{"3hrs", 0, `did you mean "3h"?`},
		{"-3s", 0, "must not be negative"},
		{"fast", 0, "want a number and a unit"},
		{"1.2.3s", 0, "want a number and a unit"},
	}
	checkParse(t, tests, parseDuration)
}

// TestDurationRoundTrip: what plan.json writes (time.Duration.String) parses back.
func TestDurationRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		d := time.Duration(rapid.Int64Range(0, 1<<62).Draw(rt, "d"))
		got, err := parseDuration(d.String())
		if err != nil || got != d {
			rt.Fatalf("%s parsed as %v, %v", d, got, err)
		}
	})
}

func TestFraction(t *testing.T) {
	tests := []struct {
		in      scalar
		want    Fraction
		wantErr string
	}{
		{scalar{"0.999", kindFloat}, 0.999, ""},
		{scalar{"1", kindInt}, 1, ""},
		{scalar{"99.9%", kindString}, 0.999, ""},
		{scalar{"100%", kindString}, 1, ""},
		{scalar{"0.5%", kindString}, 0.005, ""},
		{scalar{"20%", kindString}, 0.2, ""},
		{scalar{"1.5", kindFloat}, 0, "out of range"},
		{scalar{"120%", kindString}, 0, "out of range"},
		{scalar{"-0.1", kindFloat}, 0, "out of range"},
		{scalar{"0.5", kindString}, 0, "want a number between 0 and 1"},
		{scalar{"true", kindBool}, 0, "expected a fraction"},
	}
	for _, tt := range tests {
		t.Run(tt.in.text, func(t *testing.T) {
			var f Fraction
			err := f.decodeScalar(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || f != tt.want {
				t.Fatalf("got %v, %v; want %v", f, err, tt.want)
			}
		})
	}
}

func TestParsePercentile(t *testing.T) {
	tests := []parseCase[Percentile]{
		{"p50", 0.5, ""},
		{"p95", 0.95, ""},
		{"p5", 0.05, ""},
		{"p99.9", 0.999, ""},
		{"p999", 0.999, ""},
		{"p9999", 0.9999, ""},
		{"0.95", 0.95, ""},
		{"95%", 0.95, ""},
		{"p100", 0, "out of range"},
		{"p0", 0, "out of range"},
		{"1.5", 0, "out of range"},
		{"p9x", 0, "invalid percentile"},
		{"p250", 0, "out of range"},
	}
	checkParse(t, tests, ParsePercentile)
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		str     string
		wantErr bool
	}{
		{"payments[0]", Target{Service: "payments", Replica: 0}, "payments[0]", false},
		{"payments[12]", Target{Service: "payments", Replica: 12}, "payments[12]", false},
		{"payments[*]", Target{Service: "payments", Replica: AllReplicas}, "payments", false},
		{"payments", Target{Service: "payments", Replica: AllReplicas}, "payments", false},
		{"zone:b", Target{Zone: "b", Replica: AllReplicas}, "zone:b", false},
		{"zone:", Target{}, "", true},
		{"payments[-1]", Target{}, "", true},
		{"payments[one]", Target{}, "", true},
		{"Payments", Target{}, "", true},
		{"payments[99999999999999999999]", Target{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parsed as %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want || got.String() != tt.str {
				t.Fatalf("got %+v (%q), %v; want %+v (%q)", got, got.String(), err, tt.want, tt.str)
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		in   scalar
		want Threshold
		str  string
	}{
		{scalar{"250ms", kindString}, Threshold{ThresholdDuration, 0.25}, "250ms"},
		{scalar{"99.9%", kindString}, Threshold{ThresholdFraction, 0.999}, "0.999"},
		{scalar{"0.999", kindFloat}, Threshold{ThresholdFraction, 0.999}, "0.999"},
		{scalar{"400/s", kindString}, Threshold{ThresholdRate, 400}, "400/s"},
		{scalar{"30/m", kindString}, Threshold{ThresholdRate, 0.5}, "0.5/s"},
	}
	for _, tt := range tests {
		t.Run(tt.in.text, func(t *testing.T) {
			var got Threshold
			if err := got.decodeScalar(tt.in); err != nil || got != tt.want || got.String() != tt.str {
				t.Fatalf("got %+v (%s), %v; want %+v (%s)", got, got.String(), err, tt.want, tt.str)
			}
		})
	}
	slo := SLO{Metric: MetricP99, Max: &Threshold{ThresholdDuration, 0.25}}
	if !slo.Met(0.2) || slo.Met(0.3) || !slo.Applies("x", "sim") {
		t.Error("SLO.Met / Applies")
	}
	if b, th := slo.Bound(); b != "max" || th.Duration() != 250*time.Millisecond {
		t.Errorf("Bound() = %s, %v", b, th)
	}
}

func TestJSONUnmarshalOfUnits(t *testing.T) {
	var r Rate
	var tg Target
	if err := json.Unmarshal([]byte(`"30/m"`), &r); err != nil || r.PerSecond() != 0.5 {
		t.Errorf("Rate: %v, %v", r, err)
	}
	if err := json.Unmarshal([]byte(`"zone:b"`), &tg); err != nil || tg.Zone != "b" {
		t.Errorf("Target: %+v, %v", tg, err)
	}
	if err := json.Unmarshal([]byte(`"500"`), &r); err == nil {
		t.Error("Rate accepted a unit-less number")
	}
}

func TestDistributionString(t *testing.T) {
	tests := []struct {
		spec DistributionSpec
		want string
	}{
		{Constant(5 * time.Millisecond), "5ms"},
		{DistributionSpec{Type: DistExponential, Mean: time.Millisecond}, "exponential(mean=1ms)"},
		{DistributionSpec{Type: DistLognormal, Median: 20 * time.Millisecond, P99: 120 * time.Millisecond}, "lognormal(median=20ms, p99=120ms)"},
		{DistributionSpec{Type: DistLognormal, Mu: f64(-3.9), Sigma: f64(0.8)}, "lognormal(mu=-3.9, sigma=0.8)"},
		{DistributionSpec{Type: DistPareto, Scale: 2 * time.Millisecond, Shape: 1.6}, "pareto(scale=2ms, shape=1.6)"},
		{DistributionSpec{Type: DistEmpirical, Quantiles: []QuantilePoint{{0.5, time.Millisecond}, {1, 2 * time.Millisecond}}}, "empirical(0.5:1ms, 1:2ms)"},
	}
	for _, tt := range tests {
		if got := tt.spec.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestPerTryTimeout(t *testing.T) {
	p := Policy{Timeouts: Timeouts{PerTry: time.Second}}
	if p.PerTryTimeout() != time.Second {
		t.Error("timeouts.perTry")
	}
	p.Retries = &Retries{PerTryTimeout: 300 * time.Millisecond}
	if p.PerTryTimeout() != 300*time.Millisecond {
		t.Error("retries.perTryTimeout overrides timeouts.perTry")
	}
}

// parseCase is one row of a parser's table test: the input, and either the
// value it parses to or a part of the error it gives.
type parseCase[T comparable] struct {
	in      string
	want    T
	wantErr string
}

// checkParse runs a parser's table test, one subtest per input.
func checkParse[T comparable](t *testing.T, tests []parseCase[T], parse func(string) (T, error)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
