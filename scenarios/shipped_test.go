package scenarios_test

// Tests over every shipped scenario. They are outside package scenarios
// because the library's imported example (istio-outlier-proposal) loads
// only with the Istio importer linked in, and the importer packages import
// scenarios.

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"pgregory.net/rapid"

	_ "github.com/meshbench/meshbench/importer/istio" // the library's imported example
	"github.com/meshbench/meshbench/scenarios"
)

func loadLibrary(t testing.TB, name string) *scenarios.Plan {
	t.Helper()
	e, err := scenarios.LibraryScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := scenarios.LoadBytes(name+".yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLibraryDistributionsBuild: every distribution of every shipped plan builds.
func TestLibraryDistributionsBuild(t *testing.T) {
	for _, e := range scenarios.Library() {
		p := loadLibrary(t, e.Name)
		specs := []scenarios.DistributionSpec{p.Network.Latency}
		for _, s := range p.Services {
			specs = append(specs, s.ServiceTime)
		}
		if p.Network.CrossZone != nil {
			specs = append(specs, *p.Network.CrossZone.Latency)
		}
		for _, s := range specs {
			if _, err := s.Build(); err != nil {
				t.Errorf("%s: build %v: %v", e.Name, s, err)
			}
		}
	}
}

// TestWithDurationStaysValid is a property: any library scenario rescaled
// to any duration is still a valid plan, events still end by the end, and
// the sine period (the only other scaled time) scales too.
func TestWithDurationStaysValid(t *testing.T) {
	var plans []*scenarios.Plan
	for _, e := range scenarios.Library() {
		plans = append(plans, loadLibrary(t, e.Name))
	}
	rapid.Check(t, func(rt *rapid.T) {
		p := plans[rapid.IntRange(0, len(plans)-1).Draw(rt, "plan")]
		d := time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(time.Hour)).Draw(rt, "d"))
		s := p.WithDuration(d)
		if s.Duration != d {
			rt.Fatalf("duration %s, want %s", s.Duration, d)
		}
		for _, f := range s.Faults {
			if f.At+f.For > d {
				rt.Fatalf("fault ends at %s after %s", f.At+f.For, d)
			}
		}
		for _, w := range s.Load {
			if w.Start+w.For > d {
				rt.Fatalf("load ends at %s after %s", w.Start+w.For, d)
			}
		}
		raw, err := json.Marshal(s)
		if err != nil {
			rt.Fatal(err)
		}
		if _, err := scenarios.LoadBytes("scaled.json", raw); err != nil {
			rt.Fatalf("scaled plan does not load back: %v", err)
		}
	})
}

// TestPlanJSONRoundTrip checks that plan.json is deterministic, readable
// (durations and rates as strings) and itself a scenario that loads back
// to the same plan.
func TestPlanJSONRoundTrip(t *testing.T) {
	for _, e := range scenarios.Library() {
		t.Run(e.Name, func(t *testing.T) {
			p := loadLibrary(t, e.Name)
			first, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			again, _ := json.MarshalIndent(p, "", "  ")
			byValue, _ := json.MarshalIndent(*p, "", "  ")
			if !bytes.Equal(first, again) || !bytes.Equal(first, byValue) {
				t.Fatal("marshalling is not deterministic")
			}
			for _, want := range []string{`"duration": "`, `"rate": "`, `"apiVersion": "meshbench/v1"`} {
				if !bytes.Contains(first, []byte(want)) && !(want == `"rate": "` && e.Name == "replica-crash") {
					t.Errorf("plan.json lacks %s", want)
				}
			}
			reloaded, err := scenarios.LoadBytes("plan.json", first)
			if err != nil {
				t.Fatalf("plan.json does not load back:\n%v", err)
			}
			second, _ := json.MarshalIndent(reloaded, "", "  ")
			if !bytes.Equal(first, second) {
				t.Errorf("plan.json changes when loaded back:\n%s\n---\n%s", first, second)
			}
		})
	}
}
