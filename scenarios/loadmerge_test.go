package scenarios

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func TestMergeLoad(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/variant-load.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, string(src))
	v := map[string]int{}
	for i, x := range p.Variants {
		v[x.Name] = i
	}
	load := func(variant string, i int) Workload { return p.ForVariant(v[variant]).Load[i] }
	tests := []struct {
		name      string
		got, want any
	}{
		{"keys are sent by default", p.Load[0].Target.IdempotencyKeys, true},
		{"a variant without load runs the scenario's", p.ForVariant(v["base"]), p},
		{"a key set in the override wins", load("no-keys", 0).Target.IdempotencyKeys, false},
		{"siblings are inherited", load("no-keys", 0).Target.KeySpace, 10},
		{"maps are inherited", load("no-keys", 0).Target.Headers, map[string]string{"X-API-Key": "k"}},
		{"the kind is inherited", load("no-keys", 0).Shape, &Shape{Type: ShapeConstant, Rate: 100}},
		{"workloads not named are the scenario's", load("no-keys", 1), p.Load[1]},
		{"a rate becomes a constant shape", load("later", 0).Shape, &Shape{Type: ShapeConstant, Rate: 200}},
		{"a later start shortens the window", load("later", 0).For, 50 * time.Second},
		{"an alias overrides alike", load("later", 2).Shape, &Shape{Type: ShapeConstant, Rate: 200}},
		{"default names are overridden by name", load("later", 2).Name, "load-3"},
		{"a shape replaces a rate", load("kinds", 0).Shape, &Shape{Type: ShapeRamp, From: 0, To: 100}},
		{"arrival is overridden", load("kinds", 0).Arrival, ArrivalConstant},
		{"a rate replaces users", load("kinds", 1).Users, (*Users)(nil)},
		{"an open loop made of users arrives as poisson", load("kinds", 1).Arrival, ArrivalPoisson},
		{"users merge key by key", *load("more-users", 1).Users, Users{Count: 8, ThinkTime: Constant(10 * time.Millisecond)}},
		{"the plan's order is kept", []string{load("kinds", 0).Name, load("kinds", 1).Name, load("kinds", 2).Name}, []string{"checkout", "lookups", "load-3"}},
		{"the scenario's load is untouched", p.Load[0].Shape.Rate, Rate(100)},
		{"the variant's plan keeps the variants", len(p.ForVariant(v["kinds"]).Variants), len(p.Variants)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestForVariantSharesNothing checks that a variant's plan is a copy:
// changing it leaves the plan and its overrides alone.
func TestForVariantSharesNothing(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/variant-load.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, string(src))
	q := p.ForVariant(1)
	q.Load[0].Target.Headers["X-API-Key"] = "changed"
	q.Load[0].Target.KeySpace = 99
	if p.Load[0].Target.Headers["X-API-Key"] != "k" || p.Variants[1].Load["checkout"].Target.KeySpace != 10 {
		t.Error("ForVariant's plan shares memory with the plan")
	}
}

func TestWithDurationScalesOverrides(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/variant-load.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, string(src)).WithDuration(6 * time.Second)
	w := p.Variants[2].Load["checkout"]
	if w.Start != time.Second || w.For != 5*time.Second {
		t.Errorf("override window %s+%s, want 1s+5s", w.Start, w.For)
	}
	if at := p.Variants[2].Load["load-3"].Start; at != time.Second {
		t.Errorf("aliased override starts at %s, want 1s", at)
	}
}
