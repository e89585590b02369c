package containers

import (
	"strings"
	"testing"

	"github.com/meshbench/meshbench/scenarios"
)

func libraryPlan(t *testing.T, name string) *scenarios.Plan {
	t.Helper()
	e, err := scenarios.LibraryScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestSpecFromPlan(t *testing.T) {
	plan := libraryPlan(t, "balancer-brownout")
	spec, err := SpecFromPlan(plan, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Replicas) != 15 {
		t.Fatalf("%d replicas, want 15", len(spec.Replicas))
	}
	seeds := map[string]bool{}
	for _, r := range spec.Replicas {
		if r.Env["GOMAXPROCS"] != "1" {
			t.Errorf("%s: GOMAXPROCS %q, want 1", r.Name(), r.Env["GOMAXPROCS"])
		}
		if r.Env["PAYMENTSVC_ROLE"] != r.Service || r.Env["PAYMENTSVC_NAME"] != r.Name() {
			t.Errorf("%s: role %q name %q", r.Name(), r.Env["PAYMENTSVC_ROLE"], r.Env["PAYMENTSVC_NAME"])
		}
		if seeds[r.Env["PAYMENTSVC_SEED"]] {
			t.Errorf("%s shares its seed %s", r.Name(), r.Env["PAYMENTSVC_SEED"])
		}
		seeds[r.Env["PAYMENTSVC_SEED"]] = true
	}
	p2 := spec.Replicas[2]
	for k, want := range map[string]string{
		"PAYMENTSVC_CONCURRENCY": "4",
		"PAYMENTSVC_QUEUE":       "32",
		"PAYMENTSVC_ERROR_RATE":  "0",
	} {
		if p2.Env[k] != want {
			t.Errorf("%s %s=%q, want %q", p2.Name(), k, p2.Env[k], want)
		}
	}
	if st := p2.Env["PAYMENTSVC_SERVICE_TIME"]; !strings.Contains(st, "lognormal") {
		t.Errorf("service time %q is not the scenario's lognormal", st)
	}
	for _, r := range spec.Replicas {
		if got, want := r.Env["PAYMENTSVC_LEDGER_NOSYNC"] == "true", r.Service == "ledger"; got != want {
			t.Errorf("%s: ledger nosync %v, want %v", r.Name(), got, want)
		}
	}
	again, _ := SpecFromPlan(plan, 42)
	if again.Replicas[5].Env["PAYMENTSVC_SEED"] != spec.Replicas[5].Env["PAYMENTSVC_SEED"] {
		t.Errorf("seeds differ between two derivations from one seed")
	}
}

func TestSpecFromPlanRefusesOtherServices(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*scenarios.Plan)
		want string
	}{
		{"unknown role", func(p *scenarios.Plan) { p.Services[1].Name = "checkout" }, `service "checkout"`},
		{"payments without ledger", func(p *scenarios.Plan) { p.Services = p.Services[:3] }, "payments calls ledger"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := libraryPlan(t, "replica-crash")
			c.edit(plan)
			_, err := SpecFromPlan(plan, 1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// TestSpecFromPlanLookup: payments' replicas get the service time of the
// scenario's lookup operation for GET /v1/payments/{id}; other roles and
// scenarios without one get none.
func TestSpecFromPlanLookup(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		want     bool
	}{
		{"gateway-burst", true},
		{"balancer-brownout", false},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			spec, err := SpecFromPlan(libraryPlan(t, tc.scenario), 42)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range spec.Replicas {
				st, ok := r.Env["PAYMENTSVC_LOOKUP_SERVICE_TIME"]
				if want := tc.want && r.Service == "payments"; ok != want {
					t.Errorf("%s: lookup service time %q set %v, want %v", r.Name(), st, ok, want)
				}
				if ok && !strings.Contains(st, "lognormal") {
					t.Errorf("%s: lookup service time %q is not the operation's lognormal", r.Name(), st)
				}
			}
		})
	}
}
