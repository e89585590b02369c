package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadLibrary(t testing.TB, name string) *Plan {
	t.Helper()
	e, err := LibraryScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadBytes(name+".yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWithDuration(t *testing.T) {
	orig := loadLibrary(t, "gateway-burst") // 90s, warmup 10s, steps at 0s, 40s, 55s
	p := orig.WithDuration(9 * time.Second) // ratio 0.1
	steps := p.Load[0].Shape.Steps
	tests := []struct {
		name      string
		got, want any
	}{
		{"duration", p.Duration, 9 * time.Second},
		{"warmup", p.Warmup, time.Second},
		{"load window", p.Load[0].For, 9 * time.Second},
		{"step times", [3]time.Duration{steps[0].At, steps[1].At, steps[2].At}, [3]time.Duration{0, 4 * time.Second, 5500 * time.Millisecond}},
		{"step rates are kept", steps[1].Rate, Rate(2000)},
		{"service times are kept", p.Services[0].ServiceTime, orig.Services[0].ServiceTime},
		{"timeouts are kept", p.Variants[1].Policy.Timeouts, orig.Variants[1].Policy.Timeouts},
		{"the original is untouched", orig.Duration, 90 * time.Second},
		{"the original's steps are untouched", orig.Load[0].Shape.Steps[1].At, 40 * time.Second},
		{"source and path are kept", [2]string{p.Path, string(p.Source)}, [2]string{orig.Path, string(orig.Source)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}

	crash := loadLibrary(t, "replica-crash").WithDuration(9 * time.Second) // 90s: kill at 30s, restart at 60s with 5s downtime
	if f := crash.Faults; f[0].At != 3*time.Second || f[1].At != 6*time.Second || f[1].Downtime != 500*time.Millisecond {
		t.Errorf("faults not scaled: %+v", f)
	}
	if got := orig.WithDuration(0); got.Duration != orig.Duration || got == orig {
		t.Errorf("WithDuration(0) should return an unscaled copy")
	}
}

func TestWithSeed(t *testing.T) {
	orig := loadLibrary(t, "retry-storm")
	p := orig.WithSeed(99)
	if p.Seed != 99 || orig.Seed != 7 {
		t.Errorf("seed %d (original %d), want 99 (7)", p.Seed, orig.Seed)
	}
	p.Variants[1].Policy.Retries.RetryOn[0] = "changed"
	if orig.Variants[1].Policy.Retries.RetryOn[0] != "5xx" {
		t.Error("WithSeed's copy shares memory with the original")
	}
}

func TestLoadFile(t *testing.T) {
	p, err := Load("library/hedging-tail.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile("library/hedging-tail.yaml")
	if p.Path != "library/hedging-tail.yaml" || !bytes.Equal(p.Source, src) {
		t.Errorf("Path %q and Source not kept", p.Path)
	}
	if _, err := Load("testdata/no-such-file.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestQuestion(t *testing.T) {
	tests := []struct{ name, description, want string }{
		{"question", "Which balancer wins? More text. And more.", "Which balancer wins?"},
		{"statement", "Retries hurt. Budgets help?", "Retries hurt."},
		{"folded lines", "Does hedging\n  cut the tail? Yes.", "Does hedging cut the tail?"},
		{"no terminator", "A scenario", "A scenario"},
		{"dot inside a word", "Is v1.2 faster? Maybe.", "Is v1.2 faster?"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Scenario{Description: tt.description}
			if got := s.Question(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStages(t *testing.T) {
	c := func(name string, parallel bool) Call { return Call{Service: name, Parallel: parallel} }
	tests := []struct {
		name  string
		calls []Call
		want  [][]Call
	}{
		{"none", nil, nil},
		{"payments", []Call{c("risk", true), c("fraud", true), c("ledger", false)},
			[][]Call{{c("risk", true), c("fraud", true)}, {c("ledger", false)}}},
		{"sequential", []Call{c("a", false), c("b", false)}, [][]Call{{c("a", false)}, {c("b", false)}}},
		{"a lone parallel call is its own stage", []Call{c("a", false), c("b", true), c("c", false)},
			[][]Call{{c("a", false)}, {c("b", true)}, {c("c", false)}}},
		{"two groups", []Call{c("a", true), c("b", true), c("c", false), c("d", true), c("e", true)},
			[][]Call{{c("a", true), c("b", true)}, {c("c", false)}, {c("d", true), c("e", true)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Service{Calls: tt.calls}
			if got := s.Stages(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReplicas(t *testing.T) {
	p := loadLibrary(t, "zone-failure") // 4 services × 6 replicas over zones a, b, c
	mustTarget := func(s string) Target {
		tg, err := ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	tests := []struct {
		target string
		want   []Replica
	}{
		{"payments[4]", []Replica{{"payments", 4, "b"}}},
		{"ledger[*]", []Replica{{"ledger", 0, "a"}, {"ledger", 1, "b"}, {"ledger", 2, "c"}, {"ledger", 3, "a"}, {"ledger", 4, "b"}, {"ledger", 5, "c"}}},
		{"zone:b", []Replica{{"payments", 1, "b"}, {"payments", 4, "b"}, {"risk", 1, "b"}, {"risk", 4, "b"},
			{"fraud", 1, "b"}, {"fraud", 4, "b"}, {"ledger", 1, "b"}, {"ledger", 4, "b"}}},
		{"zone:d", nil},
		{"payments[9]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if got := p.Replicas(mustTarget(tt.target)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := p.Zones(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Zones() = %v", got)
	}
}

func TestRateAt(t *testing.T) {
	s := func(sh Shape) Workload { return Workload{Shape: &sh, Start: 10 * time.Second, For: 20 * time.Second} }
	tests := []struct {
		name string
		w    Workload
		at   time.Duration
		want float64
	}{
		{"before the window", s(Shape{Type: ShapeConstant, Rate: 100}), 9 * time.Second, 0},
		{"constant", s(Shape{Type: ShapeConstant, Rate: 100}), 10 * time.Second, 100},
		{"at the end", s(Shape{Type: ShapeConstant, Rate: 100}), 30 * time.Second, 0},
		{"ramp start", s(Shape{Type: ShapeRamp, From: 100, To: 300}), 10 * time.Second, 100},
		{"ramp middle", s(Shape{Type: ShapeRamp, From: 100, To: 300}), 20 * time.Second, 200},
		{"step before the first", s(Shape{Type: ShapeStep, Steps: []Step{{At: 5 * time.Second, Rate: 50}}}), 12 * time.Second, 0},
		{"step", s(Shape{Type: ShapeStep, Steps: []Step{{At: 0, Rate: 50}, {At: 5 * time.Second, Rate: 500}}}), 16 * time.Second, 500},
		{"sine peak", s(Shape{Type: ShapeSine, Mean: 100, Amplitude: 50, Period: 8 * time.Second}), 12 * time.Second, 150},
		{"sine trough", s(Shape{Type: ShapeSine, Mean: 100, Amplitude: 50, Period: 8 * time.Second}), 16 * time.Second, 50},
		{"closed loop", Workload{Users: &Users{Count: 5}, For: time.Minute}, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.w.RateAt(tt.at); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("RateAt(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestBetween(t *testing.T) {
	p := loadLibrary(t, "zone-failure")
	same, cross := p.Network.Between("a", "a"), p.Network.Between("a", "c")
	if same.Latency.Median != 120*time.Microsecond || cross.Latency.Median != time.Millisecond {
		t.Errorf("intra-zone %v, cross-zone %v", same.Latency, cross.Latency)
	}
	n := Network{Latency: Constant(time.Millisecond), Loss: 0.1, Zones: map[string]Link{"a": {Loss: ptr(Fraction(0.5))}}}
	if h := n.Between("a", "a"); h.Loss != 0.5 || h.Latency.Value != time.Millisecond {
		t.Errorf("zone override: %+v", h)
	}
	if h := n.Between("a", "b"); h.Loss != 0.1 {
		t.Errorf("no cross-zone override: %+v", h)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	err := newValidationError([]Issue{
		{File: "f.yaml", Line: 9, Col: 3, Path: "b", Msg: "second"},
		{File: "f.yaml", Line: 2, Col: 7, Path: "a", Msg: "first"},
		{File: "f.yaml", Line: 9, Col: 3, Path: "b", Msg: "second"},
		{File: "f.yaml", Line: 1, Col: 1, Msg: "no path"},
	})
	want := "f.yaml:1:1: no path\nf.yaml:2:7: a: first\nf.yaml:9:3: b: second"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	if newValidationError(nil) != nil {
		t.Error("no issues should give no error")
	}
	if !strings.Contains(err.Issues[1].String(), "f.yaml:2:7: a: first") {
		t.Error("Issue.String")
	}
}

// TestPlanJSONKeepsZeros: parameters that are validly 0 survive plan.json
// (a ramp from 0/s, a uniform from 0s, a constant 0).
func TestPlanJSONKeepsZeros(t *testing.T) {
	p := mustLoad(t, strings.Replace(minimal, "    rate: 100/s\n", `    shape: {type: ramp, from: 0/s, to: 100/s}
  - target: {path: /v1/payments}
    shape: {type: sine, mean: 50/s, amplitude: 0/s, period: 10s}
  - target: {path: /v1/payments}
    users: {count: 2, thinkTime: {type: uniform, min: 0s, max: 1s}}
network:
  latency: 0s
`, 1))
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"from":"0/s"`, `"amplitude":"0/s"`, `"min":"0s"`, `"latency":"0s"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("plan.json lacks %s", want)
		}
	}
	back, err := LoadBytes("plan.json", raw)
	if err != nil {
		t.Fatalf("plan.json does not load back: %v", err)
	}
	if again, _ := json.Marshal(back); !bytes.Equal(raw, again) {
		t.Error("plan.json changes when loaded back")
	}
}
