package scenarios_test

import (
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/meshbench/meshbench/importer/istio" // the library's imported example
	"github.com/meshbench/meshbench/scenarios"
)

// TestLibrary loads every shipped scenario and checks the conventions of
// the library: the file is named after the scenario, the description opens
// with the question, the timeline and rates are modest, SLOs are set, and
// every fault and load fits the timeline.
func TestLibrary(t *testing.T) {
	entries := scenarios.Library()
	want := []string{"balancer-brownout", "cache-offload", "capacity-knee", "discovery-heartbeat", "gateway-burst", "grpc-vs-http", "hedging-tail", "idempotency-keys", "istio-outlier-proposal", "jwt-edge", "mtls-cost", "partner-quotas", "replica-crash", "retry-storm", "tenant-fairness", "weighted-canary", "zone-failure"}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("library = %v, want %v", names, want)
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			p, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
			if err != nil {
				t.Fatalf("does not load:\n%v", err)
			}
			if p.Name != e.Name {
				t.Errorf("name %q in file %s.yaml", p.Name, e.Name)
			}
			if !strings.HasSuffix(e.Question, "?") || e.Question != p.Question() {
				t.Errorf("the description must open with a question, got %q", e.Question)
			}
			if p.Duration < 60*time.Second || p.Duration > 120*time.Second {
				t.Errorf("duration %s outside 60s–120s", p.Duration)
			}
			if len(p.SLO) == 0 {
				t.Error("no SLOs")
			}
			if len(p.Variants) < 2 {
				t.Error("a library scenario compares at least two variants")
			}
			for _, w := range p.Load {
				for at := w.Start; at < w.Start+w.For; at += time.Second {
					if r := w.RateAt(at); w.Users == nil && (r < 100 || r > 2000) {
						t.Errorf("load %s offers %v/s at %s, outside 100–2000/s", w.Name, r, at)
						break
					}
				}
			}
			if len(p.Services) < 4 {
				t.Error("the payment topology has gateway → payments → risk ‖ fraud → ledger")
			}
			pay, ok := p.Service("payments")
			if !ok || len(pay.Stages()) != 2 || len(pay.Stages()[0]) != 2 {
				t.Error("payments must call risk and fraud in parallel, then ledger")
			}
		})
	}
}

func TestLibraryScenario(t *testing.T) {
	e, err := scenarios.LibraryScenario("balancer-brownout")
	if err != nil || e.Name != "balancer-brownout" || len(e.Source) == 0 {
		t.Fatalf("got %+v, %v", e.Name, err)
	}
	_, err = scenarios.LibraryScenario("balancer-brownot")
	if err == nil || !strings.Contains(err.Error(), `did you mean "balancer-brownout"?`) || !strings.Contains(err.Error(), "retry-storm") {
		t.Errorf("unknown name: %v", err)
	}
}

// TestReadmeExample keeps the README's full example identical to the
// flagship scenario it shows.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```\n")
	e, err := scenarios.LibraryScenario("balancer-brownout")
	if !ok || !ok2 || err != nil || example != string(e.Source) {
		t.Error("README's full example differs from library/balancer-brownout.yaml")
	}
}

// TestChecks loads every shipped check: named after its file, opening
// with a question, citing the test that checks its figures, runnable on
// the simulator, and named unlike every library scenario so that a name
// finds one file.
func TestChecks(t *testing.T) {
	checks := scenarios.Checks()
	if len(checks) < 2 {
		t.Fatalf("%d shipped checks, want at least two published results", len(checks))
	}
	library := map[string]bool{}
	for _, e := range scenarios.Library() {
		library[e.Name] = true
	}
	for _, e := range checks {
		t.Run(e.Name, func(t *testing.T) {
			p, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
			if err != nil {
				t.Fatalf("does not load:\n%v", err)
			}
			if p.Name != e.Name {
				t.Errorf("name %q in file %s.yaml", p.Name, e.Name)
			}
			if !strings.HasSuffix(e.Question, "?") || e.Question != p.Question() {
				t.Errorf("the description must open with a question, got %q", e.Question)
			}
			if !strings.Contains(p.Description, "TestPublishedChecks") {
				t.Error("the description does not say which test checks its figures")
			}
			if len(p.Backends) != 1 || p.Backends[0] != scenarios.BackendSim {
				t.Errorf("backends %v: a check's figures are the simulator's", p.Backends)
			}
			if library[e.Name] {
				t.Errorf("%s is also a library scenario", e.Name)
			}
			got, err := scenarios.Shipped(e.Name)
			if err != nil || string(got.Source) != string(e.Source) {
				t.Errorf("scenarios.Shipped(%q): %v", e.Name, err)
			}
		})
	}
	if e, err := scenarios.Shipped("balancer-brownout"); err != nil || e.Name != "balancer-brownout" {
		t.Errorf("scenarios.Shipped does not find the library: %v", err)
	}
	if _, err := scenarios.Shipped("erlang-k"); err == nil || !strings.Contains(err.Error(), `did you mean "erlang-c"?`) {
		t.Errorf("scenarios.Shipped misspelt: %v", err)
	}
}
