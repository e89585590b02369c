package sweep

import (
	"context"
	"fmt"
	"testing"

	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
)

// BenchmarkSweepBrownout runs b.N points of the flagship scenario (60 s at
// 400 payments/s) through the sweep path, one run each.
func BenchmarkSweepBrownout(b *testing.B) {
	entry, err := scenarios.Shipped("balancer-brownout")
	if err != nil {
		b.Fatal(err)
	}
	plan, err := scenarios.LoadBytes("balancer-brownout.yaml", entry.Source)
	if err != nil {
		b.Fatal(err)
	}
	sp, err := scenarios.ParseSweepParam(fmt.Sprintf("policy.timeouts.request={from: 1000ms, to: 3000ms, steps: %d}", max(b.N, 2)))
	if err != nil {
		b.Fatal(err)
	}
	def, err := NewDefinition(plan, scenarios.SweepParams{sp}, DefineOptions{Variant: "least_request", MaxPoints: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := Run(context.Background(), plan, def, Options{Backend: sim.Backend{}})
	if err != nil || res.Partial {
		b.Fatal(err)
	}
}
